"""A local API Gateway (REST, v1) for the API deployed in the emulator.

Serves http://127.0.0.1:<port>/<stage>/<path> like the invoke URL, answering as API
Gateway does: 403 Missing Authentication Token (no such route or method), 403 Forbidden
(API key missing or not valid for the stage), 429 (stage throttling), 502 (function
error or malformed proxy response), 504 (function timeout), each shaped by the API's
gateway responses (`gateway_responses`). Functions run in warm worker processes
(`workers`). The deployment is re-read every `refresh_seconds`, so a `terraform apply`
(new code, keys, routes) is served without a restart. The HTTP side (connections,
framing, limits) is `gateway_http`. GET /openapi.json, outside the stage, serves the API's
OpenAPI document (docs/openapi.json) with its servers entry pointing at the stage.
"""

import json
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qsl

from handlers.reviews.contract import API_KEY_HEADER
from localaws import deployment as deployment_module
from localaws import gateway_http
from localaws.cognito_authorizer import UserPoolKeys, authorize
from localaws.deployment import Deployment, Function, Method
from localaws.emulator import PROJECT_ROOT
from localaws.gateway_responses import (
    FUNCTION_FAILED,
    INTEGRATION_TIMEOUT,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    THROTTLED,
    UNSUPPORTED_AUTHORIZER,
    UNSUPPORTED_INTEGRATION,
    GatewayError,
    Refusal,
    RequestValues,
    render,
)
from localaws.proxy_events import HttpRequest, MalformedResponse, build_event, to_http_response
from localaws.runtimes import interpreter_for
from localaws.workers import FunctionPool, InvocationFailed, InvocationTimeout, PoolClosed

ACCOUNT_ID = "123456789012"  # moto's default account
OPENAPI_FILE = PROJECT_ROOT / "docs" / "openapi.json"
# The methods a REST API method can be defined for; ANY stands for these, not for any verb.
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


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


@dataclass(frozen=True)
class Serving:
    """One deployment and the warm workers of its functions, swapped as a whole on refresh."""

    deployment: Deployment
    pools: dict[str, FunctionPool]  # function ARN -> pool


class LocalGateway:
    """The state behind the HTTP side: deployment, function pools, throttle buckets."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        rest_api_name: str,
        stage: str,
        workers_per_function: int = 2,
        refresh_seconds: float = 5.0,
        runtimes_dir: Path | None = None,
    ):
        self.source = (endpoint, region, rest_api_name, stage)
        self.workers_per_function = workers_per_function
        self.refresh_seconds = refresh_seconds
        self.runtimes_dir = runtimes_dir  # where the declared runtimes' environments are (None: our Python)
        # Per method, as */* settings apply, and per limits: a redeploy with new limits starts fresh.
        self.buckets: dict[tuple[str, str, float, int], TokenBucket] = {}
        self.lock = threading.Lock()
        self.refreshing = threading.Lock()  # one refresh at a time; other requests keep serving
        # The emulator serves each pool's JWKS where Cognito does, below its own endpoint.
        self.user_pool_keys = UserPoolKeys(lambda pool: f"{endpoint}/{pool.id}/.well-known/jwks.json")
        self.serving = self._load(previous_pools={})
        self.loaded_at = time.monotonic()

    def _load(self, previous_pools: dict[str, FunctionPool]) -> Serving:
        deployed = deployment_module.load(*self.source)
        # A new Function value (new code or configuration) gets a new pool; others stay warm.
        unchanged = {pool.function: pool for pool in previous_pools.values()}
        pools: dict[str, FunctionPool] = {}
        for arn, function in deployed.functions.items():
            warm = unchanged.pop(function, None)
            pools[arn] = warm or self._pool(function, deployed.endpoint)
        return Serving(deployed, pools)

    def _swap(self, serving: Serving) -> None:
        """Serves `serving` from now on, then retires the pools it no longer has."""
        retired = [pool for pool in self.serving.pools.values() if pool not in serving.pools.values()]
        self.serving, self.loaded_at = serving, time.monotonic()
        for pool in retired:
            pool.close()

    def _pool(self, function: Function, endpoint: str) -> FunctionPool:
        interpreter, warning = interpreter_for(function.runtime, self.runtimes_dir)
        if warning:
            print(f"{function.name}: {warning}", flush=True)
        code = deployment_module.fetch_code(endpoint, function)
        return FunctionPool(function, code, endpoint, self.workers_per_function, interpreter)

    def current(self) -> Serving:
        due = self.refresh_seconds and time.monotonic() - self.loaded_at > self.refresh_seconds
        if due and self.refreshing.acquire(blocking=False):
            try:
                self.loaded_at = time.monotonic()
                self._swap(self._load(self.serving.pools))
            except Exception as error:  # noqa: BLE001 - e.g. emulator restarting or gone: keep serving, retry later
                print(f"deployment refresh failed, serving the previous one: {error!r}", flush=True)
            finally:
                self.refreshing.release()
        return self.serving

    def reload(self, function_name: str | None = None) -> None:
        """Re-reads the deployment now, or only the function named (make watch, after it
        updated that function's code): the next request runs the new code, in fresh workers."""
        with self.refreshing:
            serving = self.serving
            arn = next((arn for arn in serving.pools if arn.rpartition(":")[2] == function_name), None)
            if arn is None:
                self._swap(self._load(serving.pools))
                return
            function = deployment_module.load_function(serving.deployment.endpoint, arn)
            if function != serving.pools[arn].function:
                deployed = replace(serving.deployment, functions={**serving.deployment.functions, arn: function})
                pools = {**serving.pools, arn: self._pool(function, deployed.endpoint)}
                self._swap(Serving(deployed, pools))

    def identity(self) -> dict:
        """Who answers on this port: `make up` checks it before sending anything secret."""
        _, _, rest_api_name, stage = self.source
        return {"service": "localaws-gateway", "pid": os.getpid(), "rest_api_name": rest_api_name, "stage": stage}

    def openapi_document(self, port: int) -> bytes:
        """docs/openapi.json with its servers entry set to this gateway's stage on `port`, so a
        client or API console pointed at it talks to the local stack."""
        _, _, _, stage = self.source
        document = json.loads(OPENAPI_FILE.read_text())
        document["servers"] = [{"url": f"http://127.0.0.1:{port}/{stage}", "description": "this local gateway"}]
        return json.dumps(document, indent=2).encode()

    def handle(self, request: HttpRequest, stage: str, request_id: str) -> Answer:
        """API Gateway's answer to one request (already stripped of the /<stage> prefix)."""
        serving = self.current()
        deployed = serving.deployment
        matched = deployed.match(request.path) if stage == deployed.stage else None
        path_parameters = matched[1] if matched else {}
        try:
            method = _method(deployed, matched, request.method)
            claims = self._authorize(deployed, method, request)  # before the API key, as API Gateway does
            api_key = self._check_api_key(deployed, method, request)
            if not self._take_token(deployed, method):
                raise Refusal(THROTTLED)
            pool = serving.pools.get(method.function_arn) if method.function_arn is not None else None
            if pool is None:
                raise Refusal(UNSUPPORTED_INTEGRATION)
            event = build_event(
                request,
                resource=method.resource_path,
                resource_id=method.resource_id,
                path_parameters=path_parameters,
                stage=deployed.stage,
                rest_api_id=deployed.rest_api_id,
                account_id=ACCOUNT_ID,
                request_id=request_id,
                api_key=api_key,
                api_key_id=deployed.api_keys.get(api_key) if api_key is not None else None,
                authorizer_claims=claims,
                binary_media_types=deployed.binary_media_types,
            )
            status, headers, body = self._invoke_serving(pool, event, request_id)
            return status, headers + [("x-amzn-RequestId", request_id)], body
        except Refusal as refusal:
            values = RequestValues(request.headers, dict(parse_qsl(request.query)), path_parameters)
            return render(refusal.error, deployed.gateway_responses, values, request_id)

    def refuse(self, error: GatewayError, request: RequestValues, request_id: str) -> Answer:
        """The gateway's own answer to a request it could not hand to `handle` (bad framing,
        too many connections), shaped by the deployed API's gateway responses."""
        return render(error, self.serving.deployment.gateway_responses, request, request_id)

    def _authorize(self, deployed: Deployment, method: Method, request: HttpRequest) -> dict[str, str] | None:
        """The caller's claims where the method has an authorizer (None where it has none); a
        kind of authorizer the local gateway does not run is refused, never skipped."""
        if method.authorization_type == "NONE":
            return None
        authorizer = deployed.authorizers.get(method.authorizer_id or "")
        if method.authorization_type != "COGNITO_USER_POOLS" or authorizer is None or not authorizer.identity_header:
            raise Refusal(UNSUPPORTED_AUTHORIZER)
        token = _request_header(request, authorizer.identity_header)
        return authorize(token, authorizer, method.authorization_scopes, self.user_pool_keys)

    def _invoke_serving(self, pool: FunctionPool, event: dict, request_id: str) -> Answer:
        try:
            return _invoke(pool, event, request_id)
        except PoolClosed:  # a reload retired it while this request was on its way: the new code serves it
            replacement = self.serving.pools.get(pool.function.arn)
            if replacement is None:
                raise Refusal(UNSUPPORTED_INTEGRATION) from None
            return _invoke(replacement, event, request_id)

    def _check_api_key(self, deployed: Deployment, method: Method, request: HttpRequest) -> str | None:
        """The request's API key where the method requires one (the event carries it only then)."""
        if not method.api_key_required:
            return None
        api_key = _request_header(request, API_KEY_HEADER)
        if api_key not in deployed.api_keys:
            raise Refusal(INVALID_API_KEY)
        return api_key

    def _take_token(self, deployed: Deployment, method: Method) -> bool:
        if deployed.rate_limit is None or deployed.burst_limit is None:
            return True
        key = (method.resource_path, method.http_method, deployed.rate_limit, deployed.burst_limit)
        with self.lock:
            bucket = self.buckets.setdefault(key, TokenBucket(deployed.rate_limit, deployed.burst_limit))
        return bucket.take()

    def close(self) -> None:
        with self.refreshing:
            for pool in self.serving.pools.values():
                pool.close()


def _request_header(request: HttpRequest, name: str) -> str | None:
    """The first value of a header (names are case-insensitive)."""
    return next((value for key, value in request.headers if key.lower() == name.lower()), None)


def _method(deployed: Deployment, matched: tuple[str, dict] | None, http_method: str) -> Method:
    methods = deployed.methods.get(matched[0], {}) if matched else {}
    method = methods.get(http_method) or (methods.get("ANY") if http_method in HTTP_METHODS else None)
    if method is None:  # no such route, or a verb API Gateway has no method for (FOO, PROPFIND)
        raise Refusal(MISSING_AUTHENTICATION_TOKEN)
    return method


def _invoke(pool: FunctionPool, event: dict, request_id: str) -> Answer:
    try:
        return to_http_response(pool.invoke(event, request_id))
    except InvocationTimeout:
        raise Refusal(INTEGRATION_TIMEOUT) from None
    except PoolClosed:
        raise  # the caller retries with the pool that replaced it
    except (InvocationFailed, MalformedResponse) as error:
        print(f"[{request_id}] {type(error).__name__}: {str(error).strip()[-500:]}", flush=True)
        raise Refusal(FUNCTION_FAILED) from None


def make_server(gateway: LocalGateway, port: int) -> "gateway_http.GatewayServer":
    """The HTTP server for `gateway` on 127.0.0.1:port (0: any free port); call serve_forever()."""
    return gateway_http.GatewayServer(gateway, port)
