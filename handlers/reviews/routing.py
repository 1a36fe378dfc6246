"""Dispatch: which operation serves a request, and each operation's HTTP side.

Every operation parses and validates its input (validation.py), acts (actions.py or the
repository) and shapes the answer (responses.py). Errors propagate to app.handle.
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import actions, contract
from .errors import HttpError
from .events import Request
from .ids import ReviewIdGenerator
from .model import ReviewNotFound
from .repository import ReviewRepository
from .responses import Response, empty_response, json_response, preflight_response
from .tokens import encode_next_token
from .validation import (
    parse_edit,
    parse_idempotency_key,
    parse_listing,
    parse_product_id,
    parse_review,
    parse_review_key,
    parse_reviewer,
)

JSON_MEDIA_TYPES = ("application/json",)


@dataclass(frozen=True)
class Backend:
    """What the operations work with: the table and the source of review ids."""

    repository: ReviewRepository
    review_ids: ReviewIdGenerator


Operation = Callable[[Request, Backend, float], Response]


def dispatch(request: Request, backend: Backend, now: float) -> Response:
    methods = contract.methods_for(request.resource)
    if not methods:
        raise HttpError(404, "not_found", "No such resource.")
    if request.method == "OPTIONS":
        return preflight_response(methods)
    route = next((r for r in contract.ROUTES if (r.method, r.path) == (request.method, request.resource)), None)
    if route is None:
        allow = ", ".join((*methods, "OPTIONS"))
        raise HttpError(405, "method_not_allowed", f"Use one of: {allow}.", headers={"Allow": allow})
    return OPERATIONS[route.operation_id](request, backend, now)


def create_review(request: Request, backend: Backend, now: float) -> Response:
    author = parse_reviewer(request.claims)
    require_json_content_type(request.header("content-type"))
    new_review = parse_review(request.body)
    idempotency_key = parse_idempotency_key(request.headers.get(contract.IDEMPOTENCY_KEY_HEADER.lower(), ()))
    created = actions.create_review(backend.repository, backend.review_ids, author, new_review, idempotency_key, now)
    headers = {contract.REPLAYED_HEADER: "true"} if created.replayed else None
    return json_response(201, created.review.to_dict(), headers)


def get_review(request: Request, backend: Backend, now: float) -> Response:
    review = backend.repository.get_review(parse_review_key(request.path_parameters))
    if review is None:
        raise ReviewNotFound()
    return json_response(200, review.to_dict())


def edit_review(request: Request, backend: Backend, now: float) -> Response:
    author = parse_reviewer(request.claims)
    key = parse_review_key(request.path_parameters)
    require_json_content_type(request.header("content-type"))
    edited = actions.edit_review(backend.repository, author, key, parse_edit(request.body), now)
    return json_response(200, edited.to_dict())


def delete_review(request: Request, backend: Backend, now: float) -> Response:
    author = parse_reviewer(request.claims)
    actions.delete_review(backend.repository, author, parse_review_key(request.path_parameters))
    return empty_response(204)


def list_reviews(request: Request, backend: Backend, now: float) -> Response:
    listing = parse_listing(request.query)
    page = backend.repository.list_reviews(listing)
    return json_response(
        200,
        {
            "reviews": [review.to_dict() for review in page.reviews],
            "next_token": encode_next_token(listing, page.next_position) if page.next_position else None,
        },
    )


def get_rating(request: Request, backend: Backend, now: float) -> Response:
    summary = backend.repository.rating_summary(parse_product_id(request.path_parameters))
    return json_response(
        200,
        {
            "product_id": summary.product_id,
            "review_count": summary.review_count,
            "average_rating": summary.average,
            "ratings": {str(star): count for star, count in enumerate(summary.counts, start=contract.MIN_RATING)},
        },
    )


# Keyed by contract.ROUTES' operation ids (tests/handler/test_routing.py checks they match).
OPERATIONS: dict[str, Operation] = {
    "createReview": create_review,
    "listReviews": list_reviews,
    "getReview": get_review,
    "editReview": edit_review,
    "deleteReview": delete_review,
    "getRating": get_rating,
}


def require_json_content_type(content_type: str | None) -> None:
    """No Content-Type is accepted as JSON; any other media type is a 415."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise HttpError(415, "unsupported_media_type", "Send the review as application/json.")
