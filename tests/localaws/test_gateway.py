"""The local gateway against an API deployed with boto3 (see conftest.test_api)."""

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from handlers.reviews import contract
from localaws import emulator
from localaws.gateway import LocalGateway
from tests.localaws.apis import (
    REGION,
    ProxyMethod,
    create_function_role,
    create_proxy_api,
    create_test_function,
    deploy_stage,
    gateway_command,
    serve_in_thread,
    stop_serving,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """(status, headers, parsed JSON body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            return reply.status, reply.headers, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def dev(serve):
    return serve("dev")


def test_get_event_shape(dev):
    status, headers, body = call(f"{dev}/reviews", headers={"X-Custom": "yes"})
    assert status == 200
    event = body["event"]
    assert event["resource"] == "/reviews" and event["path"] == "/reviews"
    assert event["httpMethod"] == "GET"
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["headers"]["X-Custom"] == "yes"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    context = event["requestContext"]
    assert context["stage"] == "dev" and context["resourcePath"] == "/reviews"
    assert context["path"] == "/dev/reviews" and context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["apiKey"] is None
    assert context["requestId"] == headers["x-amzn-RequestId"]
    # The response: headers and multiValueHeaders both reach the client.
    assert headers["X-Single"] == "one" and headers.get_all("X-Multi") == ["a", "b"]


def test_query_strings_and_path_parameters(dev):
    status, _, body = call(f"{dev}/products/sku%2D1/rating?tag=a&tag=b&limit=5")
    assert status == 200
    event = body["event"]
    assert event["resource"] == "/products/{product_id}/rating"
    assert event["pathParameters"] == {"product_id": "sku-1"}
    assert event["queryStringParameters"] == {"tag": "b", "limit": "5"}  # last value wins
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "limit": ["5"]}


def test_deployed_environment_and_context(dev, test_api):
    _, _, body = call(f"{dev}/reviews")
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "local-test-echo",
        "AWS_ENDPOINT_URL": test_api.endpoint,
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": "reviews-test",
    }
    assert 0 < body["remaining_ms"] <= 3000


def test_function_reaches_the_emulator(dev):
    status, _, tables = call(f"{dev}/tables")
    assert status == 200 and "reviews-test" in tables


def test_post_needs_a_valid_api_key(dev, test_api):
    payload = json.dumps({"rating": 5}).encode()
    assert call(f"{dev}/reviews", "POST", payload)[::2] == (403, {"message": "Forbidden"})
    wrong = {contract.API_KEY_HEADER: "not-the-key"}
    assert call(f"{dev}/reviews", "POST", payload, wrong)[::2] == (403, {"message": "Forbidden"})

    status, _, body = call(f"{dev}/reviews", "POST", payload, {contract.API_KEY_HEADER: test_api.api_key})
    assert status == 200
    assert body["event"]["body"] == '{"rating": 5}' and body["event"]["isBase64Encoded"] is False
    assert body["event"]["requestContext"]["identity"]["apiKey"] == test_api.api_key


def test_binary_body_is_base64(dev, test_api):
    headers = {contract.API_KEY_HEADER: test_api.api_key, "Content-Type": "application/octet-stream"}
    _, _, body = call(f"{dev}/reviews", "POST", b"\xff\x00\xfe", headers)
    assert body["event"]["isBase64Encoded"] is True and body["event"]["body"] == "/wD+"


@pytest.mark.parametrize("method, path", [("GET", "/nope"), ("DELETE", "/reviews"), ("GET", "/products/x")])
def test_unknown_route_or_method_is_missing_authentication_token(dev, method, path):
    assert call(f"{dev}{path}", method)[::2] == (403, {"message": "Missing Authentication Token"})


def test_function_errors_are_502(dev):
    assert call(f"{dev}/crash")[::2] == (502, {"message": "Internal server error"})
    assert call(f"{dev}/malformed")[::2] == (502, {"message": "Internal server error"})


def test_warm_worker_is_reused(dev):
    first = call(f"{dev}/reviews")[2]["pid"]
    second = call(f"{dev}/reviews")[2]["pid"]
    assert first == second


def test_timeout_is_504_and_replaces_the_worker(dev):
    warm_pid = call(f"{dev}/slow?sleep=0")[2]["pid"]
    assert call(f"{dev}/slow?sleep=5")[::2] == (504, {"message": "Endpoint request timed out"})
    assert not _alive(warm_pid)  # killed and reaped
    assert call(f"{dev}/slow?sleep=0")[2]["pid"] != warm_pid


def test_throttling_and_keys_follow_the_stage(serve, test_api):
    limited = serve("limited")  # rate 1/s, burst 2, no usage plan
    statuses = [call(f"{limited}/reviews")[0] for _ in range(8)]
    assert statuses[:2] == [200, 200]
    assert statuses.count(429) >= 5  # at most one more token refills meanwhile
    status, _, body = call(f"{limited}/reviews", "POST", b"{}", {contract.API_KEY_HEADER: test_api.api_key})
    assert (status, body) in [(403, {"message": "Forbidden"})]  # the key's plan is bound to dev only


def test_unknown_stage_is_refused(dev):
    assert call(dev.replace("/dev", "/prod") + "/reviews")[0] == 403


def test_the_openapi_document_is_served_outside_the_stage_pointing_at_it(dev):
    status, headers, document = call(dev.removesuffix("/dev") + "/openapi.json")

    assert status == 200 and headers["Content-Type"] == "application/json"
    assert document["servers"] == [{"url": dev, "description": "this local gateway"}]
    committed = json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text())
    assert {**document, "servers": None} == {**committed, "servers": None}


def test_cli_serves_and_stops_its_workers(test_api, unused_port):
    process = subprocess.Popen(
        gateway_command(test_api, unused_port), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout  # the pipe just asked for (typed optional)
    try:
        assert "serving local-test-api" in process.stdout.readline()
        status, _, body = call(f"http://127.0.0.1:{unused_port}/dev/reviews")
        assert status == 200
        assert "GET /dev/reviews" in process.stdout.readline()  # the access log line
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == 0
    deadline = time.monotonic() + 5
    while _alive(body["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(body["pid"])  # the warm worker went with the gateway


def test_a_gone_emulator_leaves_the_last_deployment_served_and_answers_json(tmp_path, unused_port, capsys):
    with contextlib.ExitStack() as cleanup:
        own = emulator.start(unused_port, tmp_path)
        cleanup.callback(emulator.stop, unused_port, tmp_path)
        role = create_function_role(own.endpoint, "gone-fn")
        echo, crash = (create_test_function(own.endpoint, role, "gone", handler) for handler in ("echo", "crash"))
        api_id = create_proxy_api(
            own.endpoint, "gone-api", [ProxyMethod("GET", "/reviews", echo), ProxyMethod("GET", "/crash", crash)]
        )
        deploy_stage(own.endpoint, api_id, "dev", rate=1000, burst=1000)
        gateway, server = serve_in_thread(LocalGateway(own.endpoint, REGION, "gone-api", "dev", refresh_seconds=0.01))
        cleanup.callback(stop_serving, gateway, server)
        url = f"http://127.0.0.1:{server.server_address[1]}/dev"

        emulator.stop(unused_port, tmp_path)
        time.sleep(0.05)  # past refresh_seconds: each request below tries to re-read the deployment
        assert call(f"{url}/reviews")[0] == 200
        assert call(f"{url}/nope")[::2] == (403, {"message": "Missing Authentication Token"})
        assert call(f"{url}/crash")[::2] == (502, {"message": "Internal server error"})
        assert "deployment refresh failed, serving the previous one" in capsys.readouterr().out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.mark.parametrize("reloaded", ["everything", "the-function"])
def test_a_request_that_read_the_deployment_before_a_reload_gets_the_new_code(running_emulator, monkeypatch, reloaded):
    # make watch updates a function and reloads the gateway; a request already on its way
    # (it read the deployment just before) must be served by the new code, not answered 502.
    from localaws.proxy_events import HttpRequest
    from tests.localaws.apis import FUNCTION_CODE, zip_files

    endpoint = running_emulator.endpoint
    prefix = f"reload-{reloaded}"
    function = create_test_function(endpoint, create_function_role(endpoint, f"{prefix}-fn"), prefix, "echo")
    api_id = create_proxy_api(endpoint, f"{prefix}-api", [ProxyMethod("GET", "/reviews", function)])
    deploy_stage(endpoint, api_id, "dev", rate=100, burst=100)
    gateway = LocalGateway(endpoint, REGION, f"{prefix}-api", "dev", refresh_seconds=0)
    try:
        before = gateway.current()
        new_code = zip_files({"fn.py": FUNCTION_CODE + "\n# edited\n"})
        emulator.client("lambda", endpoint, REGION).update_function_code(FunctionName=function, ZipFile=new_code)
        gateway.reload(f"{prefix}-echo" if reloaded == "the-function" else None)  # retires `before`'s pool
        assert gateway.serving.pools[function].function.code_sha256 != before.pools[function].function.code_sha256
        monkeypatch.setattr(gateway, "current", lambda: before)
        request = HttpRequest(method="GET", path="/reviews", query="", headers=[], body=b"", source_ip="127.0.0.1")
        status, _, _ = gateway.handle(request, "dev", "request-1")
        assert status == 200
    finally:
        gateway.close()
