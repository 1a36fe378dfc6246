"""What stands between a client and moto in the emulator process: only requests from this
machine, no cross-origin browser calls but the one named allowance, and every write saved.

- `Host` must name this machine (`loopback`), else 403: a DNS-rebinding page is refused.
- A request with an `Origin` header (only browsers send one) is refused with 403 unless an
  entry of `BROWSER_ALLOWANCES` allows that origin and operation; moto's own answer-everyone
  CORS is off (MOTO_DISABLE_GLOBAL_CORS, set by `emulator.start`). Without this, any page could
  make the browser POST a form to the emulator (IAM, SNS, SSM speak form-encoded queries).
- Requests that may change state run one at a time, and the services they touched are saved
  (`persistence`) before the answer is sent: an acknowledged write survives a crash, and a
  conditional write (S3 If-Match / If-None-Match, checked then applied by moto in two steps)
  is atomic, as in S3. Reads run concurrently, as before.
"""

import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from localaws.loopback import is_loopback_host
from localaws.persistence import Snapshots

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]

# The operation names AWS gives to reads, by convention; anything else counts as a write.
READ_OPERATION = re.compile(r"^(Get|List|Describe|Query|Scan|BatchGet|Head|Lookup|Search)([A-Z]|$)")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Writes that change a second service too (moto 5.2.5): target-tracking policies create alarms.
ALSO_WRITES = {"applicationautoscaling": ("cloudwatch",)}
# moto's own API (/moto-api/reset ...) may change every service.
MOTO_API = "moto_api"
# Writes appended to the service's log (persistence) instead of re-saving the whole service:
# DynamoDB's item writes, which replay the same on the state they followed.
LOGGED_WRITES = {"dynamodb": ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")}
LOG_LIMIT_BYTES = 4 * 1024 * 1024  # past this, the service is saved whole and its log starts afresh
# What a logged write keeps of its request: enough for moto to dispatch it again.
LOGGED_HEADERS = ("HTTP_X_AMZ_TARGET", "HTTP_AUTHORIZATION", "CONTENT_TYPE")


@dataclass(frozen=True)
class BrowserAllowance:
    """Cross-origin calls a browser may make to the emulator: from `origin`, the operations named
    in `targets` (X-Amz-Target values; the CORS preflight names no operation)."""

    name: str
    origin: str
    targets: frozenset[str]
    headers: frozenset[str] = frozenset({"content-type", "x-amz-target", "x-amz-user-agent", "amz-sdk-invocation-id"})

    def allows(self, environ: Environ) -> bool:
        if environ.get("HTTP_ORIGIN") != self.origin:
            return False
        if environ["REQUEST_METHOD"] == "OPTIONS":
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            names = {name.strip().lower() for name in requested.split(",") if name.strip()}
            return environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD") == "POST" and names <= self.headers
        return environ["REQUEST_METHOD"] == "POST" and environ.get("HTTP_X_AMZ_TARGET") in self.targets


# Exactly the Cognito calls the storefront page makes: sign-in (password, and refresh) and
# sign-out. Never an Admin* operation: moto does not check who calls.
STOREFRONT_COGNITO_OPERATIONS = ("InitiateAuth", "GlobalSignOut")
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."


def browser_allowances(storefront_origin: str | None) -> tuple[BrowserAllowance, ...]:
    """The only cross-origin browser access: the storefront demo page signs in to and out of
    the emulator's Cognito user pools, as a browser app calls Cognito (unsigned)."""
    if not storefront_origin:
        return ()
    targets = frozenset(COGNITO_TARGET_PREFIX + operation for operation in STOREFRONT_COGNITO_OPERATIONS)
    return (BrowserAllowance("storefront sign-in", storefront_origin, targets),)


def guarded(app: WsgiApp, allowances: tuple[BrowserAllowance, ...]) -> WsgiApp:
    """`app`, answering only requests for this machine and allowed browser calls."""

    def guard(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_loopback_host(environ.get("HTTP_HOST", "localhost")):  # browsers always send a Host
            return _refuse(start_response, f"Host {environ.get('HTTP_HOST')!r} is not this machine")
        if "HTTP_ORIGIN" not in environ:
            return app(environ, start_response)
        allowance = next((allowance for allowance in allowances if allowance.allows(environ)), None)
        if allowance is None:
            return _refuse(start_response, f"cross-origin requests from {environ['HTTP_ORIGIN']} are not allowed")
        if environ["REQUEST_METHOD"] == "OPTIONS":
            start_response("204 No Content", _cors_headers(allowance, environ))
            return []

        def with_cors(status: str, headers: list[tuple[str, str]], *info: Any) -> Any:
            return start_response(status, headers + _cors_headers(allowance, environ), *info)

        return app(environ, with_cors)

    return guard


def _cors_headers(allowance: BrowserAllowance, environ: Environ) -> list[tuple[str, str]]:
    headers = [("Access-Control-Allow-Origin", allowance.origin), ("Vary", "Origin")]
    if environ["REQUEST_METHOD"] == "OPTIONS":
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        headers += [("Access-Control-Allow-Methods", "POST"), ("Access-Control-Max-Age", "600")]
        headers += [("Access-Control-Allow-Headers", requested)] if requested else []
    else:
        headers.append(("Access-Control-Expose-Headers", "x-amzn-requestid"))
    return headers


def _refuse(start_response: Callable[..., Any], reason: str) -> list[bytes]:
    body = json.dumps({"message": f"Forbidden: {reason}"}).encode()
    start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def saving_writes(dispatcher: Any, snapshots: Snapshots) -> WsgiApp:
    """moto's `dispatcher` (a DomainDispatcherApplication), running writes one at a time and
    saving what each changed before answering it."""
    writing = threading.Lock()
    app = dispatcher

    def service_of(environ: Environ) -> str:
        """The backend moto dispatches the request to ("dynamodb", "s3", "moto_api")."""
        return getattr(dispatcher.get_application(environ), "service")  # noqa: B009 - set by moto, unknown to Flask's types

    def save_writes(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_read(environ):
            return app(environ, start_response)
        request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(request)
        answered: list[Any] = []
        with writing:
            body = b"".join(app(environ, lambda *answer: answered.append(answer)))
            service = service_of(environ)
            if _logged(service, environ, answered[0][0]):
                entry = {name: environ.get(name, "") for name in LOGGED_HEADERS} | {"body": request.decode()}
                if snapshots.append(service, entry) > LOG_LIMIT_BYTES:
                    snapshots.save([service])
            else:
                snapshots.save(snapshots.saved_services() if service == MOTO_API else _touched(service))
        start_response(*answered[0])
        return [body]

    return save_writes


def _logged(service: str, environ: Environ, status: str) -> bool:
    """A write that goes to the log: succeeded (a failed one changed nothing) and is logged."""
    operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    return status.startswith("2") and operation in LOGGED_WRITES.get(service, ())


def replay(app: WsgiApp, entry: dict[str, str]) -> None:
    """Dispatches a logged write again (before the emulator serves)."""
    body = entry["body"].encode()
    environ: Environ = {name: value for name, value in entry.items() if name in LOGGED_HEADERS and value}
    environ |= {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
    }
    b"".join(app(environ, lambda *answer: None))


def _touched(service: str) -> tuple[str, ...]:
    return (service, *ALSO_WRITES.get(service, ()))


def is_read(environ: Environ) -> bool:
    """Whether the request only reads: GET/HEAD/OPTIONS, or a JSON or query operation named
    as a read (X-Amz-Target, or Action= in a form body, which is put back for moto)."""
    if environ["REQUEST_METHOD"] in READ_METHODS:
        return True
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return bool(READ_OPERATION.match(target.rpartition(".")[2]))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        return bool(READ_OPERATION.match(action))
    return False
