"""GET /reviews: newest first by product or reviewer, paged with an opaque next_token."""

import base64

import pytest

import api_events
from api_client import app_for, invoke, new_id
from review_table import create_table


def post(product, reviewer, rating=3, **fields):
    review = {"product_id": product, "rating": rating, **fields}
    response = invoke(api_events.post_review(review, reviewer=reviewer))
    assert response.status == 201
    return response.json


def list_reviews(**query):
    return invoke(api_events.get_reviews(query))


def test_product_reviews_are_listed_newest_first_without_internal_items(product_id):
    posted = [post(product_id, new_id("user")) for _ in range(3)]

    response = list_reviews(product_id=product_id)

    assert response.status == 200
    assert response.json == {"reviews": posted[::-1], "next_token": None}


def test_reviewer_reviews_are_listed_across_products_via_the_index(reviewer_id):
    posted = [post(new_id("sku"), reviewer_id, rating=rating) for rating in (1, 5)]

    response = list_reviews(reviewer_id=reviewer_id)

    assert response.status == 200
    assert response.json["reviews"] == posted[::-1]


def test_numbers_are_plain_json_integers(product_id):
    post(product_id, new_id("user"), rating=5)

    body = list_reviews(product_id=product_id).raw["body"]

    assert '"rating":5' in body and "Decimal" not in body


def test_pages_follow_next_token_until_it_is_null(product_id):
    posted = [post(product_id, new_id("user")) for _ in range(5)]

    first = list_reviews(product_id=product_id, limit="2")
    second = list_reviews(product_id=product_id, limit="2", next_token=first.json["next_token"])
    third = list_reviews(product_id=product_id, limit="2", next_token=second.json["next_token"])

    pages = [first.json["reviews"], second.json["reviews"], third.json["reviews"]]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [r for page in pages for r in page] == posted[::-1]
    assert third.json["next_token"] is None


@pytest.fixture
def large_table(dynamodb):
    """A table of its own: moto copies the whole table on every transaction, so the 2.4 MB of
    data here would slow every other test down."""
    create_table(dynamodb, "reviews-large")
    yield app_for(dynamodb, "reviews-large")
    dynamodb.delete_table(TableName="reviews-large")


def test_pages_are_full_even_when_dynamodb_stops_at_1_mb(dynamodb, large_table, product_id):
    # 150 reviews of ~16 KB each: DynamoDB (and moto) return ~60 per 1 MB query page.
    comment = "\U0001f600" * 4000
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "product_id": {"S": product_id},
                    "review_id": {"S": f"01{n:024d}"},
                    "reviewer_id": {"S": f"user-{n}"},
                    "rating": {"N": "4"},
                    "comment": {"S": comment},
                    "created_at": {"S": "2025-01-01T00:00:00.000Z"},
                }
            }
        }
        for n in range(150)
    ]
    for start in range(0, len(requests), 25):
        dynamodb.batch_write_item(RequestItems={"reviews-large": requests[start : start + 25]})

    queries = []

    def count_queries(**_: object) -> None:
        queries.append(1)

    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", count_queries)
    query = {"product_id": product_id, "limit": "100"}
    first = invoke(api_events.get_reviews(query), large_table)
    dynamodb.meta.events.unregister("provide-client-params.dynamodb.Query", count_queries)
    second = invoke(api_events.get_reviews({**query, "next_token": first.json["next_token"]}), large_table)

    assert len(queries) >= 2, "the first page should have needed more than one 1 MB query"

    assert len(first.json["reviews"]) == 100
    assert len(second.json["reviews"]) == 50 and second.json["next_token"] is None
    ids = [r["review_id"] for r in first.json["reviews"] + second.json["reviews"]]
    assert ids == sorted({f"01{n:024d}" for n in range(150)}, reverse=True)


def test_default_page_size_is_20(product_id):
    for _ in range(21):
        post(product_id, new_id("user"))

    response = list_reviews(product_id=product_id)

    assert len(response.json["reviews"]) == 20 and response.json["next_token"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"product_id": "p", "reviewer_id": "r"},
        {"product_id": ""},
        {"product_id": "#SUMMARY"},
        {"reviewer_id": "a b"},
        {"product_id": "p", "limit": "0"},
        {"product_id": "p", "limit": "101"},
        {"product_id": "p", "limit": "ten"},
        {"product_id": "p", "limit": "-1"},
        {"product_id": "p", "limit": "2.5"},
        {"product_id": "p", "limit": "１０"},
        {"product_id": "p", "sort": "asc"},
        {"product_id": "p", "limit": ["5", "6"]},
        {"product_id": ["p", "q"]},
    ],
)
def test_bad_query_strings_are_400(query):
    response = invoke(api_events.get_reviews(query))

    assert response.status == 400
    assert response.json["error"] == "bad_request" and response.json["details"]


def test_null_query_string_is_400_not_a_crash():
    assert invoke(api_events.get_reviews(None)).status == 400


def test_only_query_string_parameters_without_multi_value_map_still_works(product_id):
    post(product_id, new_id("user"))
    event = api_events.get_reviews({"product_id": product_id})
    event["multiValueQueryStringParameters"] = None

    assert len(invoke(event).json["reviews"]) == 1


@pytest.fixture
def two_pages(product_id):
    for _ in range(3):
        post(product_id, new_id("user"))
    token = list_reviews(product_id=product_id, limit="1").json["next_token"]
    assert token
    return product_id, token


def flip_a_character(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [flip_a_character, lambda t: t[:-2], lambda t: t + "AAAA", lambda t: "!!!", lambda t: "", lambda t: "x" * 1000],
)
def test_tampered_tokens_are_400(two_pages, tamper):
    product_id, token = two_pages

    response = list_reviews(product_id=product_id, limit="1", next_token=tamper(token))

    assert response.status == 400
    assert response.json["details"][0]["field"] == "next_token"


def test_a_token_from_another_listing_is_400(two_pages):
    _, token = two_pages

    assert list_reviews(product_id=new_id("sku"), next_token=token).status == 400
    assert list_reviews(reviewer_id=new_id("user"), next_token=token).status == 400


def test_a_forged_token_with_a_valid_checksum_cannot_leave_its_listing(two_pages):
    # The checksum is not secret, so position checks must hold on their own.
    from handlers.reviews.model import Listing, Position
    from handlers.reviews.tokens import encode_next_token

    product_id, _ = two_pages
    listing = Listing("product", product_id, 1)
    forged = encode_next_token(listing, Position("other-product", "01" + "0" * 24))
    internal = encode_next_token(listing, Position(product_id, "#SUMMARY"))

    for token in (forged, internal):
        assert list_reviews(product_id=product_id, next_token=token).status == 400


def test_token_is_url_safe_base64(two_pages):
    _, token = two_pages

    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
