"""Dispatch: which operation serves a request, and each operation's HTTP side.

Each route of the contract (contract.ROUTES) is served by the function here named after its
operation id (createReview: create_review). Every operation parses and validates its input
(validation.py), acts (actions.py or the repository) and shapes the answer (responses.py).
Errors propagate to app.handle.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from . import actions, contract
from .errors import ReviewNotFound
from .events import Request
from .ids import ReviewIdGenerator
from .model import RatingSummary
from .repository import ReviewRepository
from .responses import HttpError, Response, empty_response, json_response, preflight_response
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
        raise HttpError(contract.NOT_FOUND)
    if request.method == "OPTIONS":
        return preflight_response(methods)
    route = contract.route_for(request.method, request.resource)
    if route is None:
        allow = ", ".join((*methods, "OPTIONS"))
        message = contract.METHOD_NOT_ALLOWED.message.format(allow=allow)
        raise HttpError(contract.METHOD_NOT_ALLOWED, message, {contract.ALLOW_HEADER: allow})
    return operations()[route.operation_id](request, backend, now)


def create_review(request: Request, backend: Backend, now: float) -> Response:
    author = parse_reviewer(request.claims)
    require_json_content_type(request.header(contract.CONTENT_TYPE_HEADER.lower()))
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
    require_json_content_type(request.header(contract.CONTENT_TYPE_HEADER.lower()))
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
    return json_response(200, rating_body(summary))


def rating_body(summary: RatingSummary) -> dict[str, object]:
    return {
        "product_id": summary.product_id,
        "review_count": summary.review_count,
        "average_rating": summary.average,
        "ratings": {str(star): count for star, count in enumerate(summary.counts, start=contract.MIN_RATING)},
    }


def require_json_content_type(content_type: str | None) -> None:
    """No Content-Type is accepted as JSON; any other media type is a 415."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise HttpError(contract.UNSUPPORTED_MEDIA_TYPE)


@functools.cache
def operations() -> dict[str, Operation]:
    """Each route's operation id with the function here that serves it (looked up on the first
    request, so a function may sit anywhere in this module)."""
    functions = globals()
    missing = [route.function_name for route in contract.ROUTES if route.function_name not in functions]
    if missing:
        raise LookupError(f"handlers/reviews/routing.py has no function for the routes: {', '.join(missing)}")
    return {route.operation_id: functions[route.function_name] for route in contract.ROUTES}
