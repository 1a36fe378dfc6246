"""Builders for API Gateway REST proxy (v1) events, starting from the fixtures in tests/events."""

import base64
import copy
import json
import uuid
from pathlib import Path

from handlers.reviews.contract import IDEMPOTENCY_KEY_HEADER, REVIEWER_CLAIM, ROUTES

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
ALLOWED_ORIGIN = "https://shop.example.com"
_FIXTURES = {path.stem: json.loads(path.read_text()) for path in EVENTS_DIR.glob("*.json")}


def fixture(name: str) -> dict:
    event = copy.deepcopy(_FIXTURES[name])
    # A fresh request id per event, as API Gateway would send.
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def with_headers(event: dict, **headers: str | None) -> dict:
    """Set (or, with None, remove) headers in both headers and multiValueHeaders."""
    for name, value in headers.items():
        name = name.replace("_", "-")
        for mapping in (event["headers"], event["multiValueHeaders"]):
            for existing in [key for key in mapping if key.lower() == name.lower()]:
                del mapping[existing]
        if value is not None:
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
    return event


# The reviewer whose claims the write fixtures carry.
FIXTURE_REVIEWER = _FIXTURES["post_review"]["requestContext"]["authorizer"]["claims"][REVIEWER_CLAIM]


def display_name(reviewer: str) -> str:
    """The name the tests' reviewers chose at sign-up."""
    return f"Name of {reviewer}"


def signed_in_as(event: dict, reviewer: str, name: str | None = None) -> dict:
    """The event as API Gateway's Cognito authorizer hands over a signed-in reviewer's request:
    the ID token's claims (every value a string), with this subject and display name."""
    claims = event["requestContext"]["authorizer"]["claims"]
    claims.update({REVIEWER_CLAIM: reviewer, "cognito:username": reviewer, "nickname": display_name(reviewer)})
    if name is not None:
        claims["nickname"] = name
    return event


def without_authorizer(event: dict) -> dict:
    """The event as a stage whose method has no authorizer would deliver it: no claims."""
    del event["requestContext"]["authorizer"]
    return with_headers(event, Authorization=None)


def with_body(event: dict, body, *, raw: bool = False, base64_encoded: bool = False) -> dict:
    """body is a dict/list/value to JSON-encode, or (raw=True) the exact body string."""
    text = body if raw else json.dumps(body)
    if base64_encoded:
        text = base64.b64encode(text.encode("utf-8")).decode("ascii")
    event["body"] = text
    event["isBase64Encoded"] = base64_encoded
    return event


def post_review(
    body,
    *,
    reviewer: str = FIXTURE_REVIEWER,
    idempotency_key: str | None = None,
    raw: bool = False,
    base64_encoded: bool = False,
) -> dict:
    """POST /reviews by `reviewer`, signed in."""
    event = with_body(signed_in_as(fixture("post_review"), reviewer), body, raw=raw, base64_encoded=base64_encoded)
    if idempotency_key is not None:
        with_headers(event, **{IDEMPOTENCY_KEY_HEADER: idempotency_key})
    return event


def on_review(event: dict, product_id: str, review_id: str) -> dict:
    event["path"] = f"/products/{product_id}/reviews/{review_id}"
    event["pathParameters"] = {"product_id": product_id, "review_id": review_id}
    return event


def get_review(product_id: str, review_id: str) -> dict:
    return on_review(fixture("get_review"), product_id, review_id)


def patch_review(product_id: str, review_id: str, body, *, reviewer: str = FIXTURE_REVIEWER, raw: bool = False) -> dict:
    """PATCH of a review by `reviewer`, signed in."""
    event = signed_in_as(on_review(fixture("patch_review"), product_id, review_id), reviewer)
    return with_body(event, body, raw=raw)


def delete_review(product_id: str, review_id: str, *, reviewer: str = FIXTURE_REVIEWER) -> dict:
    """DELETE of a review by `reviewer`, signed in."""
    return signed_in_as(on_review(fixture("delete_review"), product_id, review_id), reviewer)


def get_reviews(query: dict[str, str | list[str]] | None) -> dict:
    event = fixture("get_reviews")
    if query is None:
        event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
        return event
    many = {name: value if isinstance(value, list) else [value] for name, value in query.items()}
    event["multiValueQueryStringParameters"] = many
    # API Gateway keeps only the last value of a repeated key here.
    event["queryStringParameters"] = {name: values[-1] for name, values in many.items()}
    return event


def get_rating(product_id: str) -> dict:
    event = fixture("get_rating")
    event["path"] = f"/products/{product_id}/rating"
    event["pathParameters"] = {"product_id": product_id}
    return event


def preflight(resource: str, origin: str | None = ALLOWED_ORIGIN) -> dict:
    event = fixture("options_reviews")
    event["resource"] = event["path"] = event["requestContext"]["resourcePath"] = resource
    return with_headers(event, Origin=origin)


def with_method(event: dict, method: str) -> dict:
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    return event


def for_route(operation_id: str, *, reviewer: str = FIXTURE_REVIEWER, **path_parameters: str) -> dict:
    """A request to any route of the contract, by its operation id, without a body: a recorded
    public read, or signed-in write by `reviewer`, aimed at the route's method and path."""
    [route] = [route for route in ROUTES if route.operation_id == operation_id]
    event = fixture("post_review" if route.signed_in else "get_review")
    path = route.path.format(**path_parameters)
    event["resource"] = event["requestContext"]["resourcePath"] = route.path
    event["path"] = path
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
    event["pathParameters"] = path_parameters or None
    event["body"] = None
    with_method(event, route.method)
    return signed_in_as(event, reviewer) if route.signed_in else event
