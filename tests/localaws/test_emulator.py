"""The emulator process: start, reuse, managed policies, the moto fixes, stop."""

import json
import os
import signal
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localaws import emulator
from tests.localaws.apis import create_function_role, create_test_function

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


def test_everything_saved_survives_a_kill_9(own_emulator):
    started, state_dir = own_emulator
    dynamodb = emulator.client("dynamodb", started.endpoint, REGION)
    dynamodb.create_table(
        TableName="kept",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    for n in range(5):
        dynamodb.put_item(TableName="kept", Item={"pk": {"S": f"item-{n}"}})  # acknowledged: on disk
    emulator.ensure_state_bucket(started.endpoint, "kept-state", REGION)
    # A function keeps references to other services' backends (logs): restored as the live ones.
    role = create_function_role(started.endpoint, "kept-role")
    function = create_test_function(started.endpoint, role, "kept", "echo")
    os.kill(started.pid, signal.SIGKILL)
    emulator.wait_until(lambda: not emulator.pid_alive(started.pid))

    again = emulator.start(started.port, state_dir)

    assert not again.reused and again.pid != started.pid
    items = emulator.client("dynamodb", again.endpoint, REGION).scan(TableName="kept")["Items"]
    assert sorted(item["pk"]["S"] for item in items) == [f"item-{n}" for n in range(5)]
    assert emulator.state_bucket_exists(again.endpoint, "kept-state", REGION)
    lambda_client = emulator.client("lambda", again.endpoint, REGION)
    assert lambda_client.get_function_configuration(FunctionName=function)["Role"] == role


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
