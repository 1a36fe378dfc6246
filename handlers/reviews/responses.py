"""Lambda proxy responses: exactly {statusCode, headers, body: str, isBase64Encoded: false}."""

import json

from .errors import ApiError

ANY_ORIGIN = "*"
PREFLIGHT_ALLOWED_HEADERS = "Content-Type, X-Api-Key, Idempotency-Key"
PREFLIGHT_MAX_AGE_SECONDS = "600"


def json_response(status: int, body: str, headers: dict[str, str] | None = None) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def to_json(payload) -> str:
    return json.dumps(payload, separators=(",", ":"))


def error_response(error: ApiError) -> dict:
    payload = {"error": error.code, "message": error.message, "details": error.details}
    return json_response(error.status, to_json(payload), error.headers)


def internal_error_response() -> dict:
    payload = {"error": "internal_error", "message": "Something went wrong on our side.", "details": []}
    return json_response(500, to_json(payload))


def preflight_response(methods: tuple[str, ...]) -> dict:
    return {
        "statusCode": 204,
        "headers": {
            "Access-Control-Allow-Methods": ", ".join((*methods, "OPTIONS")),
            "Access-Control-Allow-Headers": PREFLIGHT_ALLOWED_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
        },
        "body": "",
        "isBase64Encoded": False,
    }


def cors_headers(origin: str | None, allowed_origins: frozenset[str]) -> dict[str, str]:
    """Vary: Origin always (caches must key on it); Allow-Origin only for an allowed origin."""
    if ANY_ORIGIN in allowed_origins:
        return {"Access-Control-Allow-Origin": ANY_ORIGIN, "Vary": "Origin"}
    if origin in allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}
