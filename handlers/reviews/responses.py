"""Lambda proxy responses, exactly {statusCode, headers, body: str, isBase64Encoded: false},
and the one place where errors become HTTP answers: each with its entry of the contract's
error table (status, code, message)."""

import json
from typing import Any

from . import contract
from .errors import (
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
PREFLIGHT_MAX_AGE_SECONDS = "600"


class HttpError(Exception):
    """A request the HTTP edge refuses before any domain rule applies, answered as `answer`
    (with `message`, when the table's is a template, and extra headers)."""

    def __init__(self, answer: contract.ErrorAnswer, message: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message or answer.message)
        self.answer = answer
        self.message = message or answer.message
        self.headers = headers or {}


# How each error below the edge (errors.py) is answered; InvalidInput's answer depends on
# the input (invalid_json or bad_request).
DOMAIN_ANSWERS: dict[type[Exception], contract.ErrorAnswer] = {
    NotSignedIn: contract.NOT_SIGNED_IN,
    NotTheAuthor: contract.NOT_THE_AUTHOR,
    ReviewNotFound: contract.REVIEW_NOT_FOUND,
    ReviewExists: contract.REVIEW_EXISTS,
    IdempotencyKeyReused: contract.IDEMPOTENCY_KEY_REUSED,
    TemporarilyUnavailable: contract.SERVICE_UNAVAILABLE,
}
# Every error a client can act on.
ERRORS: tuple[type[Exception], ...] = (InvalidInput, HttpError, *DOMAIN_ANSWERS)


def to_json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return {
        "statusCode": status,
        "headers": {contract.CONTENT_TYPE_HEADER: "application/json", **(headers or {})},
        "body": to_json(payload),
        "isBase64Encoded": False,
    }


def error_body(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {"error": code, "message": message, "details": details or []}


def answer_with(
    answer: contract.ErrorAnswer,
    message: str | None = None,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_response(answer.status, error_body(answer.code, message or answer.message, details), headers)


def empty_response(status: int) -> Response:
    return {"statusCode": status, "headers": {}, "body": "", "isBase64Encoded": False}


def error_response(error: Exception) -> Response:
    """The answer to one of ERRORS."""
    if isinstance(error, HttpError):
        return answer_with(error.answer, error.message, headers=error.headers)
    if isinstance(error, InvalidInput):
        details = [{"field": p.field, "message": p.message} for p in error.problems]
        return answer_with(contract.INVALID_JSON if error.malformed else contract.BAD_REQUEST, error.message, details)
    answer = DOMAIN_ANSWERS.get(type(error))
    if answer is None:
        raise TypeError(f"no HTTP answer for {type(error).__name__}") from error
    if isinstance(error, ReviewExists):
        return answer_with(
            answer, details=[{"field": "reviewer_id", "message": answer.detail, "review_id": error.review_id}]
        )
    if isinstance(error, TemporarilyUnavailable):
        return answer_with(answer, headers={contract.RETRY_AFTER_HEADER: str(contract.RETRY_AFTER_SECONDS)})
    return answer_with(answer)


def internal_error_response() -> Response:
    return answer_with(contract.INTERNAL_ERROR)


def canonical_header_name(name: str) -> str:
    """x-api-key -> X-Api-Key: how the preflight lists the headers a request may send."""
    return "-".join(part.capitalize() for part in name.split("-"))


PREFLIGHT_ALLOWED_HEADERS = ", ".join(canonical_header_name(name) for name in contract.REQUEST_HEADERS)


def preflight_response(methods: tuple[str, ...]) -> Response:
    return {
        "statusCode": 204,
        "headers": {
            contract.ALLOW_METHODS_HEADER: ", ".join((*methods, "OPTIONS")),
            contract.ALLOW_HEADERS_HEADER: PREFLIGHT_ALLOWED_HEADERS,
            contract.MAX_AGE_HEADER: PREFLIGHT_MAX_AGE_SECONDS,
        },
        "body": "",
        "isBase64Encoded": False,
    }


def cors_headers(origin: str | None, allowed_origins: frozenset[str]) -> dict[str, str]:
    """Vary: Origin always (caches must key on it); Allow-Origin only for an allowed origin."""
    vary = {contract.VARY_HEADER: contract.ORIGIN_HEADER}
    if ANY_ORIGIN in allowed_origins:
        return {contract.ALLOW_ORIGIN_HEADER: ANY_ORIGIN, **vary}
    if origin in allowed_origins:
        return {contract.ALLOW_ORIGIN_HEADER: origin, **vary}
    return vary
