"""PutRestApi in the emulator imports what API Gateway imports from an OpenAPI body: the
authorizers defined by security schemes, and each method's authorizer, scopes and API-key
requirement, read back through the calls a console user makes (get_authorizers, get_method).
"""

import json

import pytest

from localaws import emulator

REGION = "us-east-1"
POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example1"
OTHER_POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example2"
INTEGRATION = {
    "x-amazon-apigateway-integration": {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:123456789012:function:f/invocations",
    }
}


def cognito_scheme(*pool_arns: str) -> dict:
    return {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": list(pool_arns)},
    }


def body(schemes: dict, paths: dict) -> str:
    return json.dumps(
        {
            "openapi": "3.0.1",
            "info": {"title": "imported", "version": "1"},
            "components": {"securitySchemes": schemes},
            "paths": paths,
        }
    )


API_KEY = {"type": "apiKey", "name": "x-api-key", "in": "header"}
PATHS = {
    "/reviews": {
        "get": {**INTEGRATION},
        "post": {"security": [{"api_key": [], "shoppers": []}], **INTEGRATION},
    },
    "/reviews/{review_id}": {"delete": {"security": [{"shoppers": ["reviews/write"]}], **INTEGRATION}},
}


@pytest.fixture
def apigateway(running_emulator):
    return emulator.client("apigateway", running_emulator.endpoint, REGION)


@pytest.fixture
def imported(apigateway):
    """(rest API id, {path: {verb: get_method answer}}) of an API imported with overwrite."""
    api_id = apigateway.create_rest_api(name="import-test")["id"]
    apigateway.put_rest_api(
        restApiId=api_id, mode="overwrite", body=body({"api_key": API_KEY, "shoppers": cognito_scheme(POOL_ARN)}, PATHS)
    )
    return api_id


def methods(apigateway, api_id: str) -> dict[str, dict[str, dict]]:
    return {
        resource["path"]: {
            verb: apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
            for verb in resource.get("resourceMethods", {})
        }
        for resource in apigateway.get_resources(restApiId=api_id)["items"]
    }


def test_a_cognito_security_scheme_becomes_an_authorizer_named_after_it(apigateway, imported):
    (authorizer,) = apigateway.get_authorizers(restApiId=imported)["items"]
    assert authorizer["name"] == "shoppers"
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [POOL_ARN]
    assert authorizer["identitySource"] == "method.request.header.Authorization"


def test_each_method_gets_the_authorizer_its_security_names_and_public_ones_none(apigateway, imported):
    (authorizer,) = apigateway.get_authorizers(restApiId=imported)["items"]
    found = methods(apigateway, imported)

    post = found["/reviews"]["POST"]
    assert (post["authorizationType"], post["authorizerId"], post["apiKeyRequired"]) == (
        "COGNITO_USER_POOLS",
        authorizer["id"],
        True,
    )
    assert not post.get("authorizationScopes")
    delete = found["/reviews/{review_id}"]["DELETE"]
    assert delete["authorizationScopes"] == ["reviews/write"]
    assert delete["apiKeyRequired"] is False  # the Cognito scheme is type apiKey too, but no API key
    get = found["/reviews"]["GET"]
    assert get["authorizationType"] == "NONE"
    assert not get.get("authorizerId")
    assert get["apiKeyRequired"] is False


def test_overwriting_the_body_updates_the_authorizer_in_place_and_drops_removed_ones(apigateway, imported):
    (before,) = apigateway.get_authorizers(restApiId=imported)["items"]
    schemes = {"shoppers": cognito_scheme(POOL_ARN, OTHER_POOL_ARN), "staff": cognito_scheme(OTHER_POOL_ARN)}
    apigateway.put_rest_api(restApiId=imported, mode="overwrite", body=body(schemes, PATHS))
    after = {a["name"]: a for a in apigateway.get_authorizers(restApiId=imported)["items"]}
    assert after["shoppers"]["id"] == before["id"]  # methods and stages keep pointing at it
    assert after["shoppers"]["providerARNs"] == [POOL_ARN, OTHER_POOL_ARN]

    apigateway.put_rest_api(restApiId=imported, mode="overwrite", body=body({}, {"/reviews": {"get": INTEGRATION}}))
    assert apigateway.get_authorizers(restApiId=imported)["items"] == []
    assert methods(apigateway, imported)["/reviews"]["GET"]["authorizationType"] == "NONE"
