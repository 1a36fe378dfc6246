"""APIs deployed into the emulator with boto3 the way Terraform deploys the real one, and a
local gateway serving them in a thread: the building blocks of the tests in tests/local/.

Imported as `tests.localaws.apis` (conftest.py holds only fixtures: pytest loads it itself).
"""

import io
import json
import sys
import threading
import zipfile
from dataclasses import dataclass

from localaws import emulator
from localaws.gateway import LocalGateway, make_server

REGION = "us-east-1"

# One module, several handlers: each test route points at one of them.
FUNCTION_CODE = """
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

def versions(event, context):
    import sys, boto3
    found = {"python": "%d.%d" % sys.version_info[:2], "boto3": boto3.__version__}
    return {"statusCode": 200, "body": json.dumps(found)}

def slow(event, context):
    time.sleep(float((event["queryStringParameters"] or {}).get("sleep", "5")))
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
"""


@dataclass(frozen=True)
class TestApi:
    endpoint: str
    name: str
    api_key: str
    region: str = REGION


@dataclass(frozen=True)
class ProxyMethod:
    """One method of a REST API, integrated (AWS_PROXY) with a Lambda function."""

    http_method: str
    path: str  # resource template, e.g. /products/{product_id}/rating
    function_arn: str
    api_key_required: bool = False


def zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def aws_client(endpoint: str, service: str):
    return emulator.client(service, endpoint, REGION)


def create_function_role(endpoint: str, name: str) -> str:
    return aws_client(endpoint, "iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]


def create_test_function(
    endpoint: str, role: str, prefix: str, handler: str, timeout: int = 3, runtime: str = "python3.11"
) -> str:
    """A function <prefix>-<handler> running one handler of FUNCTION_CODE; returns its ARN."""
    return aws_client(endpoint, "lambda").create_function(
        FunctionName=f"{prefix}-{handler}",
        Runtime=runtime,
        Role=role,
        Handler=f"fn.{handler}",
        Code={"ZipFile": zip_files({"fn.py": FUNCTION_CODE})},
        Timeout=timeout,
        Environment={"Variables": {"TABLE_NAME": "reviews-test"}},
    )["FunctionArn"]


def create_proxy_api(endpoint: str, name: str, methods: list[ProxyMethod]) -> str:
    """A REST API with a resource for every path in `methods` (parents first); returns its id."""
    apigateway = aws_client(endpoint, "apigateway")
    api_id = apigateway.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resources = {"": root}  # path -> resource id
    for method in methods:
        parts = method.path.strip("/").split("/")
        for depth, part in enumerate(parts, start=1):
            path = "/" + "/".join(parts[:depth])
            if path not in resources:
                parent = path.rpartition("/")[0]
                resources[path] = apigateway.create_resource(
                    restApiId=api_id, parentId=resources[parent], pathPart=part
                )["id"]
        apigateway.put_method(
            restApiId=api_id,
            resourceId=resources[method.path],
            httpMethod=method.http_method,
            authorizationType="NONE",
            apiKeyRequired=method.api_key_required,
        )
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resources[method.path],
            httpMethod=method.http_method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{method.function_arn}/invocations",
        )
    return api_id


def deploy_stage(endpoint: str, api_id: str, stage: str, rate: float, burst: int) -> None:
    apigateway = aws_client(endpoint, "apigateway")
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        ],
    )


def create_api_key(endpoint: str, api_id: str, stage: str, name: str) -> str:
    """An enabled API key in a usage plan bound to the stage; returns its value."""
    apigateway = aws_client(endpoint, "apigateway")
    key = apigateway.create_api_key(name=name, enabled=True)
    plan = apigateway.create_usage_plan(name=f"{name}-plan", apiStages=[{"apiId": api_id, "stage": stage}])
    apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def gateway_command(api: TestApi, port: int) -> list[str]:
    """`python -m localaws gateway` serving `api`'s `dev` stage on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "localaws",
        "gateway",
        "--endpoint",
        api.endpoint,
        "--region",
        api.region,
        "--rest-api-name",
        api.name,
        "--stage",
        "dev",
        "--port",
        str(port),
    ]


def serve_in_thread(gateway: LocalGateway):
    """(gateway, server) serving on a free port from a daemon thread; stop with stop_serving."""
    server = make_server(gateway, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return gateway, server


def stop_serving(gateway: LocalGateway, server) -> None:
    server.shutdown()
    server.server_close()
    gateway.close()
