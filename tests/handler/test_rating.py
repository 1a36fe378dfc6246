"""GET /products/{product_id}/rating: the summary kept in step with every review."""

import pytest

import api_events
from api_client import invoke, new_id


def test_rating_summary_counts_each_star(product_id):
    for rating in (5, 5, 4, 1):
        invoke(api_events.post_review({"product_id": product_id, "rating": rating}, reviewer=new_id("user")))

    response = invoke(api_events.get_rating(product_id))

    assert response.status == 200
    assert response.json == {
        "product_id": product_id,
        "review_count": 4,
        "average_rating": 3.75,
        "ratings": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 2},
    }


def test_average_is_rounded_to_two_decimals(product_id):
    for rating in (5, 4, 4):
        invoke(api_events.post_review({"product_id": product_id, "rating": rating}, reviewer=new_id("user")))

    assert invoke(api_events.get_rating(product_id)).json["average_rating"] == 4.33


def test_product_without_reviews_has_zero_counts_and_null_average(product_id):
    response = invoke(api_events.get_rating(product_id))

    assert response.status == 200
    assert response.json == {
        "product_id": product_id,
        "review_count": 0,
        "average_rating": None,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }


def test_rejected_reviews_do_not_change_the_summary(product_id, reviewer_id):
    invoke(api_events.post_review({"product_id": product_id, "rating": 2}, reviewer=reviewer_id))
    invoke(api_events.post_review({"product_id": product_id, "rating": 5}, reviewer=reviewer_id))

    assert invoke(api_events.get_rating(product_id)).json["review_count"] == 1


@pytest.mark.parametrize("bad", ["#SUMMARY", "a b", "x" * 65, ""])
def test_invalid_product_id_in_path_is_400(bad):
    assert invoke(api_events.get_rating(bad)).status == 400


def test_null_path_parameters_are_400():
    event = api_events.get_rating("p")
    event["pathParameters"] = None

    assert invoke(event).status == 400
