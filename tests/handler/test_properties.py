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


@SETTINGS
@given(
    body=st.one_of(json_values.map(json.dumps), review_like_bodies.map(json.dumps), st.text(max_size=50)),
    method=st.sampled_from(["PATCH", "DELETE"]),
)
def test_any_edit_or_delete_body_is_answered_without_a_fault(body, method):
    # A review id that exists nowhere: the request gets as far as looking it up.
    event = api_events.patch_review(new_id("sku"), "01JDQ3Z8M4X7V2K9T6B1N5R0CE", body, raw=True)
    assert_client_or_success(invoke(api_events.with_method(event, method)))


claim_values = st.one_of(st.text(max_size=70), st.sampled_from(["user-1", "Kettle Fan", ""]), json_values)


@SETTINGS
@given(claims=st.none() | st.dictionaries(st.sampled_from(["sub", "nickname", "email", "aud"]), claim_values))
def test_any_authorizer_claims_are_answered_without_a_fault(claims):
    event = api_events.post_review({"product_id": new_id("sku"), "rating": 3})
    event["requestContext"]["authorizer"] = None if claims is None else {"claims": claims}
    response = invoke(event)
    assert_client_or_success(response)
    assert response.status in (201, 401)


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
        body = {"product_id": product_of_review, "rating": 3}
        posted.append(invoke(api_events.post_review(body, reviewer=reviewer if n % 2 else new_id("user"))).json)

    by_product = walk_pages({"product_id": product}, limit)
    by_reviewer = walk_pages({"reviewer_id": reviewer}, limit)

    assert by_product == [r for r in reversed(posted) if r["product_id"] == product]
    assert by_reviewer == [r for r in reversed(posted) if r["reviewer_id"] == reviewer]


# (caller, action, author of the target review, rating, idempotency key): any reviewer may try
# to create, edit or delete; only the author's edits and deletes succeed.
operations = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(["create", "edit", "delete"]),
        st.integers(0, 3),
        st.integers(1, 5),
        st.none() | st.integers(0, 3),
    ),
    min_size=1,
    max_size=10,
)


@settings(derandomize=True, deadline=None, max_examples=25)
@given(operations=operations)
def test_rating_summary_equals_a_recount_after_creates_edits_deletes_and_retries(dynamodb, operations):
    product = new_id("sku")
    key_prefix = new_id("idem")
    first_response_for_key: dict[tuple[str, str], dict] = {}
    review_of: dict[str, str] = {}  # author -> their review's id, while it exists
    for caller, action, author, rating, key in operations:
        caller, author = f"user-{caller}", f"user-{author}"
        if action == "create":
            idempotency_key = None if key is None else f"{key_prefix}-{key}"
            body = {"product_id": product, "rating": rating}
            response = invoke(api_events.post_review(body, reviewer=caller, idempotency_key=idempotency_key))
            assert response.status in (201, 409, 422)
            if response.status == 201 and idempotency_key:
                # A key, once it has produced a review, replays that exact response to its reviewer.
                assert first_response_for_key.setdefault((caller, idempotency_key), response.json) == response.json
            if response.status == 201 and "Idempotent-Replayed" not in response.headers:
                review_of[caller] = response.json["review_id"]
            continue
        if author not in review_of:
            continue
        target = review_of[author]
        if action == "edit":
            event = api_events.patch_review(product, target, {"rating": rating}, reviewer=caller)
        else:
            event = api_events.delete_review(product, target, reviewer=caller)
        response = invoke(event)
        assert response.status == ({"edit": 200, "delete": 204}[action] if caller == author else 403), response.raw
        if action == "delete" and caller == author:
            del review_of[author]

    stored = dynamodb.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="product_id = :p AND review_id >= :first",
        ExpressionAttributeValues={":p": {"S": product}, ":first": {"S": "0"}},
    )["Items"]
    ratings = [int(item["rating"]["N"]) for item in stored]
    summary = invoke(api_events.get_rating(product)).json

    assert {item["review_id"]["S"] for item in stored} == set(review_of.values())
    assert len({item["reviewer_id"]["S"] for item in stored}) == len(stored)
    assert summary["review_count"] == len(stored)
    assert summary["ratings"] == {str(star): ratings.count(star) for star in range(1, 6)}
    assert summary["average_rating"] == (round(sum(ratings) / len(ratings), 2) if ratings else None)
