"""The API as `make up` serves it, on the shared deployment (tests only read the stack): the key a
write needs, listings that page through every review by product and by reviewer, the rating
summary, and what unknown routes answer. Every test writes under ids of its own.
"""

import json

import pytest

from deploy.smoke import request
from handlers.reviews import contract
from tests.localaws.identity import claims_of, reviewer_token, writer_token

pytestmark = pytest.mark.emulator

ANONYMOUS = ""  # `by` for a write without a token


@pytest.fixture(scope="module")
def call(shared_deployment):
    """call(method, path, body=None, key="current", by=None) -> (status, parsed body); a write is
    signed in as the reviewer `by` (the tests' writer when None), unless `by` is ANONYMOUS."""

    def _call(method: str, path: str, body: dict | None = None, key: str | None = "current", by: str | None = None):
        headers = {contract.API_KEY_HEADER: shared_deployment.api_key() if key == "current" else key} if key else {}
        if method != "GET" and by != ANONYMOUS:
            token = reviewer_token(shared_deployment, by) if by else writer_token(shared_deployment)
            headers[contract.AUTHORIZATION_HEADER] = token
        status, text = request(method, shared_deployment.gateway.url + path, body, headers)
        return status, json.loads(text) if text else None

    return _call


def test_a_write_needs_a_signed_in_reviewer_and_the_api_key(call):
    review = {"product_id": "api-key-needed", "rating": 5}
    assert call("POST", "/reviews", review, by=ANONYMOUS) == (401, {"message": "Unauthorized"})
    assert call("POST", "/reviews", review, key=None) == (403, {"message": "Forbidden"})
    assert call("POST", "/reviews", review, key="not-the-key")[0] == 403
    status, created = call("POST", "/reviews", review, by="api-key-reviewer")
    assert status == 201 and created["rating"] == 5 and created["review_id"]
    assert created["reviewer_name"] == "api-key-reviewer"


def test_listings_page_through_every_review_by_product_and_by_reviewer(call, shared_deployment):
    product, reviewer = "api-listed", "api-lister-0"
    created = []
    for n in range(5):  # one review per reviewer and product: five reviewers
        status, review = call("POST", "/reviews", {"product_id": product, "rating": 1 + n % 5}, by=f"api-lister-{n}")
        assert status == 201
        created.append(review["review_id"])
        other_product = {"product_id": f"api-listed-other-{n}", "rating": 4}
        assert call("POST", "/reviews", other_product, by=reviewer)[0] == 201

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
    reviewer_id = claims_of(reviewer_token(shared_deployment, reviewer))[contract.REVIEWER_CLAIM]
    by_reviewer = walk(f"reviewer_id={reviewer_id}")
    assert len(by_reviewer) == len(set(by_reviewer)) == 6 and created[0] in by_reviewer


def test_rating_summary_counts_the_product_reviews(call):
    for n in range(5):
        assert call("POST", "/reviews", {"product_id": "api-rated", "rating": 1 + n}, by=f"rater-{n}")[0] == 201
    status, summary = call("GET", "/products/api-rated/rating")
    assert status == 200
    assert summary["review_count"] == 5 and summary["ratings"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}


def test_unknown_routes_and_methods_are_missing_authentication_token(call):
    assert call("GET", "/nothing-here") == (403, {"message": "Missing Authentication Token"})
    assert call("DELETE", "/reviews")[0] == 403
