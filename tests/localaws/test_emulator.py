"""The emulator process: start, reuse, managed policies, the moto fixes, stop."""

import json
import socket

import pytest
from botocore.exceptions import ClientError

from handlers.reviews import contract
from localaws import emulator
from stacks.openapi import api_gateway_definition, invoke_uri

REGION = "us-east-1"


@pytest.fixture
def own_emulator(tmp_path, unused_port):
    """An emulator only this test uses, so the test may stop it."""
    port = unused_port
    started = emulator.start(port, tmp_path)
    try:
        yield started, tmp_path
    finally:
        emulator.stop(port, tmp_path)


def test_start_reuses_a_running_emulator_and_stop_frees_the_port(own_emulator):
    started, state_dir = own_emulator
    assert not started.reused
    assert (state_dir / "emulator.json").exists()
    again = emulator.start(started.port, state_dir)
    assert again.reused and again.pid == started.pid

    assert emulator.stop(started.port, state_dir)
    assert emulator.status(started.port) is None
    assert not (state_dir / "emulator.json").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", started.port)) != 0
    assert not emulator.stop(started.port, state_dir)  # nothing left to stop


def test_aws_managed_policies_exist(running_emulator):
    iam = emulator.client("iam", running_emulator.endpoint, REGION)
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "AWSLambdaBasicExecutionRole"


def test_application_autoscaling_tags(running_emulator):
    endpoint = running_emulator.endpoint
    emulator.client("dynamodb", endpoint, REGION).create_table(
        TableName="scaled",
        BillingMode="PROVISIONED",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    autoscaling = emulator.client("application-autoscaling", endpoint, REGION)
    arn = autoscaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/scaled",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=1,
        MaxCapacity=5,
        Tags={"app": "reviews"},
    )["ScalableTargetARN"]
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"app": "reviews"}
    autoscaling.tag_resource(ResourceARN=arn, Tags={"team": "shop"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["app"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "shop"}


def test_ensure_state_bucket_reports_whether_it_created_it(running_emulator):
    assert emulator.ensure_state_bucket(running_emulator.endpoint, "local-test-state", REGION)
    assert not emulator.ensure_state_bucket(running_emulator.endpoint, "local-test-state", REGION)


def test_put_rest_api_imports_the_cognito_authorizer_and_api_key_of_every_write(running_emulator):
    endpoint = running_emulator.endpoint
    pool_arn = emulator.client("cognito-idp", endpoint, REGION).create_user_pool(PoolName="writers")["UserPool"]["Arn"]
    apigateway = emulator.client("apigateway", endpoint, REGION)
    api_id = apigateway.create_rest_api(name="authorized")["id"]
    uri = invoke_uri(REGION, "123456789012", "authorized-fn")
    body = json.dumps(api_gateway_definition("authorized", uri, ("*",), pool_arn)).encode()
    for _ in range(2):  # a second overwrite (every deploy) leaves one authorizer, not two
        apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=body)

    [authorizer] = apigateway.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS" and authorizer["providerARNs"] == [pool_arn]
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    resources = {r["path"]: r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"]}
    for route in contract.ROUTES:
        method = apigateway.get_method(restApiId=api_id, resourceId=resources[route.path], httpMethod=route.method)
        assert (method.get("authorizationType") == "COGNITO_USER_POOLS") == route.signed_in, route
        assert (method.get("authorizerId") == authorizer["id"]) == route.signed_in, route
        assert method.get("apiKeyRequired", False) == route.signed_in, route


def test_a_resent_transaction_token_answers_as_the_first_did_and_runs_once(running_emulator):
    dynamodb = emulator.client("dynamodb", running_emulator.endpoint, REGION)
    dynamodb.create_table(
        TableName="tokens",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )

    def add(amount: int) -> list[dict]:
        update = {
            "TableName": "tokens",
            "Key": {"pk": {"S": "counter"}},
            "UpdateExpression": "ADD n :amount",
            "ExpressionAttributeValues": {":amount": {"N": str(amount)}},
        }
        return [{"Update": update}]

    for _ in range(2):  # the same request with the same token: applied once
        dynamodb.transact_write_items(TransactItems=add(1), ClientRequestToken="token-1")
    with pytest.raises(ClientError) as mismatch:  # the same token with another request
        dynamodb.transact_write_items(TransactItems=add(2), ClientRequestToken="token-1")
    dynamodb.transact_write_items(TransactItems=add(1), ClientRequestToken="token-2")
    dynamodb.transact_write_items(TransactItems=add(1))  # no token: every request runs

    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert dynamodb.get_item(TableName="tokens", Key={"pk": {"S": "counter"}})["Item"]["n"] == {"N": "3"}
