"""A local API Gateway (REST, v1) for the API deployed in the emulator.

Serves http://127.0.0.1:<port>/<stage>/<path> like the invoke URL, answering as API
Gateway does: 403 Missing Authentication Token (no such route or method), 403 Forbidden
(API key missing or not valid for the stage), 429 (stage throttling), 502 (function
error or malformed proxy response), 504 (function timeout). Functions run in warm
worker processes (`workers`). The deployment is re-read every `refresh_seconds`, so a
`terraform apply` (new code, keys, routes) is served without a restart.
"""

import json
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localaws import deployment as deployment_module
from localaws.deployment import Deployment, Function
from localaws.proxy_events import HttpRequest, MalformedResponse, build_event, to_http_response
from localaws.workers import FunctionPool, InvocationFailed, InvocationTimeout

ACCOUNT_ID = "123456789012"  # moto's default account


class TokenBucket:
    """API Gateway throttling: `rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.capacity = rate, burst
        self.tokens, self.updated = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class LocalGateway:
    """The state behind the HTTP handler: deployment, function pools, throttle buckets."""

    def __init__(self, endpoint: str, region: str, rest_api_name: str, stage: str,
                 workers_per_function: int = 2, refresh_seconds: float = 5.0):
        self.source = (endpoint, region, rest_api_name, stage)
        self.workers_per_function = workers_per_function
        self.refresh_seconds = refresh_seconds
        self.pools: dict[Function, FunctionPool] = {}
        # Per method, as */* settings apply, and per limits: a redeploy with new limits starts fresh.
        self.buckets: dict[tuple[str, str, float, int], TokenBucket] = {}
        self.lock = threading.Lock()
        self.deployment = self._load()
        self.loaded_at = time.monotonic()

    def _load(self) -> Deployment:
        deployed = deployment_module.load(*self.source)
        # A new Function value (new code or configuration) gets a new pool; others stay warm.
        retired = [pool for function, pool in self.pools.items() if function not in deployed.functions.values()]
        for function in deployed.functions.values():
            if function not in self.pools:
                code = deployment_module.fetch_code(deployed.endpoint, function)
                self.pools[function] = FunctionPool(function, code, deployed.endpoint, self.workers_per_function)
        for pool in retired:
            del self.pools[pool.function]
            pool.close()
        return deployed

    def current(self) -> Deployment:
        with self.lock:
            if self.refresh_seconds and time.monotonic() - self.loaded_at > self.refresh_seconds:
                self.loaded_at = time.monotonic()
                try:
                    self.deployment = self._load()
                except Exception as error:  # e.g. emulator restarting: keep serving, retry later
                    print(f"deployment refresh failed, serving the previous one: {error!r}", flush=True)
            return self.deployment

    def handle(self, request: HttpRequest, stage: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """API Gateway's answer to one request (already stripped of the /<stage> prefix)."""
        deployed = self.current()
        request_id = str(uuid.uuid4())
        matched = deployed.match(request.path) if stage == deployed.stage else None
        methods = deployed.methods.get(matched[0], {}) if matched else {}
        method = methods.get(request.method) or methods.get("ANY")
        if method is None:
            return _error(403, "Missing Authentication Token", request_id)

        api_key = None  # the event carries a key only where the method requires one
        if method.api_key_required:
            api_key = next((v for k, v in request.headers if k.lower() == "x-api-key"), None)
            if api_key not in deployed.api_keys:
                return _error(403, "Forbidden", request_id)
        if not self._take_token(deployed, method.resource_path, method.http_method):
            return _error(429, "Too Many Requests", request_id)
        if method.function_arn not in deployed.functions:
            return _error(500, "Local gateway serves only AWS_PROXY Lambda integrations", request_id)

        event = build_event(
            request,
            resource=method.resource_path,
            resource_id=method.resource_id,
            path_parameters=matched[1],
            stage=deployed.stage,
            rest_api_id=deployed.rest_api_id,
            account_id=ACCOUNT_ID,
            request_id=request_id,
            api_key=api_key,
            api_key_id=deployed.api_keys.get(api_key),
            binary_media_types=deployed.binary_media_types,
        )
        pool = self.pools[deployed.functions[method.function_arn]]
        try:
            status, headers, body = to_http_response(pool.invoke(event, request_id))
        except InvocationTimeout:
            return _error(504, "Endpoint request timed out", request_id)
        except (InvocationFailed, MalformedResponse) as error:
            print(f"[{request_id}] {type(error).__name__}: {str(error).strip()[-500:]}", flush=True)
            return _error(502, "Internal server error", request_id)
        return status, headers + [("x-amzn-RequestId", request_id)], body

    def _take_token(self, deployed: Deployment, resource_path: str, http_method: str) -> bool:
        if deployed.rate_limit is None or deployed.burst_limit is None:
            return True
        key = (resource_path, http_method, deployed.rate_limit, deployed.burst_limit)
        with self.lock:
            bucket = self.buckets.setdefault(key, TokenBucket(deployed.rate_limit, deployed.burst_limit))
        return bucket.take()

    def close(self) -> None:
        with self.lock:
            for pool in self.pools.values():
                pool.close()
            self.pools.clear()


def _error(status: int, message: str, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id),
               ("x-amzn-ErrorType", {403: "ForbiddenException", 429: "TooManyRequestsException"}.get(status, ""))]
    return status, [h for h in headers if h[1]], json.dumps({"message": message}).encode()


def make_server(gateway: LocalGateway, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            started = time.monotonic()
            path, _, query = self.path.partition("?")
            stage, _, rest = path.lstrip("/").partition("/")
            length = int(self.headers.get("Content-Length") or 0)
            request = HttpRequest(
                method=self.command,
                path="/" + rest,
                query=query,
                headers=list(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                source_ip=self.client_address[0],
            )
            try:
                status, headers, body = gateway.handle(request, stage)
            except Exception:  # a gateway bug must still answer, as API Gateway would
                traceback.print_exc()
                status, headers, body = _error(500, "Internal server error", "-")
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            elapsed_ms = (time.monotonic() - started) * 1000
            print(f'{self.client_address[0]} "{self.command} {self.path}" {status} {len(body)}B {elapsed_ms:.0f}ms', flush=True)
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format, *args):  # the access line above replaces the default log
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server
