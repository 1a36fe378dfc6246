"""Property-based checks: no input yields a 500, pages cover everything once, summaries add up."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api_events
from api_client import invoke, new_id
from review_table import TABLE_NAME

SETTINGS = settings(derandomize=True, deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
review_like_bodies = st.fixed_dictionaries(
    {},
    optional={
        "product_id": st.one_of(st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True), json_values),
        "reviewer_id": st.one_of(st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True), json_values),
        "rating": st.one_of(st.integers(0, 6), st.floats(0, 6), json_values),
        "title": st.one_of(st.text(max_size=210), json_values),
        "comment": st.one_of(st.text(max_size=50), json_values),
        "extra": json_values,
    },
)


def assert_client_or_success(response):
    assert 200 <= response.status < 500, response.raw


@SETTINGS
@given(
    body=st.one_of(json_values.map(json.dumps), review_like_bodies.map(json.dumps), st.text(max_size=50)),
    base64_encoded=st.booleans(),
    idempotency_key=st.none() | st.text(max_size=10),
)
def test_any_post_body_is_answered_without_a_fault(body, base64_encoded, idempotency_key):
    assert_client_or_success(
        invoke(api_events.post_review(body, raw=True, base64_encoded=base64_encoded, idempotency_key=idempotency_key))
    )


query_values = st.lists(st.one_of(st.text(max_size=30), st.integers(-5, 200).map(str)), min_size=1, max_size=2)


query_names = st.sampled_from(["product_id", "reviewer_id", "limit", "next_token", "x"]) | st.text(max_size=5)


@SETTINGS
@given(query=st.dictionaries(query_names, query_values, max_size=4))
def test_any_query_string_is_answered_without_a_fault(query):
    assert_client_or_success(invoke(api_events.get_reviews(query)))


def walk_pages(query: dict, limit: int) -> list[dict]:
    reviews, token = [], None
    while True:
        page_query = {**query, "limit": str(limit), **({"next_token": token} if token else {})}
        page = invoke(api_events.get_reviews(page_query))
        assert page.status == 200 and len(page.json["reviews"]) <= limit
        reviews += page.json["reviews"]
        token = page.json["next_token"]
        if token is None:
            return reviews
        assert len(page.json["reviews"]) == limit


@settings(derandomize=True, deadline=None, max_examples=15)
@given(count=st.integers(0, 12), limit=st.integers(1, 4))
def test_walking_pages_returns_every_review_once_newest_first(count, limit):
    product, reviewer = new_id("sku"), new_id("user")
    posted = []
    for n in range(count):
        # Half the reviews share one reviewer across products, so both listings get pages.
        product_of_review = product if n % 2 == 0 else new_id("sku")
        body = {"product_id": product_of_review, "reviewer_id": reviewer if n % 2 else new_id("user"), "rating": 3}
        posted.append(invoke(api_events.post_review(body)).json)

    by_product = walk_pages({"product_id": product}, limit)
    by_reviewer = walk_pages({"reviewer_id": reviewer}, limit)

    assert by_product == [r for r in reversed(posted) if r["product_id"] == product]
    assert by_reviewer == [r for r in reversed(posted) if r["reviewer_id"] == reviewer]


operations = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 5), st.none() | st.integers(0, 3)), min_size=1, max_size=8
)


@settings(derandomize=True, deadline=None, max_examples=20)
@given(operations=operations)
def test_rating_summary_equals_a_recount_after_posts_and_retries(dynamodb, operations):
    """(reviewer, rating, idempotency key) triples; repeats are retries, some with changed bodies."""
    product = new_id("sku")
    key_prefix = new_id("idem")
    first_response_for_key: dict[str, dict] = {}
    for reviewer, rating, key in operations:
        body = {"product_id": product, "reviewer_id": f"user-{reviewer}", "rating": rating}
        idempotency_key = None if key is None else f"{key_prefix}-{key}"
        response = invoke(api_events.post_review(body, idempotency_key=idempotency_key))
        assert response.status in (201, 409, 422)
        if idempotency_key and response.status == 201:
            # A key, once it has produced a review, replays that exact response.
            assert first_response_for_key.setdefault(idempotency_key, response.json) == response.json

    stored = dynamodb.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="product_id = :p AND review_id >= :first",
        ExpressionAttributeValues={":p": {"S": product}, ":first": {"S": "0"}},
    )["Items"]
    ratings = [int(item["rating"]["N"]) for item in stored]
    summary = invoke(api_events.get_rating(product)).json

    assert len({item["reviewer_id"]["S"] for item in stored}) == len(stored)
    assert summary["review_count"] == len(stored)
    assert summary["ratings"] == {str(star): ratings.count(star) for star in range(1, 6)}
    assert summary["average_rating"] == (round(sum(ratings) / len(ratings), 2) if ratings else None)
