"""The local gateway runs a Cognito user-pool authorizer as API Gateway does: a user of the
pool reaches the function with their claims where API Gateway puts them, and every token the
pool did not issue for this method is refused with a 401 shaped by the API's gateway responses.

An API of its own, imported from an OpenAPI body the way the stack's is (PutRestApi, overwrite):
GET /reviews is public; POST /reviews takes the pool's ID token and the API key; DELETE
/reviews/{review_id} has an OAuth scope, so it takes an access token. The tokens come from the
emulator's user pool; forged ones are made with tests/local/identity.py.
"""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from handlers.reviews import contract
from localaws.cognito_authorizer import delivered_claims
from localaws.gateway import LocalGateway
from tests.localaws.apis import (
    REGION,
    aws_client,
    create_api_key,
    create_function_role,
    create_test_function,
    deploy_stage,
    serve_in_thread,
    stop_serving,
)
from tests.localaws.identity import (
    LocalPool,
    another_key,
    claims_of,
    create_user,
    create_user_pool,
    hs256_with_public_key,
    sign,
    sign_in,
    unsigned,
)

API_NAME = "cognito-authorizer-api"
ORIGIN = "https://shop.example.com"
SCOPE = "aws.cognito.signin.user.admin"  # in every access token the pool issues
API_KEY_SCHEME = {"type": "apiKey", "name": "x-api-key", "in": "header"}
JAVA_DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}")


@dataclass
class Shop:
    url: str
    gateway: LocalGateway
    pool: LocalPool
    other_pool: LocalPool
    api_key: str
    tokens: dict[str, str]  # ada's IdToken, AccessToken
    other_tokens: dict[str, str]  # a user of the other pool


def openapi_body(function_arn: str, pool_arn: str) -> str:
    integration = {
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        }
    }
    shoppers = {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [pool_arn]},
    }
    return json.dumps(
        {
            "openapi": "3.0.1",
            "info": {"title": API_NAME, "version": "1"},
            "components": {
                "securitySchemes": {
                    "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                    "shoppers": shoppers,
                }
            },
            "x-amazon-apigateway-gateway-responses": {
                "DEFAULT_4XX": {
                    "responseParameters": {
                        "gatewayresponse.header.Access-Control-Allow-Origin": f"'{ORIGIN}'",
                        "gatewayresponse.header.Vary": "'Origin'",
                    }
                }
            },
            "paths": {
                "/reviews": {
                    "get": integration,
                    "post": {"security": [{"shoppers": [], "api_key": []}], **integration},
                },
                "/reviews/{review_id}": {"delete": {"security": [{"shoppers": [SCOPE]}], **integration}},
            },
        }
    )


@pytest.fixture(scope="module")
def shop(running_emulator) -> Iterator[Shop]:
    endpoint = running_emulator.endpoint
    pool, other_pool = create_user_pool(endpoint, "authorizer-shop"), create_user_pool(endpoint, "authorizer-other")
    attributes = {"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": "true"}
    password = create_user(pool, "ada", attributes, groups=("reviewers", "staff"))
    other_password = create_user(other_pool, "mallory", {"name": "Mallory"})
    echo = create_test_function(endpoint, create_function_role(endpoint, "authorizer-fn"), "authorizer", "echo")
    apigateway = aws_client(endpoint, "apigateway")
    api_id = apigateway.create_rest_api(name=API_NAME)["id"]
    apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=openapi_body(echo, pool.arn))
    deploy_stage(endpoint, api_id, "dev", rate=1000, burst=1000)
    api_key = create_api_key(endpoint, api_id, "dev", "authorizer-key")
    gateway, server = serve_in_thread(LocalGateway(endpoint, REGION, API_NAME, "dev", refresh_seconds=0))
    try:
        yield Shop(
            f"http://127.0.0.1:{server.server_address[1]}/dev",
            gateway,
            pool,
            other_pool,
            api_key,
            sign_in(pool, "ada", password),
            sign_in(other_pool, "mallory", other_password),
        )
    finally:
        stop_serving(gateway, server)


def call(shop: Shop, method: str, path: str, token: str | None = None, *, key: bool = True):
    """(status, headers, parsed body) of a request with the token (Authorization) and the key."""
    headers = {"Origin": ORIGIN, "Content-Type": "application/json"}
    if token is not None:
        headers[contract.AUTHORIZATION_HEADER] = token
    if key:
        headers[contract.API_KEY_HEADER] = shop.api_key
    request = urllib.request.Request(
        shop.url + path, method=method, headers=headers, data=b"{}" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            return reply.status, reply.headers, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def delivered_event(shop: Shop, method: str, path: str, token: str) -> dict:
    status, _, body = call(shop, method, path, token)
    assert status == 200, body
    return body["event"]


def test_a_signed_in_user_reaches_the_function_with_their_claims_as_api_gateway_delivers_them(shop):
    event = delivered_event(shop, "POST", "/reviews", shop.tokens["IdToken"])

    claims = event["requestContext"]["authorizer"]["claims"]
    issued = claims_of(shop.tokens["IdToken"])
    assert claims["sub"] == issued["sub"]
    assert claims["aud"] == shop.pool.client_id
    assert claims["iss"] == shop.pool.issuer
    assert claims["token_use"] == "id"
    assert claims["name"] == "Ada Lovelace"
    assert all(isinstance(value, str) for value in claims.values())
    assert JAVA_DATE.fullmatch(claims["exp"]) and JAVA_DATE.fullmatch(claims["iat"])
    assert claims["auth_time"] == str(issued["auth_time"])  # epoch seconds, not a date
    assert sorted(claims["cognito:groups"].split(",")) == ["reviewers", "staff"]
    assert claims["email_verified"] == "true"


def test_a_bearer_prefix_is_accepted(shop):
    event = delivered_event(shop, "POST", "/reviews", "Bearer " + shop.tokens["IdToken"])
    assert event["requestContext"]["authorizer"]["claims"]["sub"] == claims_of(shop.tokens["IdToken"])["sub"]


def test_a_scoped_method_takes_the_access_token_and_delivers_its_claims(shop):
    event = delivered_event(shop, "DELETE", "/reviews/r-1", shop.tokens["AccessToken"])
    claims = event["requestContext"]["authorizer"]["claims"]
    assert (claims["token_use"], claims["client_id"], claims["scope"]) == ("access", shop.pool.client_id, SCOPE)


def test_a_public_method_ignores_tokens_and_its_event_has_no_authorizer(shop):
    event = delivered_event(shop, "GET", "/reviews", "not a token")
    assert "authorizer" not in event["requestContext"]


def test_the_authorizer_runs_before_the_api_key_check(shop):
    status, headers, body = call(shop, "POST", "/reviews", None, key=False)
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN  # DEFAULT_4XX's headers: a browser can read it

    status, _, body = call(shop, "POST", "/reviews", shop.tokens["IdToken"], key=False)
    assert (status, body) == (403, {"message": "Forbidden"})


def id_claims(shop: Shop, **changes) -> dict:
    """A valid ID token's claims for ada, with `changes`."""
    return {**claims_of(shop.tokens["IdToken"]), **changes}


FORGERIES = {
    "no token": lambda shop: None,
    "an empty header": lambda shop: "",
    "not a JWT": lambda shop: "not-a-token",
    "three parts of garbage": lambda shop: "a.b.c",
    "alg none": lambda shop: unsigned(id_claims(shop)),
    "HS256 keyed with the public key": lambda shop: hs256_with_public_key(id_claims(shop)),
    "signed by another key": lambda shop: sign(id_claims(shop), another_key()),
    "a tampered payload": lambda shop: tamper(shop.tokens["IdToken"], id_claims(shop, sub="someone-else")),
    "an unknown kid": lambda shop: sign(id_claims(shop), header={"alg": "RS256", "kid": "rotated-away"}),
    "another pool's token": lambda shop: shop.other_tokens["IdToken"],
    "another pool's issuer, signed by the pool key": lambda shop: sign(id_claims(shop, iss=shop.other_pool.issuer)),
    "no issuer": lambda shop: sign({k: v for k, v in id_claims(shop).items() if k != "iss"}),
    "an audience that is no client of the pool": lambda shop: sign(id_claims(shop, aud="not-a-client")),
    "another pool's client": lambda shop: sign(id_claims(shop, aud=shop.other_pool.client_id)),
    "an access token where an ID token is expected": lambda shop: shop.tokens["AccessToken"],
    "no token_use": lambda shop: sign({k: v for k, v in id_claims(shop).items() if k != "token_use"}),
    "no expiry": lambda shop: sign({k: v for k, v in id_claims(shop).items() if k != "exp"}),
}


def tamper(token: str, claims: dict) -> str:
    """The token's header and signature around other claims."""
    header, _, signature = token.split(".")
    return f"{header}.{unsigned(claims).split('.')[1]}.{signature}"


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_a_token_the_pool_did_not_issue_for_this_method_is_401(shop, forgery):
    status, headers, body = call(shop, "POST", "/reviews", FORGERIES[forgery](shop))
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_id_token_where_an_access_token_is_expected_is_401(shop):
    status, _, body = call(shop, "DELETE", "/reviews/r-1", shop.tokens["IdToken"])
    assert (status, body) == (401, {"message": "Unauthorized"})


def test_an_access_token_without_the_methods_scope_is_401(shop):
    token = sign({**claims_of(shop.tokens["AccessToken"]), "scope": "openid"})
    status, _, body = call(shop, "DELETE", "/reviews/r-1", token)
    assert (status, body) == (401, {"message": "Unauthorized"})


def test_an_expired_token_is_401_saying_so(shop):
    now = int(time.time())
    status, headers, body = call(shop, "POST", "/reviews", sign(id_claims(shop, iat=now - 7200, exp=now - 3600)))
    assert (status, body) == (401, {"message": "The incoming token has expired"})
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"


def test_the_pools_keys_are_fetched_once_and_again_only_for_an_unknown_kid_at_most_every_interval(shop):
    keys = shop.gateway.user_pool_keys
    for _ in range(3):
        delivered_event(shop, "POST", "/reviews", shop.tokens["IdToken"])
    fetched = keys.fetches
    delivered_event(shop, "POST", "/reviews", shop.tokens["IdToken"])
    assert keys.fetches == fetched  # a known kid: from the cache

    keys.fetched_at.clear()  # as if the last fetch were long ago
    for kid in ("rotated-1", "rotated-2", "rotated-3"):
        status, _, _ = call(shop, "POST", "/reviews", sign(id_claims(shop), header={"alg": "RS256", "kid": kid}))
        assert status == 401
    assert keys.fetches == fetched + 1  # one fetch for the first unknown kid, none for the next ones


def test_claims_are_delivered_as_strings_with_java_dates():
    claims = {
        "exp": 1680633579,
        "iat": 1680629979.0,
        "auth_time": 1680629979,
        "email_verified": False,
        "cognito:groups": ["a", "b"],
        "address": {"formatted": "1 Main St"},
        "sub": "abc",
    }
    assert delivered_claims(claims) == {
        "exp": "Tue Apr 04 18:39:39 UTC 2023",
        "iat": "Tue Apr 04 17:39:39 UTC 2023",
        "auth_time": "1680629979",
        "email_verified": "false",
        "cognito:groups": "a,b",
        "address": '{"formatted":"1 Main St"}',
        "sub": "abc",
    }


def test_day_two_a_new_app_client_and_a_replaced_pool_are_enforced_after_the_next_refresh(running_emulator):
    endpoint = running_emulator.endpoint
    old_pool, new_pool = create_user_pool(endpoint, "day-two-old"), create_user_pool(endpoint, "day-two-new")
    old_user, new_user = create_user(old_pool, "ada", {}), create_user(new_pool, "ada", {})
    echo = create_test_function(endpoint, create_function_role(endpoint, "day-two-fn"), "day-two", "echo")
    apigateway = aws_client(endpoint, "apigateway")
    api_id = apigateway.create_rest_api(name="day-two-api")["id"]
    apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=openapi_body(echo, old_pool.arn))
    deploy_stage(endpoint, api_id, "dev", rate=1000, burst=1000)
    api_key = create_api_key(endpoint, api_id, "dev", "day-two-key")
    gateway, server = serve_in_thread(LocalGateway(endpoint, REGION, "day-two-api", "dev", refresh_seconds=0.2))
    day_two = Shop(f"http://127.0.0.1:{server.server_address[1]}/dev", gateway, old_pool, new_pool, api_key, {}, {})
    try:
        cognito = aws_client(endpoint, "cognito-idp")
        mobile = cognito.create_user_pool_client(
            UserPoolId=old_pool.id, ClientName="mobile", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        from_new_client = sign_in(replace(old_pool, client_id=mobile), "ada", old_user)["IdToken"]
        assert eventually(lambda: call(day_two, "POST", "/reviews", from_new_client)[0]) == 200

        apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=openapi_body(echo, new_pool.arn))
        old_token, new_token = (
            sign_in(old_pool, "ada", old_user)["IdToken"],
            sign_in(new_pool, "ada", new_user)["IdToken"],
        )
        assert eventually(lambda: call(day_two, "POST", "/reviews", new_token)[0]) == 200
        assert call(day_two, "POST", "/reviews", old_token)[0] == 401
    finally:
        stop_serving(gateway, server)


def eventually(status_of, expected: int = 200, seconds: float = 5.0) -> int:
    """The status `status_of()` gives once it is `expected`, or its last one after `seconds`
    (the gateway re-reads the deployment every 0.2 s here)."""
    deadline = time.monotonic() + seconds
    while (status := status_of()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return status
