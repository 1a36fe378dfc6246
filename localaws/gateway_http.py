"""The local gateway's HTTP side: connections, limits and framing, answered as API Gateway would.

Concurrency: up to MAX_CONNECTIONS connections are served at once, each in a thread of its
own; their requests wait there for a warm worker (at most the function's timeout, then
504). The listen backlog is larger still, so a burst of connections waits in the kernel
instead of being reset. A connection beyond MAX_CONNECTIONS is answered 429 Too Many
Requests (THROTTLED, what API Gateway answers beyond its account limits) as soon as its
request head has arrived, and is closed.

Every answer the gateway makes itself is JSON with x-amzn-ErrorType and x-amzn-RequestId
(`gateway_responses`); a request whose framing cannot be trusted (`http_framing`) is
answered once and its connection closed, never read on as a second request.
"""

import http
import io
import json
import socket
import socketserver
import threading
import time
import traceback
import uuid
from email.utils import formatdate
from urllib.parse import parse_qsl

from localaws.gateway_responses import (
    INTERNAL_ERROR,
    NO_REQUEST_VALUES,
    THROTTLED,
    Refusal,
    RequestValues,
    bad_request,
)
from localaws.http_framing import ConnectionClosed, RequestHead, read_body, read_head
from localaws.loopback import is_loopback_host
from localaws.proxy_events import HttpRequest

MAX_CONNECTIONS = 128
LISTEN_BACKLOG = 1024
CLIENT_TIMEOUT_SECONDS = 20  # a client silent this long loses its connection (408 if mid-request)
# From a request's first byte until its body is read, however slowly it trickles in (one byte
# every 19 s would pass any per-read timeout): past this, 408 and the connection is closed.
REQUEST_DEADLINE_SECONDS = 30
OVER_LIMIT_TIMEOUT_SECONDS = 2  # how long a connection beyond the limit may take to send its head
# After refusing a request whose body was not read, how long to read and drop what the client
# still sends: closing with unread data resets the connection, and the client's kernel then
# discards the answer before the client has read it.
LINGER_SECONDS = 2
IDENTITY_PATH = "/_localaws/health"  # like the emulator's: who answers on this port
RELOAD_PATH = "/_localaws/reload"  # POST [?function=NAME]: re-read the deployment (or one function) now
OPENAPI_PATH = "/openapi.json"  # the API's OpenAPI document (docs/openapi.md)
BODYLESS_STATUSES = (204, 304)
HOP_BY_HOP_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})


class GatewayServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, gateway, port: int):
        self.gateway = gateway  # a localaws.gateway.LocalGateway
        self.connection_slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(("127.0.0.1", port), GatewayConnection)

    def finish_request(self, request, client_address) -> None:
        """Runs in the connection's own thread, for as long as the connection lasts."""
        admitted = self.connection_slots.acquire(blocking=False)
        try:
            GatewayConnection(request, client_address, self, over_limit=not admitted)
        finally:
            if admitted:
                self.connection_slots.release()


class DeadlineReader(io.RawIOBase):
    """The connection's bytes, each read bounded by what is left of the request's deadline
    (once its first byte came) or by the idle timeout (while waiting for that byte)."""

    def __init__(self, connection: socket.socket, idle_seconds: float):
        self.connection, self.idle_seconds = connection, idle_seconds
        self.deadline: float | None = None
        self.budget = 0.0

    def next_request(self, seconds: float) -> None:
        self.deadline, self.budget = None, seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is None:
            self.connection.settimeout(self.idle_seconds)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request's deadline passed")
            self.connection.settimeout(remaining)
        received = self.connection.recv_into(buffer)
        if self.deadline is None and received:
            self.deadline = time.monotonic() + self.budget
        return received


class GatewayConnection(socketserver.StreamRequestHandler):
    disable_nagle_algorithm = True
    server: GatewayServer

    def __init__(self, request, client_address, server: GatewayServer, over_limit: bool = False):
        self.over_limit = over_limit
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        idle = OVER_LIMIT_TIMEOUT_SECONDS if self.over_limit else CLIENT_TIMEOUT_SECONDS
        self.rfile.close()  # the plain reader StreamRequestHandler made: replaced by one with a deadline
        self.reader = DeadlineReader(self.connection, idle)
        self.rfile = io.BufferedReader(self.reader)

    def handle(self) -> None:
        try:
            while self.serve_one_request():
                pass
        except (ConnectionClosed, ConnectionError, TimeoutError):
            pass  # the client left, or stopped reading our answer: no one to answer

    def serve_one_request(self) -> bool:
        """Reads one request and answers it; True if the connection stays open for another."""
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        head = None
        self.reader.next_request(REQUEST_DEADLINE_SECONDS)
        try:
            head = read_head(self.rfile)
            if head is None:  # closed, or idle past the timeout, between requests
                return False
            if not is_loopback_host(next(iter(head.values("host")), "localhost")):  # browsers always send one
                raise Refusal(bad_request("Misdirected Request: the Host is not this machine", 421))
            if self.over_limit:
                raise Refusal(THROTTLED)
            body = read_body(self.rfile, head, self._send_continue)
        except Refusal as refusal:
            values = RequestValues(head.headers, {}, {}) if head else NO_REQUEST_VALUES
            self._send(head, self.server.gateway.refuse(refusal.error, values, request_id), False, started)
            self._linger()
            return False
        self._send(head, self._answer(head, body, request_id), head.keep_alive, started)
        return head.keep_alive

    def _answer(self, head: RequestHead, body: bytes, request_id: str):
        gateway = self.server.gateway
        path, _, query = head.target.partition("?")
        if path == IDENTITY_PATH and head.method == "GET":
            identity = json.dumps(gateway.identity()).encode()
            return 200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], identity
        if path == RELOAD_PATH and head.method == "POST":
            gateway.reload(dict(parse_qsl(query)).get("function"))
            return 204, [("x-amzn-RequestId", request_id)], b""
        if path == OPENAPI_PATH and head.method in ("GET", "HEAD"):
            document = gateway.openapi_document(self.connection.getsockname()[1])
            return 200, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], document
        stage, _, rest = path.lstrip("/").partition("/")
        request = HttpRequest(
            method=head.method,
            path="/" + rest,
            query=query,
            headers=head.headers,
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            return gateway.handle(request, stage, request_id)
        except Exception:  # noqa: BLE001 - a gateway bug must still answer, as API Gateway would
            traceback.print_exc()
            return gateway.refuse(INTERNAL_ERROR, RequestValues(head.headers, {}, {}), request_id)

    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send(self, head: RequestHead | None, answer, keep_alive: bool, started: float) -> None:
        status, headers, body = answer
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        if not any(name.lower() == "date" for name, _ in headers):
            lines.append(f"Date: {formatdate(usegmt=True)}")
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in HOP_BY_HOP_HEADERS]
        if status not in BODYLESS_STATUSES:
            lines.append(f"Content-Length: {len(body)}")
        if not keep_alive:
            lines.append("Connection: close")
        with_body = status not in BODYLESS_STATUSES and not (head and head.method == "HEAD")
        self.wfile.write("\r\n".join(lines).encode() + b"\r\n\r\n" + (body if with_body else b""))
        request_line = f"{head.method} {head.target}" if head else "-"
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f'{self.client_address[0]} "{request_line}" {status} {len(body)}B {elapsed_ms:.0f}ms', flush=True)

    def _linger(self) -> None:
        """Stop sending, then read and drop what the client still sends, for a bounded time."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (remaining := deadline - time.monotonic()) > 0:
                self.connection.settimeout(remaining)
                if not self.connection.recv(65536):
                    return
        except OSError:  # timed out, or the client reset: we are closing anyway
            pass


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
