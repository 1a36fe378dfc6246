"""Reading one HTTP/1.1 request off a connection, within API Gateway's limits.

Strict where leniency would let one request be read as two (request smuggling) or make
the gateway wait for bytes that never come: a request with both Content-Length and
Transfer-Encoding, a Content-Length that is not a plain number, a transfer coding other
than chunked, folded or malformed header lines are all refused. A refusal is a
`Refusal` carrying the answer (400, 408, 413, 414 or 431); the connection is then
closed, since the rest of its bytes can no longer be trusted.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedIOBase

from localaws.gateway_responses import REQUEST_TOO_LARGE, Refusal, bad_request

# API Gateway REST quotas: URL length 8192 characters; request line and headers together
# 10240 bytes; payload 10 MB.
MAX_REQUEST_LINE_BYTES = 8192
MAX_HEAD_BYTES = 10240
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_CHUNK_SIZE_LINE_BYTES = 1024  # hex size plus chunk extensions

VERSIONS = ("HTTP/1.0", "HTTP/1.1")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: methods and header names
_CONTROL_CHARACTERS = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed in header values
_NOT_IN_TARGET = re.compile(rb"[\x00-\x20\x7f]")
_ABSOLUTE_FORM = re.compile(r"https?://[^/?#]*(?P<rest>[/?].*)?", re.IGNORECASE)


class ConnectionClosed(Exception):
    """The client closed the connection in the middle of a request: there is no one to answer."""


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str  # origin form: /path?query
    version: str
    headers: list[tuple[str, str]]  # as received, repeats and case kept

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def keep_alive(self) -> bool:
        tokens = {token.strip().lower() for value in self.values("connection") for token in value.split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


def read_head(rfile: BufferedIOBase) -> RequestHead | None:
    """The request line and headers; None if the client closed the connection (or stayed
    silent past the socket's timeout) before sending a request."""
    try:
        line = _read_request_line(rfile)
    except TimeoutError:
        return None
    if line is None:
        return None
    method, target, version = _parse_request_line(line)
    try:
        headers = _read_headers(rfile, budget=MAX_HEAD_BYTES - len(line))
    except TimeoutError:
        raise Refusal(bad_request("Request Timeout", 408)) from None
    return RequestHead(method, target, version, headers)


def _read_request_line(rfile: BufferedIOBase) -> bytes | None:
    line = rfile.readline(MAX_REQUEST_LINE_BYTES + 1)
    while line in (b"\r\n", b"\n"):  # RFC 9112: ignore empty lines before a request
        line = rfile.readline(MAX_REQUEST_LINE_BYTES + 1)
    if not line:
        return None
    if len(line) > MAX_REQUEST_LINE_BYTES:
        raise Refusal(bad_request("Request-URI Too Long", 414))
    if not line.endswith(b"\n"):
        raise ConnectionClosed()
    return line


def _parse_request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or _NOT_IN_TARGET.search(parts[1]):
        raise Refusal(bad_request("Bad Request"))
    method, target, version = (part.decode("latin-1") for part in parts)
    if version not in VERSIONS:
        raise Refusal(bad_request("Bad Request: unsupported HTTP version"))
    absolute = _ABSOLUTE_FORM.fullmatch(target)
    if absolute:  # http://host/path: what a proxy-style client sends
        target = absolute["rest"] or "/"
    if not target.startswith("/"):
        raise Refusal(bad_request("Bad Request"))
    return method, target, version


def _read_headers(rfile: BufferedIOBase, budget: int) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(budget + 1)
        budget -= len(line)
        if budget < 0:
            raise Refusal(bad_request("Request Header Fields Too Large", 431))
        if not line.endswith(b"\n"):
            raise ConnectionClosed()
        if line in (b"\r\n", b"\n"):
            return headers
        headers.append(_parse_header(line))


def _parse_header(line: bytes) -> tuple[str, str]:
    name, colon, value = line.rstrip(b"\r\n").partition(b":")
    # No name (or whitespace in it, or a folded continuation line): refused, never guessed.
    if not colon or not _TOKEN.fullmatch(name):
        raise Refusal(bad_request("Bad Request"))
    value = value.strip(b" \t")
    if _CONTROL_CHARACTERS.search(value):
        raise Refusal(bad_request("Bad Request"))
    return name.decode("latin-1"), value.decode("latin-1")


def read_body(rfile: BufferedIOBase, head: RequestHead, send_continue: Callable[[], None]) -> bytes:
    """The body, from Content-Length or chunked framing. `send_continue` is called before
    reading it when the client waits for 100 Continue (Expect: 100-continue)."""
    lengths, codings = head.values("content-length"), head.values("transfer-encoding")
    if lengths and codings:
        raise Refusal(bad_request("Bad Request: both Content-Length and Transfer-Encoding"))
    try:
        if codings:
            _require_chunked(head, codings)
            _continue_if_expected(head, send_continue)
            return _read_chunked(rfile)
        length = _content_length(lengths)
        if length:
            _continue_if_expected(head, send_continue)
        return _read_exactly(rfile, length)
    except TimeoutError:
        raise Refusal(bad_request("Request Timeout", 408)) from None


def _content_length(values: list[str]) -> int:
    if not values:
        return 0
    if len(set(values)) != 1 or not values[0].isascii() or not values[0].isdigit():
        raise Refusal(bad_request("Bad Request: invalid Content-Length"))
    length = int(values[0])
    if length > MAX_BODY_BYTES:
        raise Refusal(REQUEST_TOO_LARGE)
    return length


def _require_chunked(head: RequestHead, codings: list[str]) -> None:
    """Only `chunked` alone: any other coding would have to be undone before the function sees
    the body, and HTTP/1.0 has no chunked framing at all."""
    names = [name.strip().lower() for value in codings for name in value.split(",")]
    if names != ["chunked"] or head.version == "HTTP/1.0":
        raise Refusal(bad_request("Bad Request: unsupported Transfer-Encoding"))


def _continue_if_expected(head: RequestHead, send_continue: Callable[[], None]) -> None:
    if head.version == "HTTP/1.1" and "100-continue" in (value.lower() for value in head.values("expect")):
        send_continue()


def _read_exactly(rfile: BufferedIOBase, length: int) -> bytes:
    data = rfile.read(length)
    if len(data) < length:
        raise ConnectionClosed()
    return data


_CHUNK_SIZE = re.compile(rb"(?P<size>[0-9A-Fa-f]{1,8})[ \t]*(;.*)?\r?\n", re.DOTALL)


def _read_chunked(rfile: BufferedIOBase) -> bytes:
    """Chunks until the zero-size one, then trailers (read and dropped, as API Gateway does)."""
    body = bytearray()
    while True:
        line = rfile.readline(MAX_CHUNK_SIZE_LINE_BYTES + 1)
        if len(line) > MAX_CHUNK_SIZE_LINE_BYTES:
            raise Refusal(bad_request("Bad Request: chunk size line too long"))
        if not line.endswith(b"\n"):
            raise ConnectionClosed()
        size_line = _CHUNK_SIZE.fullmatch(line)
        if not size_line:
            raise Refusal(bad_request("Bad Request: invalid chunk size"))
        size = int(size_line["size"], 16)
        if size == 0:
            _read_headers(rfile, budget=MAX_HEAD_BYTES)  # trailers
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise Refusal(REQUEST_TOO_LARGE)
        body += _read_exactly(rfile, size)
        if _read_exactly(rfile, 2) != b"\r\n":
            raise Refusal(bad_request("Bad Request: chunk data not followed by CRLF"))
