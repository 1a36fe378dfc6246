"""The gateway's HTTP side, spoken to over raw sockets: framing, limits and concurrency.

Each exchange sends bytes and reads until the gateway closes the connection (or a short
timeout), then checks that exactly one well-formed answer came back per request.
"""

import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from handlers.reviews import contract
from localaws.gateway_http import MAX_CONNECTIONS

READ_TIMEOUT_SECONDS = 3  # every answer here is immediate; waiting this long means a hang


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def port(serve) -> int:
    return urllib.parse.urlsplit(serve("dev")).port


@pytest.fixture(scope="module")
def api_key(test_api) -> str:
    return test_api.api_key


def connect(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_SECONDS)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def read_until_closed(connection: socket.socket) -> tuple[bytes, bool]:
    """Everything received, and whether the gateway closed the connection (False: timed out)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        return received, False
    return received, True


def parse_responses(data: bytes) -> list[RawResponse]:
    """Every HTTP response in `data`, in order; fails on anything that is not one."""
    responses = []
    while data:
        head, separator, rest = data.partition(b"\r\n\r\n")
        assert separator, f"an incomplete response: {data[:300]!r}"
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), status_line
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        responses.append(RawResponse(int(status_line.split()[1]), headers, rest[:length]))
        data = rest[length:]
    return responses


def read_one_response(connection: socket.socket) -> RawResponse:
    """The next answer on a connection that may stay open."""
    response = http.client.HTTPResponse(connection)
    response.begin()
    return RawResponse(response.status, {name.lower(): value for name, value in response.getheaders()}, response.read())


def exchange(port: int, data: bytes) -> tuple[list[RawResponse], bool]:
    with connect(port) as connection:
        connection.sendall(data)
        received, closed = read_until_closed(connection)
    return parse_responses(received), closed


def assert_gateway_error(response: RawResponse, status: int, error_type: str) -> None:
    """An answer the gateway made itself, as API Gateway makes them: JSON, never HTML."""
    assert response.status == status, response
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"message"}
    assert response.headers["x-amzn-errortype"] == error_type
    assert response.headers["x-amzn-requestid"]


def get(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: localhost", *headers, "", ""]).encode()


SMUGGLED = get("/dev/nope")  # a second request hidden in the first one's body

FRAMING_ERRORS = {
    "not a request line": (b"HELLO\r\n\r\n", 400),
    "four words in the request line": (b"GET /dev/reviews HTTP/1.1 extra\r\n\r\n", 400),
    "unknown HTTP version": (b"GET /dev/reviews HTTP/7.0\r\nHost: x\r\n\r\n", 400),
    "target not a path": (b"GET dev/reviews HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "header without a colon": (get("/dev/reviews", "X-Broken"), 400),
    "space before the colon": (get("/dev/reviews", "X-Broken : 1"), 400),
    "folded header line": (get("/dev/reviews", "X-Folded: a", "  b"), 400),
    "negative Content-Length": (get("/dev/reviews", "Content-Length: -1"), 400),
    "non-numeric Content-Length": (get("/dev/reviews", "Content-Length: ten"), 400),
    "two different Content-Lengths": (get("/dev/reviews", "Content-Length: 1", "Content-Length: 2"), 400),
    "Content-Length over 10 MB": (get("/dev/reviews", "Content-Length: 10485761"), 413),
    "huge Content-Length": (get("/dev/reviews", "Content-Length: 99999999999999999999999"), 413),
    "both Content-Length and Transfer-Encoding": (
        get("/dev/reviews", "Content-Length: 5", "Transfer-Encoding: chunked") + b"0\r\n\r\n" + SMUGGLED,
        400,
    ),
    "a coding other than chunked": (get("/dev/reviews", "Transfer-Encoding: gzip, chunked") + b"0\r\n\r\n", 400),
    "chunked on HTTP/1.0": (b"POST /dev/reviews HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "chunk size not hex": (get("/dev/reviews", "Transfer-Encoding: chunked") + b"zz\r\nhello\r\n0\r\n\r\n", 400),
    "chunk without its CRLF": (get("/dev/reviews", "Transfer-Encoding: chunked") + b"2\r\nhello\r\n0\r\n\r\n", 400),
    "chunks over 10 MB": (get("/dev/reviews", "Transfer-Encoding: chunked") + b"a00001\r\n", 413),
    "request line over 8192 bytes": (get("/dev/" + "a" * 8200), 414),
    "one header too large": (get("/dev/reviews", "X-Big: " + "a" * 11000), 431),
    "headers over 10240 bytes together": (get("/dev/reviews", *[f"X-{i}: {'a' * 100}" for i in range(100)]), 431),
}


@pytest.mark.parametrize("request_bytes, status", FRAMING_ERRORS.values(), ids=FRAMING_ERRORS.keys())
def test_bad_framing_gets_one_json_answer_and_a_closed_connection(port, request_bytes, status):
    started = time.monotonic()
    responses, closed = exchange(port, request_bytes)
    assert len(responses) == 1 and closed
    error_type = "RequestTooLargeException" if status == 413 else "BadRequestException"
    assert_gateway_error(responses[0], status, error_type)
    assert time.monotonic() - started < 1  # answered at once, without waiting for a body


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "TRACE"])
def test_unknown_methods_are_missing_authentication_token(port, method):
    responses, _ = exchange(port, f"{method} /dev/reviews HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
    assert len(responses) == 1
    assert_gateway_error(responses[0], 403, "MissingAuthenticationTokenException")
    assert responses[0].json() == {"message": "Missing Authentication Token"}


def chunked_post(path: str, api_key: str, chunks: bytes, *headers: str) -> bytes:
    return (
        "\r\n".join(
            [
                f"POST {path} HTTP/1.1",
                "Host: localhost",
                f"{contract.API_KEY_HEADER}: {api_key}",
                "Transfer-Encoding: chunked",
                *headers,
                "",
                "",
            ]
        ).encode()
        + chunks
    )


def test_chunked_body_reaches_the_function(port, api_key):
    chunks = b"5;note=first\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: dropped\r\n\r\n"
    responses, _ = exchange(port, chunked_post("/dev/reviews", api_key, chunks, "Connection: close"))
    assert [response.status for response in responses] == [200]
    event = responses[0].json()["event"]
    assert event["body"] == "hello world"
    assert "X-Trailer" not in event["headers"]


def test_expect_100_continue_gets_an_interim_answer_before_the_body(port, api_key):
    with connect(port) as connection:
        connection.sendall(
            "\r\n".join(
                [
                    "POST /dev/reviews HTTP/1.1",
                    "Host: localhost",
                    f"{contract.API_KEY_HEADER}: {api_key}",
                    "Content-Length: 2",
                    "Expect: 100-continue",
                    "Connection: close",
                    "",
                    "",
                ]
            ).encode()
        )
        assert connection.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(b"{}")
        received, _ = read_until_closed(connection)
    [response] = parse_responses(received)
    assert response.status == 200 and response.json()["event"]["body"] == "{}"


def test_pipelined_requests_get_one_answer_each_in_order(port):
    pipelined = get("/dev/reviews?n=1") + get("/dev/nope") + get("/dev/reviews?n=3", "Connection: close")
    responses, _ = exchange(port, pipelined)
    assert [response.status for response in responses] == [200, 403, 200]
    assert [responses[i].json()["event"]["queryStringParameters"]["n"] for i in (0, 2)] == ["1", "3"]


def test_head_answers_have_no_body(port):
    [answer_to_get], _ = exchange(port, get("/dev/nope", "Connection: close"))
    with connect(port) as connection:
        connection.sendall(b"HEAD /dev/nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        received, _ = read_until_closed(connection)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ") and body == b""
    assert f"Content-Length: {len(answer_to_get.body)}".encode() in head


def test_identity_route_names_the_gateway_process(port):
    [response], _ = exchange(port, get("/_localaws/health", "Connection: close"))
    assert response.status == 200
    assert response.json() == {
        "service": "localaws-gateway",
        "pid": os.getpid(),
        "rest_api_name": "local-test-api",
        "stage": "dev",
    }


def test_64_simultaneous_connections_all_get_answers(port):
    """100 clients connect at the same instant, far more than there are warm workers: every
    connection is accepted and every request waits for a worker; none is reset."""
    clients = 100
    all_ready = threading.Barrier(clients)

    def client(_) -> list[int]:
        all_ready.wait()
        responses, _ = exchange(port, get("/dev/reviews", "Connection: close"))
        return [response.status for response in responses]

    with ThreadPoolExecutor(clients) as pool:
        assert list(pool.map(client, range(clients))) == [[200]] * clients


def test_connections_beyond_the_limit_get_429_not_a_reset(port):
    extra = 5
    connections = [connect(port) for _ in range(MAX_CONNECTIONS + extra)]
    try:
        # Keep-alive requests: every admitted connection holds its place until we close it.
        for connection in connections:
            connection.sendall(get("/dev/nope", "Origin: https://shop.example.com"))
        first_answers = [read_one_response(connection) for connection in connections]
    finally:
        for connection in connections:
            connection.close()
    assert Counter(response.status for response in first_answers) == {403: MAX_CONNECTIONS, 429: extra}
    for response in first_answers:
        if response.status == 429:
            assert_gateway_error(response, 429, "TooManyRequestsException")
            assert response.headers["connection"] == "close"


def test_a_request_for_another_host_is_refused(port):
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: the browser sends that name.
    connection = connect(port)
    connection.sendall(b"GET /dev/reviews HTTP/1.1\r\nHost: attacker.example:8080\r\n\r\n")
    received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 421 ")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        connection = connect(port)
        connection.sendall(f"GET /_localaws/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert read_until_closed(connection)[0].startswith(b"HTTP/1.1 200 "), host


def test_a_request_trickling_in_is_cut_off_at_its_deadline(port, monkeypatch):
    # One byte at a time, each well within the per-read timeout: the whole request still has
    # a deadline (shortened here from 30 s), after which the slot is freed with a 408.
    from localaws import gateway_http

    monkeypatch.setattr(gateway_http, "REQUEST_DEADLINE_SECONDS", 1.0)
    connection = connect(port)
    request = f"POST /dev/reviews HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100\r\n\r\n".encode()
    connection.sendall(request)
    started = time.monotonic()
    answer = b""
    connection.settimeout(0.3)
    while time.monotonic() - started < 4 and not answer:
        try:
            connection.sendall(b"x")
            answer = connection.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert time.monotonic() - started < 3
