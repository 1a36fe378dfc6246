"""Signed-in reviewers own their reviews, on the local stack: the real stack deployed into the
emulator, the local gateway enforcing its Cognito authorizer, the tokens issued by the
emulator's user pool to the demo reviewers `make up` creates (and to users made here).

On the shared deployment (its stage allows 1,000 requests a second, so only the authorizer and
the function decide the answers); every test writes products of its own.
"""

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from deploy.local_target import LocalTarget
from deploy.reviewers import DEMO_REVIEWERS, ensure_demo_reviewers, reviewers_text
from deploy.smoke import request
from handlers.reviews import contract
from tests.localaws.identity import (
    LocalPool,
    another_key,
    claims_of,
    create_user,
    create_user_pool,
    deployed_pool,
    hs256_with_public_key,
    sign,
    sign_in,
    unsigned,
)

pytestmark = pytest.mark.emulator

ORIGIN = "http://localhost:8081"
ADA, GRACE = (reviewer.email for reviewer in DEMO_REVIEWERS)


@dataclass
class Shop:
    target: LocalTarget
    pool: LocalPool
    api_key: str
    passwords: dict[str, str]  # e-mail -> password, of every user signed in here
    printed: list[str] = field(default_factory=list)  # what `make reviewers` printed
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def token(self, email: str, kind: str = "IdToken") -> str:
        if email not in self.tokens:
            self.tokens[email] = sign_in(self.pool, email, self.passwords[email])
        return self.tokens[email][kind]

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None, key: bool = True):
        """(status, parsed body) of a request to the stage, as the storefront sends it."""
        headers = {"Origin": ORIGIN}
        if token is not None:
            headers[contract.AUTHORIZATION_HEADER] = token
        if key:
            headers[contract.API_KEY_HEADER] = self.api_key
        status, text = request(method, self.target.gateway.url + path, body, headers)
        return status, json.loads(text) if text else None

    def post(self, email: str, product: str, rating: int, **fields) -> dict:
        status, review = self.call(
            "POST", "/reviews", {"product_id": product, "rating": rating, **fields}, self.token(email)
        )
        assert status == 201, review
        return review


def review_path(review: dict) -> str:
    return f"/products/{review['product_id']}/reviews/{review['review_id']}"


@pytest.fixture(scope="module")
def shop(shared_deployment) -> Shop:
    """The shared deployment (every test writes products of its own), with the demo reviewers'
    passwords as `make reviewers` sets and prints them."""
    printed = reviewers_text(shared_deployment)
    passwords = {r.email: printed.split(r.email, 1)[1].split()[0] for r in DEMO_REVIEWERS}
    shop = Shop(shared_deployment, deployed_pool(shared_deployment), shared_deployment.api_key(), passwords)
    shop.printed.append(printed)
    return shop


def test_a_reviewer_signs_in_posts_edits_deletes_and_posts_again(shop):
    posted = shop.post(ADA, "signed-in-kettle", 2, title="Slow")
    assert posted["reviewer_id"] == claims_of(shop.token(ADA))["sub"]

    status, edited = shop.call(
        "PATCH", review_path(posted), {"rating": 4, "title": "Fine after descaling"}, shop.token(ADA)
    )
    assert status == 200, edited
    assert (edited["rating"], edited["title"], edited["created_at"]) == (
        4,
        "Fine after descaling",
        posted["created_at"],
    )
    assert edited["updated_at"] >= posted["created_at"]

    status, _ = shop.call("DELETE", review_path(posted), token=shop.token(ADA))
    assert status == 204
    status, listed = shop.call("GET", "/reviews?product_id=signed-in-kettle")
    assert (status, listed["reviews"]) == (200, [])

    again = shop.post(ADA, "signed-in-kettle", 5, title="Bought another")  # the deletion freed the product
    status, listed = shop.call("GET", "/reviews?product_id=signed-in-kettle")
    assert [review["review_id"] for review in listed["reviews"]] == [again["review_id"]]


def test_another_reviewer_can_neither_edit_nor_delete_a_review(shop):
    posted = shop.post(ADA, "signed-in-teapot", 3, title="Mine")

    status, body = shop.call("PATCH", review_path(posted), {"rating": 1}, shop.token(GRACE))
    assert status == 403, body
    status, body = shop.call("DELETE", review_path(posted), token=shop.token(GRACE))
    assert status == 403, body

    status, listed = shop.call("GET", "/reviews?product_id=signed-in-teapot")
    assert [(r["review_id"], r["rating"], r["title"]) for r in listed["reviews"]] == [(posted["review_id"], 3, "Mine")]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_an_anonymous_write_is_401_and_the_page_can_read_it(shop, method):
    posted = shop.post(GRACE, f"signed-in-anonymous-{method.lower()}", 4)
    path = "/reviews" if method == "POST" else review_path(posted)
    body = {"product_id": "signed-in-anonymous", "rating": 1} if method == "POST" else None
    if method == "PATCH":
        body = {"rating": 1}

    status, answer = shop.call(method, path, body)
    assert (status, answer) == (401, {"message": "Unauthorized"})
    status, answer = shop.call(method, path, body, key=False)  # no key either: still the authorizer's 401
    assert (status, answer) == (401, {"message": "Unauthorized"})


def forgeries(shop: Shop) -> dict[str, str]:
    claims = claims_of(shop.token(ADA))
    other_pool = create_user_pool(shop.target.endpoint, "signed-in-elsewhere")
    now = int(time.time())
    return {
        "alg none": unsigned(claims),
        "HS256 keyed with the pool's public key": hs256_with_public_key(claims),
        "signed by another key": sign(claims, another_key()),
        "expired": sign({**claims, "iat": now - 7200, "exp": now - 3600}),
        "another pool's issuer": sign({**claims, "iss": other_pool.issuer}),
        "another pool's user": sign_in(other_pool, "mallory", create_user(other_pool, "mallory", {}))["IdToken"],
        "an access token": shop.token(ADA, "AccessToken"),
    }


def test_forged_tokens_are_401(shop):
    for name, token in forgeries(shop).items():
        status, answer = shop.call("POST", "/reviews", {"product_id": "signed-in-forged", "rating": 5}, token)
        assert status == 401, name
        assert answer["message"] in ("Unauthorized", "The incoming token has expired"), name
    status, listed = shop.call("GET", "/reviews?product_id=signed-in-forged")
    assert listed["reviews"] == []


def test_twenty_concurrent_edits_and_deletes_leave_the_rating_summary_exact(shop):
    product = "signed-in-concurrent"
    emails = [f"concurrent-{n}@example.com" for n in range(10)]
    for n, email in enumerate(emails):
        shop.passwords[email] = create_user(
            shop.pool, email, {"email": email, contract.DISPLAY_NAME_ATTRIBUTE: f"C{n}"}
        )
    reviews = {email: shop.post(email, product, n % 5 + 1) for n, email in enumerate(emails)}
    # The first five reviewers edit twice at once; the other five edit and delete at once.
    work: list[tuple[str, str, dict | None]]
    work = [("PATCH", email, {"rating": 5 - n % 5}) for n, email in enumerate(emails[:5]) for _ in range(2)]
    work += [
        (method, email, {"rating": 1} if method == "PATCH" else None)
        for email in emails[5:]
        for method in ("PATCH", "DELETE")
    ]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda op: shop.call(op[0], review_path(reviews[op[1]]), op[2], shop.token(op[1])), work)
        )

    assert all(status in (200, 204, 404) for status, _ in answers), answers  # 404: edited after the delete won
    assert sum(status == 204 for status, _ in answers) == 5
    status, listed = shop.call("GET", f"/reviews?product_id={product}&limit=100")
    assert sorted(r["reviewer_id"] for r in listed["reviews"]) == sorted(
        claims_of(shop.token(e))["sub"] for e in emails[:5]
    )
    status, summary = shop.call("GET", f"/products/{product}/rating")
    counts = Counter(r["rating"] for r in listed["reviews"])
    assert summary["review_count"] == len(listed["reviews"]) == 5
    assert summary["ratings"] == {str(r): counts.get(r, 0) for r in range(1, 6)}
    assert summary["average_rating"] == pytest.approx(sum(r["rating"] for r in listed["reviews"]) / 5)


def test_make_up_again_keeps_the_demo_reviewers_and_their_passwords(shop):
    assert ensure_demo_reviewers(shop.target.client("cognito-idp"), shop.pool.id) == []
    assert claims_of(sign_in(shop.pool, ADA, shop.passwords[ADA])["IdToken"])[contract.DISPLAY_NAME_ATTRIBUTE] == "Ada"


def test_the_demo_reviewers_passwords_are_in_no_file_or_log(shop):
    passwords = [shop.passwords[r.email] for r in DEMO_REVIEWERS]
    written = [
        path
        for folder in (".local", "cdktf.out", "build")
        for path in (shop.target.workspace.project_dir / folder).rglob("*")
        if path.is_file() and "providers" not in path.parts
    ]
    assert written
    for password in passwords:
        assert all(password in printed for printed in shop.printed)  # printed to the terminal, and only there
        for path in written:
            assert password.encode() not in path.read_bytes(), f"{path} holds a demo reviewer's password"
