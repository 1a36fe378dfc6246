"""The API as `make up` serves it, on the shared deployment (tests only read the stack): the key a
write needs, listings that page through every review by product and by reviewer, the rating
summary, and what unknown routes answer. Every test writes under ids of its own.
"""

import json

import pytest

from deploy.smoke import request
from handlers.reviews import contract
from tests.localaws.identity import writer_token

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def call(shared_deployment):
    """call(method, path, body=None, key="current") -> (status, parsed body); writes signed in."""

    def _call(method: str, path: str, body: dict | None = None, key: str | None = "current"):
        headers = {"x-api-key": shared_deployment.api_key() if key == "current" else key} if key else {}
        if method != "GET":
            headers[contract.AUTHORIZATION_HEADER] = writer_token(shared_deployment)
        status, text = request(method, shared_deployment.gateway.url + path, body, headers)
        return status, json.loads(text) if text else None

    return _call


def test_post_needs_the_api_key(call):
    review = {"product_id": "api-key-needed", "reviewer_id": "r-1", "rating": 5}
    assert call("POST", "/reviews", review, key=None) == (403, {"message": "Forbidden"})
    assert call("POST", "/reviews", review, key="not-the-key")[0] == 403
    status, created = call("POST", "/reviews", review)
    assert status == 201 and created["rating"] == 5 and created["review_id"]


def test_listings_page_through_every_review_by_product_and_by_reviewer(call):
    product, reviewer = "api-listed", "api-lister-0"
    created = []
    for n in range(5):
        listed = {"product_id": product, "reviewer_id": f"api-lister-{n}", "rating": 1 + n % 5}
        status, review = call("POST", "/reviews", listed)
        assert status == 201
        created.append(review["review_id"])
        other_product = {"product_id": f"api-listed-other-{n}", "reviewer_id": reviewer, "rating": 4}
        assert call("POST", "/reviews", other_product)[0] == 201

    def walk(query: str) -> list[str]:
        seen, token = [], None
        for _ in range(10):
            status, page = call("GET", f"/reviews?{query}&limit=2" + (f"&next_token={token}" if token else ""))
            assert status == 200 and len(page["reviews"]) <= 2
            seen += [review["review_id"] for review in page["reviews"]]
            token = page["next_token"]
            if not token:
                return seen
        pytest.fail("pagination did not end")

    assert walk(f"product_id={product}") == created[::-1]  # newest first
    by_reviewer = walk(f"reviewer_id={reviewer}")
    assert len(by_reviewer) == len(set(by_reviewer)) == 6 and created[0] in by_reviewer


def test_rating_summary_counts_the_product_reviews(call):
    for n in range(5):
        assert (
            call("POST", "/reviews", {"product_id": "api-rated", "reviewer_id": f"rater-{n}", "rating": 1 + n})[0]
            == 201
        )
    status, summary = call("GET", "/products/api-rated/rating")
    assert status == 200
    assert summary["review_count"] == 5 and summary["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}


def test_unknown_routes_and_methods_are_missing_authentication_token(call):
    assert call("GET", "/nothing-here") == (403, {"message": "Missing Authentication Token"})
    assert call("DELETE", "/reviews")[0] == 403
