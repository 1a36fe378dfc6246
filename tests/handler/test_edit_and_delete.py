"""A review's author edits or deletes it; anyone else gets 403, a missing review 404; everyone
can read one review. Reviews stored before sign-in stay readable."""

import pytest

import api_events
from api_client import invoke, new_id
from handlers.reviews.actions import next_update
from handlers.reviews.model import Review
from review_table import TABLE_NAME

MISSING_REVIEW_ID = "01JDQ3Z8M4X7V2K9T6B1N5R0CE"


def create(product, reviewer, **fields):
    response = invoke(api_events.post_review({"product_id": product, "rating": 4, **fields}, reviewer=reviewer))
    assert response.status == 201
    return response.json


def edit(product, review_id, body, reviewer):
    return invoke(api_events.patch_review(product, review_id, body, reviewer=reviewer))


def delete(product, review_id, reviewer):
    return invoke(api_events.delete_review(product, review_id, reviewer=reviewer))


def rating(product):
    return invoke(api_events.get_rating(product)).json


def test_the_author_edits_keeping_id_and_created_at_and_adding_updated_at(product_id, reviewer_id):
    created = create(product_id, reviewer_id, title="Fine", comment="Loud")

    response = edit(product_id, created["review_id"], {"rating": 2, "title": " Loud kettle "}, reviewer_id)

    assert response.status == 200
    edited = response.json
    assert edited == {**created, "rating": 2, "title": "Loud kettle", "updated_at": edited["updated_at"]}
    assert edited["updated_at"] > created["created_at"]
    assert invoke(api_events.get_review(product_id, created["review_id"])).json == edited


def test_absent_fields_stay_and_null_clears_title_and_comment(product_id, reviewer_id):
    created = create(product_id, reviewer_id, title="Fine", comment="Loud")

    edited = edit(product_id, created["review_id"], {"comment": None}, reviewer_id).json

    assert (edited["rating"], edited["title"], edited["comment"]) == (4, "Fine", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"rating": None}, "rating"),
        ({"rating": 6}, "rating"),
        ({"title": "  "}, "title"),
        ({"reviewer_id": "me"}, "reviewer_id"),
        ({"product_id": "sku-other"}, "product_id"),
        ({"created_at": "2020-01-01T00:00:00.000Z"}, "created_at"),
    ],
)
def test_an_edit_that_changes_nothing_or_something_it_may_not_is_400(product_id, reviewer_id, body, field):
    created = create(product_id, reviewer_id)

    response = edit(product_id, created["review_id"], body, reviewer_id)

    assert response.status == 400
    assert field in [detail["field"] for detail in response.json["details"]]
    assert invoke(api_events.get_review(product_id, created["review_id"])).json == created


def test_an_edited_rating_moves_in_the_summary(product_id, reviewer_id):
    created = create(product_id, reviewer_id, rating=5)
    create(product_id, new_id("user"), rating=3)

    edit(product_id, created["review_id"], {"rating": 1}, reviewer_id)

    assert rating(product_id) == {
        "product_id": product_id,
        "review_count": 2,
        "average_rating": 2.0,
        "ratings": {"1": 1, "2": 0, "3": 1, "4": 0, "5": 0},
    }


def test_an_edit_shows_the_authors_current_display_name(product_id, reviewer_id):
    created = create(product_id, reviewer_id)
    event = api_events.patch_review(product_id, created["review_id"], {"rating": 3}, reviewer=reviewer_id)

    edited = invoke(api_events.signed_in_as(event, reviewer_id, name="Renamed")).json

    assert edited["reviewer_name"] == "Renamed"


def test_nobody_else_may_edit_or_delete_a_review(product_id, reviewer_id):
    created = create(product_id, reviewer_id, rating=5)
    before = rating(product_id)
    stranger = new_id("user")

    edited = edit(product_id, created["review_id"], {"rating": 1}, stranger)
    deleted = delete(product_id, created["review_id"], stranger)

    assert (edited.status, deleted.status) == (403, 403)
    assert edited.json == {
        "error": "not_the_author",
        "message": "Only the review's author can change or delete it.",
        "details": [],
    }
    assert invoke(api_events.get_review(product_id, created["review_id"])).json == created
    assert rating(product_id) == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_missing_review_is_404(product_id, reviewer_id, method):
    elsewhere = create(new_id("sku"), reviewer_id)
    for review_id in (MISSING_REVIEW_ID, elsewhere["review_id"]):  # the id exists, under another product
        event = api_events.patch_review(product_id, review_id, {"rating": 3}, reviewer=reviewer_id)
        response = invoke(api_events.with_method(event, method))

        assert response.status == 404
        assert response.json["error"] == "review_not_found"


@pytest.mark.parametrize("review_id", ["not-a-ulid", "#SUMMARY", "#REVIEWER#user-1", "81JDQ3Z8M4X7V2K9T6B1N5R0CE"])
def test_a_malformed_review_id_is_400(product_id, review_id):
    response = invoke(api_events.get_review(product_id, review_id))

    assert response.status == 400
    assert response.json["details"][0]["field"] == "review_id"


def test_delete_takes_the_review_out_of_summary_and_listings_and_frees_the_reviewer(product_id, reviewer_id):
    created = create(product_id, reviewer_id, rating=5)

    response = delete(product_id, created["review_id"], reviewer_id)

    assert response.status == 204 and response.raw["body"] == ""
    assert rating(product_id)["review_count"] == 0
    assert invoke(api_events.get_reviews({"product_id": product_id})).json["reviews"] == []
    assert invoke(api_events.get_reviews({"reviewer_id": reviewer_id})).json["reviews"] == []
    assert delete(product_id, created["review_id"], reviewer_id).status == 404
    # One review per reviewer and product: deleting it lets the reviewer review the product again.
    again = create(product_id, reviewer_id, rating=2)
    assert again["review_id"] != created["review_id"]
    assert rating(product_id)["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}


def test_listings_stay_newest_first_by_creation_after_edits(product_id):
    reviews = [create(product_id, new_id("user")) for _ in range(3)]

    edit(product_id, reviews[0]["review_id"], {"title": "Edited last"}, reviews[0]["reviewer_id"])

    listed = invoke(api_events.get_reviews({"product_id": product_id})).json["reviews"]
    assert [r["review_id"] for r in listed] == [r["review_id"] for r in reversed(reviews)]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_change_without_the_authorizers_claims_is_401(product_id, reviewer_id, method):
    created = create(product_id, reviewer_id)
    event = api_events.patch_review(product_id, created["review_id"], {"rating": 1}, reviewer=reviewer_id)

    response = invoke(api_events.without_authorizer(api_events.with_method(event, method)))

    assert response.status == 401
    assert invoke(api_events.get_review(product_id, created["review_id"])).json == created


def test_reviews_stored_before_sign_in_stay_readable_and_nobody_can_claim_them(dynamodb, product_id):
    # Day two: a review as the handler stored it before reviewers signed in, its reviewer_id
    # taken from the body, with no display name and no updated_at.
    legacy = {"product_id": product_id, "review_id": "01JDQ3Y1A2B3C4D5E6F7G8H9JK", "reviewer_id": "user-42"}
    item = {name: {"S": value} for name, value in legacy.items()}
    dynamodb.put_item(
        TableName=TABLE_NAME,
        Item={**item, "rating": {"N": "3"}, "title": {"S": "Old"}, "created_at": {"S": "2025-11-26T23:30:10.123Z"}},
    )
    expected = {
        **legacy,
        "reviewer_name": None,
        "rating": 3,
        "title": "Old",
        "comment": None,
        "created_at": "2025-11-26T23:30:10.123Z",
        "updated_at": None,
    }

    assert invoke(api_events.get_review(product_id, legacy["review_id"])).json == expected
    assert invoke(api_events.get_reviews({"product_id": product_id})).json["reviews"] == [expected]
    assert invoke(api_events.get_reviews({"reviewer_id": "user-42"})).json["reviews"][-1] == expected
    # Its reviewer_id was whatever the body said: no signed-in reviewer is its author.
    assert edit(product_id, legacy["review_id"], {"rating": 1}, new_id("user")).status == 403


def test_every_edit_is_later_than_the_one_before_even_when_a_clock_lags():
    review = Review("p", "r", "u", "U", 3, None, None, "2025-11-26T23:30:10.123Z", "2025-11-26T23:40:00.500Z")

    assert next_update(review, now_ms=0) == "2025-11-26T23:40:00.501Z"  # a clock far behind
    assert next_update(review, now_ms=1764200400500) == "2025-11-26T23:40:00.501Z"  # the same millisecond
    assert next_update(review, now_ms=1764200401000) == "2025-11-26T23:40:01.000Z"
    assert next_update(Review("p", "r", "u", "U", 3, None, None, "x", None), now_ms=5) == "1970-01-01T00:00:00.005Z"
