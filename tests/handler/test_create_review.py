"""POST /reviews: the signed-in reviewer, validation, one review per reviewer and product,
idempotent retries."""

import re
import time

import pytest

import api_events
from api_client import invoke, new_id

ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def review(product, **fields):
    return {"product_id": product, "rating": 4, **fields}


def post(body, reviewer, **options):
    return invoke(api_events.post_review(body, reviewer=reviewer, **options))


def test_created_review_is_returned_with_a_time_ordered_id_and_utc_timestamp(product_id, reviewer_id):
    response = post(review(product_id, title=" Nice ", comment="Works."), reviewer_id)

    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json"
    body = response.json
    assert ULID.fullmatch(body.pop("review_id"))
    assert ISO_UTC.fullmatch(body.pop("created_at"))
    assert body == {
        "product_id": product_id,
        # Who wrote it is the signed-in reviewer: the token's subject and display name.
        "reviewer_id": reviewer_id,
        "reviewer_name": api_events.display_name(reviewer_id),
        "rating": 4,
        "title": "Nice",
        "comment": "Works.",
        "updated_at": None,
    }


def test_the_display_name_comes_trimmed_from_the_token_never_from_the_e_mail(product_id, reviewer_id):
    event = api_events.signed_in_as(api_events.post_review(review(product_id)), reviewer_id, name="  Kettle Fan ")
    event["requestContext"]["authorizer"]["claims"]["email"] = "fan@example.com"

    response = invoke(event)

    assert response.status == 201 and response.json["reviewer_name"] == "Kettle Fan"
    assert "fan@example.com" not in response.raw["body"]


def test_a_body_that_names_a_reviewer_is_400_the_reviewer_is_who_signed_in(product_id, reviewer_id):
    response = post(review(product_id, reviewer_id="someone-else"), reviewer_id)

    assert response.status == 400
    assert response.json["details"] == [
        {"field": "reviewer_id", "message": "is not accepted: the reviewer is the signed-in user"}
    ]
    assert invoke(api_events.get_rating(product_id)).json["review_count"] == 0


def test_a_write_without_the_authorizers_claims_is_401_never_a_500(capsys, product_id):
    event = api_events.without_authorizer(api_events.post_review(review(product_id)))

    response = invoke(event)

    assert response.status == 401
    assert response.json == {
        "error": "unauthorized",
        "message": "This request needs a signed-in reviewer.",
        "details": [],
    }
    # A write no authorizer vouched for means the stage is misconfigured: it is logged as a fault.
    assert '"message":"the request carries no authorizer claims"' in capsys.readouterr().out
    assert invoke(api_events.get_rating(product_id)).json["review_count"] == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": None},
        {"sub": ""},
        {"sub": "has#hash"},
        {"nickname": None},
        {"nickname": "   "},
        {"nickname": "n" * 65},
        {"nickname": "new\nline"},
    ],
)
def test_claims_without_a_usable_subject_or_display_name_are_401(product_id, claims):
    event = api_events.post_review(review(product_id))
    found = event["requestContext"]["authorizer"]["claims"]
    for name, value in claims.items():
        if value is None:
            del found[name]
        else:
            found[name] = value

    assert invoke(event).status == 401


def test_title_and_comment_are_optional_and_returned_as_null(product_id, reviewer_id):
    response = post(review(product_id, title=None), reviewer_id)

    assert response.status == 201
    assert response.json["title"] is None and response.json["comment"] is None


def test_rating_is_a_json_integer_and_integral_floats_count(product_id, reviewer_id):
    response = post(review(product_id, rating=5.0), reviewer_id)

    assert response.status == 201
    assert response.json["rating"] == 5 and type(response.json["rating"]) is int


def test_review_ids_sort_by_creation_time(product_id):
    ids = [post(review(product_id), new_id("user")).json["review_id"] for _ in range(5)]

    assert ids == sorted(ids) and len(set(ids)) == 5


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"rating": 4.5}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": None}, "rating"),
        ({"product_id": ""}, "product_id"),
        ({"product_id": "   "}, "product_id"),
        ({"product_id": "#SUMMARY"}, "product_id"),
        ({"product_id": "a" * 65}, "product_id"),
        ({"product_id": 123}, "product_id"),
        ({"reviewer_id": None}, "reviewer_id"),
        ({"reviewer_name": "Someone"}, "reviewer_name"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"comment": "c" * 4001}, "comment"),
        ({"comment": "\ud800"}, "comment"),
        ({"verified": True}, "verified"),
    ],
)
def test_invalid_fields_are_rejected_with_a_detail_naming_the_field(product_id, reviewer_id, fields, bad_field):
    response = post(review(product_id, **fields), reviewer_id)

    assert response.status == 400
    assert response.json["error"] == "bad_request"
    assert bad_field in [detail["field"] for detail in response.json["details"]]


def test_missing_required_fields_are_all_reported():
    response = invoke(api_events.post_review({}))

    assert response.status == 400
    assert {d["field"] for d in response.json["details"]} == {"product_id", "rating"}


def test_text_limits_are_inclusive(product_id, reviewer_id):
    response = post(review(product_id, title="t" * 200, comment="c" * 4000), reviewer_id)

    assert response.status == 201


@pytest.mark.parametrize("body", ["{not json", "null", "[]", '"text"', "42", "", '{"rating": NaN}'])
def test_bodies_that_are_not_a_json_object_are_400(body):
    response = invoke(api_events.post_review(body, raw=True))

    assert response.status == 400
    assert response.json["error"] == "invalid_json"


def test_null_body_is_400():
    event = api_events.post_review({})
    event["body"] = None

    assert invoke(event).status == 400


def test_a_second_review_by_the_same_reviewer_is_409_naming_the_first(product_id, reviewer_id):
    first = post(review(product_id), reviewer_id)
    second = post(review(product_id, rating=1), reviewer_id)

    assert second.status == 409
    assert second.json["error"] == "review_exists"
    assert second.json["details"][0]["review_id"] == first.json["review_id"]


def test_the_same_reviewer_may_review_other_products(product_id, reviewer_id):
    post(review(product_id), reviewer_id)

    assert post(review(new_id("sku")), reviewer_id).status == 201


def test_retry_with_the_same_idempotency_key_replays_the_original_response(product_id, reviewer_id):
    key = new_id("idem")
    first = post(review(product_id), reviewer_id, idempotency_key=key)
    # Same request, different key order and whitespace: still the same request.
    retry = post(f'{{ "rating": 4, "product_id": "{product_id}" }}', reviewer_id, raw=True, idempotency_key=key)

    assert first.status == retry.status == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    rating = invoke(api_events.get_rating(product_id)).json
    assert rating["review_count"] == 1


def test_idempotency_key_header_is_case_insensitive_and_read_from_multi_value_headers(product_id, reviewer_id):
    key = new_id("idem")
    first = api_events.post_review(review(product_id), reviewer=reviewer_id)
    first["multiValueHeaders"]["idempotency-key"] = [key]
    retry = api_events.post_review(review(product_id), reviewer=reviewer_id)
    retry["headers"]["IDEMPOTENCY-KEY"] = key

    assert invoke(first).status == 201
    assert invoke(retry).headers.get("Idempotent-Replayed") == "true"


def test_reusing_an_idempotency_key_for_a_different_request_is_422(product_id, reviewer_id):
    key = new_id("idem")
    post(review(product_id), reviewer_id, idempotency_key=key)
    response = post(review(product_id, rating=2), reviewer_id, idempotency_key=key)

    assert response.status == 422
    assert response.json["error"] == "idempotency_key_reused"


def test_a_new_idempotency_key_does_not_bypass_one_review_per_reviewer(product_id, reviewer_id):
    post(review(product_id), reviewer_id, idempotency_key=new_id("a"))

    assert post(review(product_id), reviewer_id, idempotency_key=new_id("b")).status == 409


def test_another_reviewers_identical_key_neither_replays_nor_blocks_their_review(product_id):
    key, alice, bob = new_id("idem"), new_id("alice"), new_id("bob")
    alices = post(review(product_id), alice, idempotency_key=key)
    # Bob's request is byte for byte Alice's, with her key: it is Bob's own review.
    bobs = post(review(product_id), bob, idempotency_key=key)

    assert (alices.status, bobs.status) == (201, 201)
    assert "Idempotent-Replayed" not in bobs.headers
    assert (bobs.json["reviewer_id"], bobs.json["review_id"]) != (alice, alices.json["review_id"])
    # Each key still replays its owner's review.
    assert post(review(product_id), alice, idempotency_key=key).json == alices.json
    assert post(review(product_id), bob, idempotency_key=key).json == bobs.json
    assert invoke(api_events.get_rating(product_id)).json["review_count"] == 2


@pytest.mark.parametrize("key", ["", "has space", "k" * 129, "ключ"])
def test_malformed_idempotency_keys_are_400(product_id, reviewer_id, key):
    response = post(review(product_id), reviewer_id, idempotency_key=key)

    assert response.status == 400
    assert response.json["details"][0]["field"] == "Idempotency-Key"


def test_conflicting_idempotency_key_values_are_400(product_id, reviewer_id):
    event = api_events.post_review(review(product_id), reviewer=reviewer_id)
    event["multiValueHeaders"]["Idempotency-Key"] = ["one", "two"]

    assert invoke(event).status == 400


def test_idempotency_record_expires_after_24_hours(dynamodb, product_id, reviewer_id):
    key = new_id("idem")
    post(review(product_id), reviewer_id, idempotency_key=key)

    record_key = {"product_id": {"S": f"#IDEMPOTENCY#{reviewer_id}#{key}"}, "review_id": {"S": "#IDEMPOTENCY"}}
    item = dynamodb.get_item(TableName="reviews-test", Key=record_key)["Item"]
    assert abs(int(item["expires_at"]["N"]) - (time.time() + 24 * 3600)) < 60
    assert "reviewer_id" not in item


def test_internal_items_never_carry_reviewer_id_so_the_index_holds_only_reviews(dynamodb, product_id, reviewer_id):
    post(review(product_id), reviewer_id, idempotency_key=new_id("idem"))

    items = dynamodb.query(
        TableName="reviews-test",
        KeyConditionExpression="product_id = :p",
        ExpressionAttributeValues={":p": {"S": product_id}},
    )["Items"]
    internal = [item for item in items if item["review_id"]["S"].startswith("#")]
    assert {item["review_id"]["S"] for item in internal} == {"#SUMMARY", f"#REVIEWER#{reviewer_id}"}
    assert all("reviewer_id" not in item for item in internal)


def test_non_json_content_type_is_415(product_id, reviewer_id):
    event = api_events.with_headers(
        api_events.post_review(review(product_id), reviewer=reviewer_id), Content_Type="text/plain"
    )

    assert invoke(event).status == 415


def test_json_content_type_with_charset_and_missing_content_type_are_accepted(product_id):
    with_charset = api_events.with_headers(
        api_events.post_review(review(product_id), reviewer=new_id("u")), Content_Type="application/json; charset=utf-8"
    )
    without = api_events.with_headers(
        api_events.post_review(review(product_id), reviewer=new_id("u")), Content_Type=None
    )

    assert invoke(with_charset).status == 201
    assert invoke(without).status == 201
