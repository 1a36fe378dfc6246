"""Fixtures for the local AWS stand-in: an emulator, and a small API deployed into it.

Everything started here is stopped in a finally, also when a test fails.
"""

import io
import json
import threading
import zipfile
from dataclasses import dataclass

import pytest

from localaws import emulator
from localaws.gateway import LocalGateway, make_server

REGION = "us-east-1"

# One module, several handlers: each test route points at one of them.
FUNCTION_CODE = '''
import json, os, time

def echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({
            "event": event,
            "pid": os.getpid(),
            "remaining_ms": context.get_remaining_time_in_millis(),
            "env": {k: os.environ.get(k) for k in (
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL", "AWS_REGION", "TABLE_NAME")},
        }),
    }

def tables(event, context):
    import boto3  # reaches the emulator through AWS_ENDPOINT_URL and the fake credentials
    return {"statusCode": 200, "body": json.dumps(boto3.client("dynamodb").list_tables()["TableNames"])}

def crash(event, context):
    raise ValueError("boom")

def malformed(event, context):
    return {"statusCode": 200, "body": {"not": "a string"}}

def slow(event, context):
    time.sleep(float((event["queryStringParameters"] or {}).get("sleep", "5")))
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
'''


@pytest.fixture
def unused_port() -> int:
    return emulator.free_port()


@dataclass(frozen=True)
class TestApi:
    endpoint: str
    name: str
    api_key: str
    region: str = REGION


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def test_api(running_emulator) -> TestApi:
    """A REST API deployed with boto3 the way Terraform deploys the real one.

    Stage `dev` (generous throttling, API key bound) and stage `limited` (rate 1, burst 2,
    no usage plan). Routes: GET /reviews, POST /reviews (API key), GET
    /products/{product_id}/rating, GET /tables, /crash, /malformed, /slow (one function each).
    """
    endpoint = running_emulator.endpoint

    def aws(service):
        return emulator.client(service, endpoint, REGION)

    role = aws("iam").create_role(
        RoleName="local-test-fn",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    code = _zip({"fn.py": FUNCTION_CODE})
    functions = {}
    for handler, timeout in [("echo", 3), ("tables", 10), ("crash", 3), ("malformed", 3), ("slow", 1)]:
        functions[handler] = aws("lambda").create_function(
            FunctionName=f"local-test-{handler}",
            Runtime="python3.11",
            Role=role,
            Handler=f"fn.{handler}",
            Code={"ZipFile": code},
            Timeout=timeout,
            Environment={"Variables": {"TABLE_NAME": "reviews-test"}},
        )["FunctionArn"]

    apigateway = aws("apigateway")
    api_id = apigateway.create_rest_api(name="local-test-api")["id"]
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")

    def resource(parent, part):
        return apigateway.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

    def method(resource_id, verb, handler, api_key_required=False):
        apigateway.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb,
                              authorizationType="NONE", apiKeyRequired=api_key_required)
        apigateway.put_integration(
            restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{functions[handler]}/invocations",
        )

    reviews = resource(root, "reviews")
    method(reviews, "GET", "echo")
    method(reviews, "POST", "echo", api_key_required=True)
    method(resource(resource(resource(root, "products"), "{product_id}"), "rating"), "GET", "echo")
    for handler in ("tables", "crash", "malformed", "slow"):
        method(resource(root, handler), "GET", handler)

    deployment = apigateway.create_deployment(restApiId=api_id, stageName="dev")["id"]
    apigateway.create_stage(restApiId=api_id, stageName="limited", deploymentId=deployment)
    for stage, rate, burst in [("dev", 1000, 1000), ("limited", 1, 2)]:
        apigateway.update_stage(restApiId=api_id, stageName=stage, patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        ])
    key = apigateway.create_api_key(name="local-test-key", enabled=True)
    plan = apigateway.create_usage_plan(name="local-test-plan", apiStages=[{"apiId": api_id, "stage": "dev"}])
    apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    aws("dynamodb").create_table(
        TableName="reviews-test", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return TestApi(endpoint, "local-test-api", key["value"])


@pytest.fixture(scope="session")
def serve(test_api):
    """serve(stage) -> base URL of a gateway for that stage (one per stage, stopped at the end)."""
    running = {}

    def _serve(stage: str) -> str:
        if stage not in running:
            gateway = LocalGateway(test_api.endpoint, REGION, test_api.name, stage, refresh_seconds=0)
            server = make_server(gateway, 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            running[stage] = (gateway, server)
        return f"http://127.0.0.1:{running[stage][1].server_address[1]}/{stage}"

    try:
        yield _serve
    finally:
        for gateway, server in running.values():
            server.shutdown()
            server.server_close()
            gateway.close()
