"""A relay between Terraform and the shared AWS provider (deploy/provider_server.py) that
answers the provider's two costly, pure calls from a cache on disk.

Measured on this stack (a plan of 41 resources, provider 5.100.0): the provider spent ~97% of
its CPU in two calls. Terraform makes both in every command, the first once per walk:
- PrepareProviderConfig (ValidateProviderConfig in protocol 6): the plugin SDK checks the
  schemas of all ~1,500 resource types before it looks at the configuration (InternalValidate),
  ~2 s of CPU each time;
- GetSchema (GetProviderSchema): the schema of every resource type, ~1 s of CPU.

Each answer depends only on the provider binary and the request (the configuration, which on
the local target carries no credentials of anyone's: Workspace drops AWS_* variables). So the
relay keeps every answer it forwarded, keyed by the binary's identity and the request's bytes,
under .cache/provider-answers/ (0600 files in a 0700 folder), and answers a repeated request
itself. With the cache warm, a plan costs the provider ~0.1 s of CPU instead of ~4 s.

Every other call, streams included (go-plugin's broker and stdio), is forwarded as it is: the
relay never decodes a message, so it does not depend on the protocol's message types.
"""

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from .private_files import private_directory, write_private

# The provider's pure calls, by the protocol version the provider announces.
CACHED_METHODS = {
    5: ("/tfplugin5.Provider/GetSchema", "/tfplugin5.Provider/PrepareProviderConfig"),
    6: ("/tfplugin6.Provider/GetProviderSchema", "/tfplugin6.Provider/ValidateProviderConfig"),
}
# go-plugin's streams; every other method is a unary call.
STREAMING = {"/plugin.GRPCBroker/StartStream": "stream_stream", "/plugin.GRPCStdio/StreamStdio": "unary_stream"}
# The provider's schema alone is tens of MB: no limit on message sizes, as Terraform sets none.
MESSAGE_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
# Terraform calls the provider from up to 10 graph walkers at once; two streams stay open.
RELAY_THREADS = 32


def _as_is(message: bytes) -> bytes:
    return message


@dataclass
class AnswerCache:
    """Answers of one provider binary, one file per request."""

    directory: Path
    binary: Path
    answered: int = 0  # requests answered from the cache (a test reads them)
    forwarded: int = 0  # requests of cached methods the provider answered
    _identity: str = field(init=False, default="")  # the binary, as the key's first line

    def __post_init__(self) -> None:
        binary = self.binary.resolve()
        stat = binary.stat()
        self._identity = f"{binary} {stat.st_size} {stat.st_mtime_ns}\n"

    def _path(self, method: str, request: bytes) -> Path:
        return self.directory / hashlib.sha256(f"{self._identity}{method}\n".encode() + request).hexdigest()

    def get(self, method: str, request: bytes) -> bytes | None:
        path = self._path(method, request)
        return path.read_bytes() if path.exists() else None

    def put(self, method: str, request: bytes, answer: bytes) -> None:
        path = self._path(method, request)
        # Written aside, then renamed: another process may read the answer at the same time.
        partial = private_directory(self.directory) / f".{path.name}.{os.getpid()}.{threading.get_ident()}"
        os.replace(write_private(partial, answer), path)


@dataclass
class _Relay(grpc.GenericRpcHandler):
    provider: grpc.Channel
    cache: AnswerCache
    cached_methods: tuple[str, ...]
    handlers: dict[str, Any] = field(default_factory=dict)

    def service(self, handler_call_details: Any) -> Any:
        method = handler_call_details.method
        if method not in self.handlers:
            self.handlers[method] = self._handler(method)
        return self.handlers[method]

    def _handler(self, method: str) -> Any:
        kind = STREAMING.get(method, "unary_unary")
        forward = getattr(self.provider, kind)(method, request_serializer=_as_is, response_deserializer=_as_is)
        make_handler = getattr(grpc, f"{kind}_rpc_method_handler")
        if kind == "unary_unary":
            serve = _passing_errors(self._cached(method, forward) if method in self.cached_methods else forward)
        else:
            serve = _without_context(forward)
        return make_handler(serve, request_deserializer=_as_is, response_serializer=_as_is)

    def _cached(self, method: str, forward: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        def answer(request: bytes) -> bytes:
            kept = self.cache.get(method, request)
            if kept is not None:
                self.cache.answered += 1
                return kept
            fresh = forward(request)
            self.cache.forwarded += 1
            self.cache.put(method, request, fresh)
            return fresh

        return answer


def _without_context(forward: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A stream, forwarded as it comes (go-plugin's broker and stdio)."""
    return lambda request, _context: forward(request)


def _passing_errors(call: Callable[[bytes], bytes]) -> Callable[[bytes, Any], bytes]:
    """A provider's gRPC error reaches Terraform as the provider sent it (and is never cached)."""

    def handle(request: bytes, context: Any) -> bytes:
        try:
            return call(request)
        except grpc.RpcError as error:
            return context.abort(error.code(), error.details())  # abort raises: the call ends here

    return handle


@contextmanager
def relayed(reattach: str, cache: AnswerCache) -> Iterator[str]:
    """A TF_REATTACH_PROVIDERS value for the relay in front of the provider `reattach` names,
    for the duration of the block."""
    [(name, provider)] = json.loads(reattach).items()
    cached_methods = CACHED_METHODS.get(provider.get("ProtocolVersion"), ())
    with (
        tempfile.TemporaryDirectory(prefix="provider-relay-") as folder,
        grpc.insecure_channel(f"unix://{provider['Addr']['String']}", options=MESSAGE_OPTIONS) as channel,
    ):
        os.chmod(folder, 0o700)
        socket = f"{folder}/relay.sock"
        server = grpc.server(ThreadPoolExecutor(max_workers=RELAY_THREADS), options=MESSAGE_OPTIONS)
        server.add_generic_rpc_handlers([_Relay(channel, cache, cached_methods)])
        server.add_insecure_port(f"unix://{socket}")
        server.start()
        try:
            yield json.dumps({name: {**provider, "Addr": {"Network": "unix", "String": socket}}})
        finally:
            server.stop(grace=None)
