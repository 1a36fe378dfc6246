"""A proxy on 127.0.0.1 that loses answers: it passes a chosen request on to the server, lets
the server answer, then drops the client's connection instead of passing the answer back. To
the SDK that is a network failure after the server applied the request.

HTTP/1.1 only as far as the SDK and moto speak it: Content-Length framing, one request at a
time per connection. Bounded: every socket has a timeout, and the proxy stops serving after
`lifetime_seconds` or when its `with` block ends, whichever comes first.
"""

import re
import socket
import threading
import time
from collections.abc import Callable

HEAD_END = b"\r\n\r\n"
SOCKET_TIMEOUT_SECONDS = 10


def read_message(connection: socket.socket) -> bytes | None:
    """One HTTP message (head and Content-Length body), or None if the peer closed first."""
    data = b""
    while HEAD_END not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(HEAD_END)
    found = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    length = int(found.group(1)) if found else 0
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + HEAD_END + body


def header(message: bytes, name: str) -> str | None:
    head = message.partition(HEAD_END)[0].decode("latin-1")
    found = re.search(rf"(?im)^{re.escape(name)}:\s*(.*?)\s*$", head)
    return found.group(1) if found else None


class AnswerLosingProxy:
    """`with AnswerLosingProxy(upstream, lose) as proxy:` then send requests to proxy.endpoint.
    `lose(request)` decides, per request the server answered, whether the client never hears it."""

    def __init__(self, upstream: str, lose: Callable[[bytes], bool], lifetime_seconds: float = 60):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.lose = lose
        self.requests: list[bytes] = []  # every request passed on, in order
        self.lost: list[bytes] = []  # those whose answers were dropped
        self.deadline = time.monotonic() + lifetime_seconds
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> "AnswerLosingProxy":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            client.settimeout(SOCKET_TIMEOUT_SECONDS)
            while not self.stopping.is_set():
                request = read_message(client)
                if request is None:
                    return
                with socket.create_connection(self.upstream, timeout=SOCKET_TIMEOUT_SECONDS) as server:
                    server.sendall(request)
                    answer = read_message(server)
                self.requests.append(request)
                if answer is None or self.lose(request):
                    self.lost.append(request)
                    return  # the connection closes with the answer unsent
                client.sendall(answer)
