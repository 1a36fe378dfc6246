"""The emulator process: start, reuse, managed policies, the moto fixes, stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.reviews import contract
from localaws import emulator
from stacks.openapi import api_gateway_definition, invoke_uri
from tests.localaws.apis import create_function_role, create_test_function

REGION = "us-east-1"


def _client(endpoint: str, service: str):
    return emulator.client(service, endpoint, REGION)


def _table(endpoint: str) -> list[str]:
    dynamodb = _client(endpoint, "dynamodb")
    dynamodb.create_table(
        TableName="kept",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    for n in range(3):
        dynamodb.put_item(TableName="kept", Item={"pk": {"S": f"item-{n}"}})
    return _items(endpoint)


def _items(endpoint: str) -> list[str]:
    return sorted(item["pk"]["S"] for item in _client(endpoint, "dynamodb").scan(TableName="kept")["Items"])


def _function(endpoint: str) -> str:
    # A function keeps references to other services' backends (logs): restored as the live ones.
    create_test_function(endpoint, create_function_role(endpoint, "kept-role"), "kept", "echo")
    return _function_role(endpoint)


def _function_role(endpoint: str) -> str:
    return _client(endpoint, "lambda").get_function_configuration(FunctionName="kept-echo")["Role"]


def _user_pool(endpoint: str) -> list[str]:
    cognito = _client(endpoint, "cognito-idp")
    pool = cognito.create_user_pool(PoolName="kept")["UserPool"]["Id"]
    cognito.admin_create_user(UserPoolId=pool, Username="kept-user")
    return _users(endpoint)


def _users(endpoint: str) -> list[str]:
    cognito = _client(endpoint, "cognito-idp")
    pools = cognito.list_user_pools(MaxResults=10)["UserPools"]
    return [user["Username"] for pool in pools for user in cognito.list_users(UserPoolId=pool["Id"])["Users"]]


def _key(endpoint: str) -> str:
    kms = _client(endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/kept", TargetKeyId=key)
    return _key_of_alias(endpoint)


def _key_of_alias(endpoint: str) -> str:
    # Encrypting with it needs the restored key material (KMS keys hold private keys).
    kms = _client(endpoint, "kms")
    blob = kms.encrypt(KeyId="alias/kept", Plaintext=b"kept")["CiphertextBlob"]
    return kms.decrypt(CiphertextBlob=blob)["KeyId"]


def _scalable_target(endpoint: str) -> dict:
    _client(endpoint, "application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/kept",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=1,
        MaxCapacity=5,
        Tags={"app": "reviews"},  # kept by moto_fixes beside the backend
    )
    return _scalable_target_tags(endpoint)


def _scalable_target_tags(endpoint: str) -> dict:
    autoscaling = _client(endpoint, "application-autoscaling")
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    return autoscaling.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"]


def _roles(endpoint: str) -> list[str]:
    return [role["RoleName"] for role in _client(endpoint, "iam").list_roles()["Roles"]]


def _logs(endpoint: str) -> dict:
    return _client(endpoint, "logs").describe_log_groups()


def _alarms(endpoint: str) -> dict:
    return _client(endpoint, "cloudwatch").describe_alarms()


# Each service this stack uses: make something (returning how it reads back), and read it back.
SAVED_SERVICES = {
    "dynamodb": _table,
    "application-autoscaling": _scalable_target,
    "lambda": _function,
    "iam": _roles,
    "cognito-idp": _user_pool,
    "kms": _key,
    "s3": lambda endpoint: emulator.ensure_state_bucket(endpoint, "kept-state", REGION) and ["kept-state"],
    "ssm": lambda endpoint: _client(endpoint, "ssm").put_parameter(Name="/kept", Value="v", Type="String") and "v",
    "logs": lambda endpoint: _client(endpoint, "logs").create_log_group(logGroupName="kept") and ["kept"],
    "sns": lambda endpoint: [_client(endpoint, "sns").create_topic(Name="kept")["TopicArn"]],
    "apigateway": lambda endpoint: [_client(endpoint, "apigateway").create_rest_api(name="kept")["name"]],
    "cloudwatch": lambda endpoint: (
        _client(endpoint, "cloudwatch").put_metric_alarm(
            AlarmName="kept",
            MetricName="m",
            Namespace="n",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        and ["kept"]
    ),
}
SAVED_SERVICES_READ = {
    "dynamodb": _items,
    "application-autoscaling": _scalable_target_tags,
    "lambda": _function_role,
    "iam": _roles,
    "cognito-idp": _users,
    "kms": _key_of_alias,
    "s3": lambda endpoint: [bucket["Name"] for bucket in _client(endpoint, "s3").list_buckets()["Buckets"]],
    "ssm": lambda endpoint: _client(endpoint, "ssm").get_parameter(Name="/kept")["Parameter"]["Value"],
    "logs": lambda endpoint: [
        group["logGroupName"] for group in _client(endpoint, "logs").describe_log_groups()["logGroups"]
    ],
    "sns": lambda endpoint: [topic["TopicArn"] for topic in _client(endpoint, "sns").list_topics()["Topics"]],
    "apigateway": lambda endpoint: [api["name"] for api in _client(endpoint, "apigateway").get_rest_apis()["items"]],
    "cloudwatch": lambda endpoint: [
        alarm["AlarmName"] for alarm in _client(endpoint, "cloudwatch").describe_alarms()["MetricAlarms"]
    ],
}


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


def test_ec2_lists_every_region_botocore_knows(running_emulator):
    """moto.ec2 builds its region tables from region lookups that moto_fixes lets share one
    session while it imports: the tables still list every region of every partition."""
    ec2 = _client(running_emulator.endpoint, "ec2")
    listed = {region["RegionName"] for region in ec2.describe_regions(AllRegions=True)["Regions"]}
    session = boto3.Session()
    known = {
        region
        for partition in ("aws", "aws-us-gov", "aws-cn")
        for region in session.get_available_regions("ec2", partition_name=partition)
    }
    assert "us-gov-west-1" in known and "cn-north-1" in known
    assert listed == known


def test_applying_the_fixes_leaves_boto3_region_lookups_as_they_were():
    check = (
        "import boto3; lookup = boto3.session.Session.get_available_regions; "
        "from localaws import moto_fixes; moto_fixes.apply(); "
        "assert boto3.session.Session.get_available_regions is lookup, 'the shared-session lookup stayed'"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ensure_state_bucket_reports_whether_it_created_it(running_emulator):
    assert emulator.ensure_state_bucket(running_emulator.endpoint, "local-test-state", REGION)
    assert not emulator.ensure_state_bucket(running_emulator.endpoint, "local-test-state", REGION)


def test_every_service_the_stack_uses_survives_a_kill_9(own_emulator):
    started, state_dir = own_emulator
    made = {service: make(started.endpoint) for service, make in SAVED_SERVICES.items()}
    os.kill(started.pid, signal.SIGKILL)  # everything above was acknowledged, so it is on disk
    emulator.wait_until(lambda: not emulator.pid_alive(started.pid))

    again = emulator.start(started.port, state_dir)

    assert not again.reused and again.pid != started.pid
    found = {service: SAVED_SERVICES_READ[service](again.endpoint) for service in SAVED_SERVICES}
    assert found == made


def test_an_unreadable_saved_state_stops_the_start_naming_the_file(tmp_path, unused_port):
    saved = emulator.data_dir(unused_port, tmp_path)
    saved.mkdir(parents=True)
    (saved / "dynamodb.pickle").write_bytes(b"not a snapshot")
    with pytest.raises(RuntimeError, match=r"saved state is unreadable: .*dynamodb\.pickle cannot be read"):
        emulator.start(unused_port, tmp_path)
    assert emulator.status(unused_port) is None


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def test_requests_naming_another_host_are_refused(running_emulator):
    # DNS rebinding: the browser sends the attacker's host name with a request to 127.0.0.1.
    foreign = raw_request(running_emulator.port, b"GET /_localaws/health HTTP/1.1\r\nHost: attacker.example\r\n\r\n")
    assert foreign.startswith(b"HTTP/1.1 403 ")
    own = f"GET /_localaws/health HTTP/1.1\r\nHost: localhost:{running_emulator.port}\r\n\r\n".encode()
    assert raw_request(running_emulator.port, own).startswith(b"HTTP/1.1 200 ")


def test_a_cross_origin_browser_request_is_refused_before_it_acts(running_emulator):
    # A page may POST a form without a preflight: it must not create anything.
    form = b"Action=CreateUser&UserName=from-a-web-page&Version=2010-05-08"
    request = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{running_emulator.port}\r\nOrigin: http://attacker.example\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, "
        f"Signature=0\r\nContent-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    answer = raw_request(running_emulator.port, request)
    assert answer.startswith(b"HTTP/1.1 403 ") and b"access-control-allow-origin" not in answer.lower()
    users = emulator.client("iam", running_emulator.endpoint, REGION).list_users()["Users"]
    assert "from-a-web-page" not in [user["UserName"] for user in users]


def test_only_the_storefront_may_call_cognito_from_a_browser(tmp_path, unused_port):
    origin = "http://localhost:18081"
    emulator.start(unused_port, tmp_path, browser_origin=origin)
    try:

        def preflight(from_origin: str) -> bytes:
            request = (
                f"OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:{unused_port}\r\nOrigin: {from_origin}\r\n"
                "Access-Control-Request-Method: POST\r\n"
                "Access-Control-Request-Headers: content-type,x-amz-target\r\n\r\n"
            )
            return raw_request(unused_port, request.encode())

        allowed = preflight(origin)
        assert allowed.startswith(b"HTTP/1.1 204 ")
        assert f"access-control-allow-origin: {origin}".encode() in allowed.lower()
        assert preflight("http://attacker.example").startswith(b"HTTP/1.1 403 ")
    finally:
        emulator.stop(unused_port, tmp_path)


class Impostor(ThreadingHTTPServer):
    """Answers the emulator's health route naming another process's pid."""

    def __init__(self, named_pid: int):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"pid": named_pid, "fixes": []}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_stop_never_signals_a_pid_a_health_answer_names(tmp_path):
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    impostor = Impostor(bystander.pid)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    try:
        with pytest.raises(RuntimeError, match="is not this project's emulator: nothing was stopped"):
            emulator.stop(impostor.server_address[1], tmp_path)
        assert bystander.poll() is None
    finally:
        impostor.shutdown()
        impostor.server_close()
        bystander.kill()
        bystander.wait()


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


def _kill_and_restart(started: emulator.Emulator, state_dir) -> emulator.Emulator:
    os.kill(started.pid, signal.SIGKILL)
    emulator.wait_until(lambda: not emulator.pid_alive(started.pid))
    return emulator.start(started.port, state_dir)


def create_counter_table(dynamodb, name: str) -> None:
    """An on-demand table keyed by `pk` alone, for a counter item."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )


def test_logged_item_writes_are_replayed_exactly_once_across_restarts(own_emulator):
    # An item write goes to a write-ahead log, not a whole new saved state: a counter shows
    # whether a logged write is lost, or applied twice, after one restart and the next.
    started, state_dir = own_emulator
    dynamodb = emulator.client("dynamodb", started.endpoint, REGION)
    create_counter_table(dynamodb, "counted")

    def add_one(endpoint: str) -> None:
        emulator.client("dynamodb", endpoint, REGION).update_item(
            TableName="counted",
            Key={"pk": {"S": "counter"}},
            UpdateExpression="ADD hits :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def hits(endpoint: str) -> str:
        item = emulator.client("dynamodb", endpoint, REGION).get_item(TableName="counted", Key={"pk": {"S": "counter"}})
        return item["Item"]["hits"]["N"]

    for _ in range(3):
        add_one(started.endpoint)
    assert list(emulator.data_dir(started.port, state_dir).glob("dynamodb.log.*"))  # logged, not saved whole

    again = _kill_and_restart(started, state_dir)
    assert hits(again.endpoint) == "3"
    add_one(again.endpoint)
    third = _kill_and_restart(again, state_dir)
    assert hits(third.endpoint) == "4"


def test_a_user_signs_in_with_their_password_after_a_restart_and_no_file_holds_it(own_emulator):
    started, state_dir = own_emulator
    cognito = emulator.client("cognito-idp", started.endpoint, REGION)
    pool = cognito.create_user_pool(PoolName="restarted")["UserPool"]["Id"]
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool, ClientName="web", ExplicitAuthFlows=flows)[
        "UserPoolClient"
    ]["ClientId"]
    password = "Kept-Hashed-" + str(started.port)
    cognito.admin_create_user(UserPoolId=pool, Username="ada", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="ada", Password=password, Permanent=True)

    again = emulator.client("cognito-idp", _kill_and_restart(started, state_dir).endpoint, REGION)

    def sign_in(attempt: str) -> dict:
        parameters = {"USERNAME": "ada", "PASSWORD": attempt}
        return again.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=parameters)

    assert "IdToken" in sign_in(password)["AuthenticationResult"]
    with pytest.raises(ClientError, match="NotAuthorizedException"):
        sign_in(password + "-wrong")
    saved = [path for path in state_dir.rglob("*") if path.is_file()]
    assert saved and not any(password.encode() in path.read_bytes() for path in saved)


def test_a_resent_transaction_token_answers_as_the_first_did_and_runs_once(running_emulator):
    dynamodb = emulator.client("dynamodb", running_emulator.endpoint, REGION)
    create_counter_table(dynamodb, "tokens")

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
