"""Lambda proxy responses, exactly {statusCode, headers, body: str, isBase64Encoded: false},
and the one place where domain errors become HTTP statuses."""

import json
from typing import Any

from . import contract
from .errors import HttpError
from .model import (
    IdempotencyKeyReused,
    InvalidInput,
    NotSignedIn,
    NotTheAuthor,
    ReviewExists,
    ReviewNotFound,
    TemporarilyUnavailable,
)

Response = dict[str, Any]

ANY_ORIGIN = "*"
PREFLIGHT_ALLOWED_HEADERS = (
    f"{contract.AUTHORIZATION_HEADER}, Content-Type, X-Api-Key, {contract.IDEMPOTENCY_KEY_HEADER}"
)
PREFLIGHT_MAX_AGE_SECONDS = "600"
# Every error a client can act on, and how it is answered.
ERRORS = (
    InvalidInput,
    NotSignedIn,
    NotTheAuthor,
    ReviewNotFound,
    ReviewExists,
    IdempotencyKeyReused,
    TemporarilyUnavailable,
    HttpError,
)
# The identity and ownership errors, each answered as the contract states it.
CONTRACT_ANSWERS = {
    NotSignedIn: contract.NOT_SIGNED_IN,
    NotTheAuthor: contract.NOT_THE_AUTHOR,
    ReviewNotFound: contract.REVIEW_NOT_FOUND,
}


def to_json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": to_json(payload),
        "isBase64Encoded": False,
    }


def error_body(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {"error": code, "message": message, "details": details or []}


def empty_response(status: int) -> Response:
    return {"statusCode": status, "headers": {}, "body": "", "isBase64Encoded": False}


def error_response(error: Exception) -> Response:
    """The answer to one of ERRORS."""
    answer = CONTRACT_ANSWERS.get(type(error))
    if answer is not None:
        return json_response(answer.status, error_body(answer.code, answer.message))
    if isinstance(error, InvalidInput):
        code = "invalid_json" if error.malformed else "bad_request"
        details = [{"field": p.field, "message": p.message} for p in error.problems]
        return json_response(400, error_body(code, error.message, details))
    if isinstance(error, ReviewExists):
        details = [{"field": "reviewer_id", "message": "already reviewed this product", "review_id": error.review_id}]
        message = "This reviewer has already reviewed this product."
        return json_response(409, error_body("review_exists", message, details))
    if isinstance(error, IdempotencyKeyReused):
        message = f"This {contract.IDEMPOTENCY_KEY_HEADER} was used with a different request."
        return json_response(422, error_body("idempotency_key_reused", message))
    if isinstance(error, TemporarilyUnavailable):
        message = "Too many requests right now; retry shortly."
        retry_after = {"Retry-After": str(contract.RETRY_AFTER_SECONDS)}
        return json_response(503, error_body("service_unavailable", message), retry_after)
    if isinstance(error, HttpError):
        return json_response(error.status, error_body(error.code, error.message), error.headers)
    raise TypeError(f"no HTTP answer for {type(error).__name__}") from error


def internal_error_response() -> Response:
    return json_response(500, error_body("internal_error", "Something went wrong on our side."))


def preflight_response(methods: tuple[str, ...]) -> Response:
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
