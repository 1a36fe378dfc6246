"""The API's gateway responses shape the answers the gateway makes itself (403, 429, 502, ...).

An API of its own: DEFAULT_4XX echoes the caller's Origin (method.request.header.Origin),
DEFAULT_5XX allows any origin, and MISSING_AUTHENTICATION_TOKEN is customized on its own
(status 404, a template), which replaces DEFAULT_4XX for that type.
"""

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from localaws.gateway import LocalGateway
from tests.localaws.apis import (
    REGION,
    ProxyMethod,
    aws_client,
    create_function_role,
    create_proxy_api,
    create_test_function,
    deploy_stage,
    serve_in_thread,
    stop_serving,
)

API_NAME = "gateway-responses-api"
ORIGIN = "https://shop.example.com"
ALLOWED_HEADERS = "Content-Type,X-Api-Key,Idempotency-Key"


def put_gateway_responses(endpoint: str, api_id: str) -> None:
    apigateway = aws_client(endpoint, "apigateway")
    apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        responseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
            "gatewayresponse.header.Access-Control-Allow-Headers": f"'{ALLOWED_HEADERS}'",
            "gatewayresponse.header.Vary": "'Origin'",
        },
    )
    apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_5XX",
        responseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
        },
    )
    apigateway.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseTemplates={
            "application/json": (
                '{"error": "not_found", "message": $context.error.messageString, '
                '"type": "$context.error.responseType", "request": "${context.requestId}"}'
            )
        },
    )


@pytest.fixture(scope="module")
def base_url(running_emulator) -> Iterator[str]:
    """The API served by a gateway of its own: /reviews (GET, POST with key), /crash.
    Stage throttling allows one request per method and then (almost) no more."""
    endpoint = running_emulator.endpoint
    role = create_function_role(endpoint, "gateway-responses-fn")
    echo, crash = (create_test_function(endpoint, role, "gateway-responses", handler) for handler in ("echo", "crash"))
    api_id = create_proxy_api(
        endpoint,
        API_NAME,
        [
            ProxyMethod("GET", "/reviews", echo),
            ProxyMethod("POST", "/reviews", echo, api_key_required=True),
            ProxyMethod("GET", "/crash", crash),
        ],
    )
    deploy_stage(endpoint, api_id, "dev", rate=0.001, burst=1)
    put_gateway_responses(endpoint, api_id)
    gateway, server = serve_in_thread(LocalGateway(endpoint, REGION, API_NAME, "dev", refresh_seconds=0))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dev"
    finally:
        stop_serving(gateway, server)


def call(url: str, method: str = "GET", headers: dict | None = None):
    """(status, headers, parsed JSON body) without raising on 4xx/5xx."""
    body = b"{}" if method == "POST" else None
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            return reply.status, reply.headers, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_403_for_a_missing_key_carries_default_4xx_cors_headers(base_url):
    status, headers, body = call(f"{base_url}/reviews", "POST", {"Origin": ORIGIN})
    assert (status, body) == (403, {"message": "Forbidden"})
    assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS
    assert headers["Vary"] == "Origin"


def test_a_header_mapped_from_a_missing_request_header_is_left_out(base_url):
    status, headers, _ = call(f"{base_url}/reviews", "POST")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    assert headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS


def test_429_carries_default_4xx_cors_headers(base_url):
    assert call(f"{base_url}/reviews", headers={"Origin": ORIGIN})[0] == 200  # the one token
    status, headers, body = call(f"{base_url}/reviews", headers={"Origin": ORIGIN})
    assert (status, body) == (429, {"message": "Too Many Requests"})
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_502_carries_default_5xx_headers(base_url):
    status, headers, body = call(f"{base_url}/crash", headers={"Origin": ORIGIN})
    assert (status, body) == (502, {"message": "Internal server error"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in headers


def test_a_customized_type_replaces_default_4xx(base_url):
    status, headers, body = call(f"{base_url}/nope", headers={"Origin": ORIGIN})
    assert status == 404
    assert body == {
        "error": "not_found",
        "message": "Missing Authentication Token",
        "type": "MISSING_AUTHENTICATION_TOKEN",
        "request": headers["x-amzn-RequestId"],
    }
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert "Access-Control-Allow-Origin" not in headers


def test_framing_errors_get_default_4xx_headers_too(base_url):
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(
            f"POST /dev/reviews HTTP/1.1\r\nOrigin: {ORIGIN}\r\nContent-Length: 3\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode()
        )
        answer = connection.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert f"Access-Control-Allow-Origin: {ORIGIN}\r\n".encode() in answer
