"""CORS for exactly the Cognito calls a sign-in page makes from a browser, and nothing else.

A page signs in by calling Cognito's endpoint itself (POST / with X-Amz-Target
AWSCognitoIdentityProviderService.<Operation>), as browser apps do on AWS, where Cognito
answers any origin (its CORS cannot be limited to a domain: aws-amplify/amplify-js issue 2982).
Locally that endpoint is the emulator, so:

- a preflight for POST / with only the headers such a call sends is answered here;
- the answer to a browser's call of BROWSER_OPERATIONS carries Access-Control-Allow-Origin;
- any other browser request naming an X-Amz-Target is refused (403) before moto sees it: the
  preflight cannot say which operation follows, so this is what keeps the allowance to Cognito.
A request without an Origin header (boto3, Terraform) is not a browser's and passes untouched.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
# The storefront's sign-in (password, and refresh) and sign-out.
BROWSER_OPERATIONS = frozenset({"InitiateAuth", "GlobalSignOut"})
ALLOWED_HEADERS = ("content-type", "x-amz-target", "x-amz-user-agent")
PREFLIGHT_MAX_AGE_SECONDS = 600

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_cognito_browser_cors(app: WsgiApp) -> WsgiApp:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if "HTTP_ORIGIN" not in environ:
            return app(environ, start_response)
        if environ["REQUEST_METHOD"] == "OPTIONS" and _cognito_preflight(environ):
            start_response("204 No Content", _allow_headers(preflight=True))
            return []
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target is None:
            return app(environ, start_response)
        operation = target.removeprefix(COGNITO_TARGET_PREFIX) if target.startswith(COGNITO_TARGET_PREFIX) else None
        if operation not in BROWSER_OPERATIONS:
            body = json.dumps({"message": f"{target} is not served to browsers (localaws/cognito_cors.py)"}).encode()
            start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        def start_with_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept + _allow_headers(preflight=False), exc_info)

        return app(environ, start_with_cors)

    return serve


def _cognito_preflight(environ: dict[str, Any]) -> bool:
    requested = {
        h.strip().lower() for h in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",") if h.strip()
    }
    return (
        environ.get("PATH_INFO") == "/"
        and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD") == "POST"
        and requested <= set(ALLOWED_HEADERS)
    )


def _allow_headers(preflight: bool) -> list[tuple[str, str]]:
    headers = [("Access-Control-Allow-Origin", "*")]
    if preflight:
        headers += [
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", ",".join(ALLOWED_HEADERS)),
            ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_SECONDS)),
        ]
    return headers
