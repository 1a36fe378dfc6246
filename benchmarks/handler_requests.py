"""Per-request handler cost: the handler end to end vs the bare DynamoDB calls it makes.

Both sides use one boto3 client answered by botocore's Stubber with the same canned
responses, so botocore's validation and serialization are paid on both sides and no
network latency hides the handler's own work (parsing, validation, JSON, logging).
The handler is reached through its public seam `handlers.reviews.app.handle(event, context, app)`
with an App built around the stubbed client.
"""

import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root
from handlers.reviews import app as reviews_app
from handlers.reviews.ids import ReviewIdGenerator
from handlers.reviews.repository import ReviewRepository
from handlers.reviews.routing import Backend

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EVENTS = PROJECT_ROOT / "tests" / "events"
TABLE_NAME = "ProductReviews-bench"
INDEX_NAME = "ReviewerIdIndex"
PAGE_SIZE = 10


def _event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


# The signed-in reviewer of tests/events/post_review.json, and the product it reviews.
_CLAIMS = _event("post_review.json")["requestContext"]["authorizer"]["claims"]
PRODUCT_ID, REVIEWER_ID, REVIEWER_NAME = "sku-123", _CLAIMS["sub"], _CLAIMS["nickname"]


def _reviewer_listing_event() -> dict:
    event = _event("get_reviews.json")
    query = {"reviewer_id": REVIEWER_ID, "limit": str(PAGE_SIZE)}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    return event


def _review_item(number: int) -> dict:
    return {
        "product_id": {"S": PRODUCT_ID},
        "review_id": {"S": f"01JD{number:022d}"},
        "reviewer_id": {"S": f"user-{number}"},
        "rating": {"N": str(number % 5 + 1)},
        "title": {"S": "Great kettle"},
        "comment": {"S": "Boils fast and quietly."},
        "created_at": {"S": "2025-11-26T23:30:10.000Z"},
    }


PAGE = {"Items": [_review_item(n) for n in range(PAGE_SIZE)], "Count": PAGE_SIZE, "ScannedCount": PAGE_SIZE}
SUMMARY = {
    "Item": {
        "product_id": {"S": PRODUCT_ID},
        "review_id": {"S": "#SUMMARY"},
        "review_count": {"N": "12"},
        "rating_total": {"N": "50"},
        **{f"rating_{star}": {"N": str(star - 1)} for star in range(1, 6)},
    }
}
_LISTING: dict[str, Any] = {
    "TableName": TABLE_NAME,
    "ScanIndexForward": False,
    "Limit": PAGE_SIZE,
    "KeyConditionExpression": "{key} = :owner AND review_id >= :first",
}


def _listing_params(key: str, owner: str, index: str | None) -> dict:
    params = {
        **_LISTING,
        "KeyConditionExpression": _LISTING["KeyConditionExpression"].format(key=key),
        "ExpressionAttributeValues": {":owner": {"S": owner}, ":first": {"S": "0"}},
    }
    if index:
        params["IndexName"] = index
    return params


def _post_params() -> dict:
    """The transaction the handler writes for tests/events/post_review.json (no Idempotency-Key)."""
    review = _review_item(1) | {
        "reviewer_id": {"S": REVIEWER_ID},
        "reviewer_name": {"S": REVIEWER_NAME},
        "rating": {"N": "5"},
    }
    guard = {
        "product_id": {"S": PRODUCT_ID},
        "review_id": {"S": f"#REVIEWER#{REVIEWER_ID}"},
        "existing_review_id": review["review_id"],
    }
    put = {
        "TableName": TABLE_NAME,
        "ConditionExpression": "attribute_not_exists(product_id)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    return {
        "TransactItems": [
            {"Put": {**put, "Item": review}},
            {"Put": {**put, "Item": guard}},
            {
                "Update": {
                    "TableName": TABLE_NAME,
                    "Key": {"product_id": {"S": PRODUCT_ID}, "review_id": {"S": "#SUMMARY"}},
                    "UpdateExpression": "ADD rating_5 :d0, rating_total :d1, review_count :d2",
                    "ExpressionAttributeValues": {":d0": {"N": "1"}, ":d1": {"N": "5"}, ":d2": {"N": "1"}},
                }
            },
        ],
        "ClientRequestToken": "5b1f6c3e-7c1a-4d2e-9f0b-1a2b3c4d5e6f",
    }


# route: (API Gateway event, DynamoDB operation, its parameters, its canned response, expected status)
ROUTES = {
    "POST /reviews": (_event("post_review.json"), "transact_write_items", _post_params(), {}, 201),
    "GET /reviews?product_id": (
        _event("get_reviews.json"),
        "query",
        _listing_params("product_id", PRODUCT_ID, None),
        PAGE,
        200,
    ),
    "GET /reviews?reviewer_id": (
        _reviewer_listing_event(),
        "query",
        _listing_params("reviewer_id", REVIEWER_ID, INDEX_NAME),
        PAGE,
        200,
    ),
    "GET /products/{id}/rating": (
        _event("get_rating.json"),
        "get_item",
        {"TableName": TABLE_NAME, "Key": {"product_id": {"S": PRODUCT_ID}, "review_id": {"S": "#SUMMARY"}}},
        SUMMARY,
        200,
    ),
}


def stubbed_client():
    client = boto3.client("dynamodb", region_name="us-east-2", aws_access_key_id="bench", aws_secret_access_key="bench")
    return client, Stubber(client)


def _batch_seconds_per_call(call, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) / count


def measure_route(route: str, batches: int, calls_per_batch: int) -> dict:
    """Median over batches of the mean time per call, handler vs bare call, in microseconds."""
    event, operation, params, response, status = ROUTES[route]
    client, stubber = stubbed_client()
    settings = reviews_app.Settings(TABLE_NAME, INDEX_NAME, frozenset({"https://shop.example.com"}), "bench")
    app = reviews_app.App(settings, Backend(ReviewRepository(client, TABLE_NAME, INDEX_NAME), ReviewIdGenerator()))

    def handler_call():
        result = reviews_app.handle(event, None, app)
        assert result["statusCode"] == status, result

    def bare_call():
        getattr(client, operation)(**params)

    handler_us: list[float] = []
    bare_us: list[float] = []
    with stubber, open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the log lines
        for _ in range(batches):  # alternate the two sides so drift in machine load hits both
            for side, call in ((handler_us, handler_call), (bare_us, bare_call)):
                for _ in range(calls_per_batch):
                    stubber.add_response(operation, response)
                side.append(_batch_seconds_per_call(call, calls_per_batch) * 1e6)
    handler_median, bare_median = statistics.median(handler_us), statistics.median(bare_us)
    return {
        "handler_us": handler_median,
        "bare_us": bare_median,
        "ratio": handler_median / bare_median,
        "handler_range_us": [min(handler_us), max(handler_us)],
        "bare_range_us": [min(bare_us), max(bare_us)],
    }
