"""Lambda entry point (handler setting `reviews.app.handler`): parse → validate → repository → response."""

import functools
import os
import time
from dataclasses import dataclass

import boto3

from . import telemetry
from .errors import ApiError
from .events import Request, parse_headers, parse_request, request_id
from .ids import ReviewIdGenerator
from .pagination import decode_next_token, encode_next_token
from .repository import (
    IdempotencyKeyUsed,
    IdempotencyRecord,
    Review,
    ReviewExists,
    ReviewRepository,
    TemporarilyUnavailable,
)
from .responses import (
    cors_headers,
    error_response,
    internal_error_response,
    json_response,
    preflight_response,
    to_json,
)
from .routes import methods_for
from .validation import parse_idempotency_key, parse_listing, parse_product_id, parse_review

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
RETRY_AFTER_SECONDS = "1"
JSON_MEDIA_TYPES = ("application/json",)


@dataclass(frozen=True)
class Settings:
    table_name: str
    reviewer_index_name: str
    allowed_origins: frozenset[str]
    function_name: str

    @classmethod
    def from_environ(cls, environ) -> "Settings":
        return cls(
            table_name=environ["TABLE_NAME"],
            reviewer_index_name=environ["REVIEWER_INDEX_NAME"],
            allowed_origins=frozenset(
                origin.strip() for origin in environ.get("ALLOWED_ORIGINS", "").split(",") if origin.strip()
            ),
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        )


@dataclass(frozen=True)
class App:
    settings: Settings
    repository: ReviewRepository
    review_ids: ReviewIdGenerator


@functools.cache
def default_app() -> App:
    """One client per execution environment, created on first use (after env is final)."""
    settings = Settings.from_environ(os.environ)
    repository = ReviewRepository(boto3.client("dynamodb"), settings.table_name, settings.reviewer_index_name)
    return App(settings, repository, ReviewIdGenerator())


def handler(event: dict, context) -> dict:
    return handle(event, context, default_app())


def handle(event: dict, context, app: App) -> dict:
    started = time.perf_counter()
    correlation_id = request_id(event, context)
    origin = None
    try:
        headers = parse_headers(event)
        origin = headers.get("origin", (None,))[-1]
        response = dispatch(parse_request(event, headers), app, time.time())
    except ApiError as error:
        response = error_response(error)
    except Exception:  # noqa: BLE001 - the one place a fault becomes a 500
        telemetry.log_fault(correlation_id)
        telemetry.emit_fault_metric(app.settings.function_name)
        response = internal_error_response()
    response["headers"].update(cors_headers(origin, app.settings.allowed_origins))
    telemetry.log_request(
        correlation_id,
        str(event.get("httpMethod")),
        str(event.get("resource")),
        response["statusCode"],
        (time.perf_counter() - started) * 1000,
    )
    return response


def dispatch(request: Request, app: App, now: float) -> dict:
    methods = methods_for(request.resource)
    if not methods:
        raise ApiError(404, "not_found", "No such resource.")
    if request.method == "OPTIONS":
        return preflight_response(methods)
    action = ACTIONS.get((request.method, request.resource))
    if action is None:
        allow = ", ".join((*methods, "OPTIONS"))
        raise ApiError(405, "method_not_allowed", f"Use one of: {allow}.", headers={"Allow": allow})
    try:
        return action(request, app, now)
    except TemporarilyUnavailable:
        raise ApiError(
            503, "service_unavailable", "Too many requests right now; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from None


def post_review(request: Request, app: App, now: float) -> dict:
    require_json_content_type(request.header("content-type"))
    new_review = parse_review(request.body)
    idempotency_key = parse_idempotency_key(request.headers.get("idempotency-key", ()))
    now_ms = int(now * 1000)
    review = Review(
        review_id=app.review_ids.new_id(now_ms),
        created_at=iso_timestamp(now_ms),
        **vars(new_review),
    )
    body = to_json(review_json(review))
    record = None
    if idempotency_key:
        record = IdempotencyRecord(
            idempotency_key, new_review.fingerprint(), body, int(now) + IDEMPOTENCY_TTL_SECONDS
        )
    try:
        app.repository.create_review(review, record, int(now))
    except IdempotencyKeyUsed as used:
        if used.request_hash != record.request_hash:
            raise ApiError(
                422, "idempotency_key_reused", "This Idempotency-Key was used with a different request."
            ) from None
        return json_response(201, used.response_body, {"Idempotent-Replayed": "true"})
    except ReviewExists as exists:
        raise ApiError(
            409, "review_exists", "This reviewer has already reviewed this product.",
            [{"field": "reviewer_id", "message": "already reviewed this product", "review_id": exists.review_id}],
        ) from None
    return json_response(201, body)


def get_reviews(request: Request, app: App, now: float) -> dict:
    listing = parse_listing(request.query)
    reviews, position = app.repository.list_reviews(listing, decode_next_token(listing))
    payload = {
        "reviews": [review_json(review) for review in reviews],
        "next_token": encode_next_token(listing, position) if position else None,
    }
    return json_response(200, to_json(payload))


def get_rating(request: Request, app: App, now: float) -> dict:
    product_id = parse_product_id(request.path_parameters)
    summary = app.repository.rating_summary(product_id)
    average = round(summary.rating_total / summary.review_count, 2) if summary.review_count else None
    payload = {
        "product_id": product_id,
        "review_count": summary.review_count,
        "average_rating": average,
        "ratings": {str(star): count for star, count in enumerate(summary.counts, start=1)},
    }
    return json_response(200, to_json(payload))


ACTIONS = {
    ("POST", "/reviews"): post_review,
    ("GET", "/reviews"): get_reviews,
    ("GET", "/products/{product_id}/rating"): get_rating,
}


def require_json_content_type(content_type: str | None) -> None:
    """No Content-Type is accepted as JSON; any other media type is a 415."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", "Send the review as application/json.")


def iso_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000)) + f".{epoch_ms % 1000:03d}Z"


def review_json(review: Review) -> dict:
    return dict(vars(review))
