"""A real browser on the storefront demo page that `make up` serves from a second origin: a
demo reviewer signs in to the emulator's user pool, and posts, edits and deletes their own
reviews; the page sees every answer of the API and of Cognito, the gateway's own (401, 403,
429) included, with its status and body, and never a CORS error.

Debian's Chromium, driven by Playwright, against one deployment (tests.deployments.serving, from a
copy of the project: its own environment, free ports and logs) whose CORS origins are the
storefront's alone and whose stage throttling (1 request/s, burst 2) a few clicks exceed. Each
test opens the page in a fresh browser context (its own preflight cache, signed out) and
checks what the browser's network and console saw.

STOREFRONT_SCREENSHOT=docs/images/storefront.png writes the screenshot docs/storefront.md shows.
"""

import os
import re
import shutil
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from deploy.local_target import LocalTarget
from deploy.reviewers import DEMO_REVIEWERS, reviewer_passwords
from deploy.smoke import request
from handlers.reviews import contract
from tests.deployments import disposable_settings, serving
from tests.localaws.identity import deployed_pool, sign_in
from tests.support import copy_project

pytestmark = pytest.mark.emulator

THROTTLE_RATE, THROTTLE_BURST = 1, 2
# The flags Chromium needs here (no sandbox as root, no GPU, no calls to Google's services on a
# closed network). Playwright starts it with a new, empty profile (--user-data-dir) each time.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
ADA, GRACE = DEMO_REVIEWERS
# Reviews seeded straight through the API (not the page), by each demo reviewer in turn.
SEEDED_REVIEWS = [
    {"rating": 5, "title": "Boils in two minutes", "comment": "Quiet, too."},
    {"rating": 3, "title": "Fine", "comment": "The lid sticks a little."},
]
# How Chromium's console reports an answer of 400 or more that the page may read (CORS refusals
# and failed connections read differently).
ERROR_STATUS_IN_CONSOLE = re.compile(r"error: Failed to load resource: the server responded with a status of (\d{3}) ")

Answer = tuple[str, str, int]  # method, path below the API URL (or "Cognito <operation>"), status
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[LocalTarget]:
    disposable = disposable_settings("storefront")
    settings = {
        **os.environ,
        **disposable,
        "REVIEWS_CORS_ORIGINS": f"http://localhost:{disposable['REVIEWS_STOREFRONT_PORT']}",
        "REVIEWS_THROTTLE_RATE": str(THROTTLE_RATE),
        "REVIEWS_THROTTLE_BURST": str(THROTTLE_BURST),
    }
    target = LocalTarget.load(settings, project_dir=copy_project(tmp_path_factory.mktemp("project")))
    with serving(target):  # stops the storefront, gateway and emulator afterwards
        yield target


@pytest.fixture(scope="module")
def passwords(deployed) -> dict[str, str]:
    """The demo reviewers' passwords, by e-mail, as `make reviewers` sets them."""
    return reviewer_passwords(deployed)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed. `make test` installs Debian's chromium package "
            "(apt-get install -y chromium, as root); install it and run the test again."
        )
    expect.set_options(timeout=TIMEOUT_MS)  # for every expect(...) here; the default is 5 s
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """The storefront in one browser context, and what the browser's network and console saw."""

    page: Page
    api_url: str
    answers: list[Answer] = field(default_factory=list)  # every fetch that got an answer
    failed: list[str] = field(default_factory=list)  # fetches that got none: refused by CORS, or no connection
    preflights: list[tuple[str, int]] = field(default_factory=list)  # (URL, status) of CORS preflights
    console: list[str] = field(default_factory=list)

    def listen(self) -> None:
        page = self.page
        page.on("response", self._on_response)
        page.on(
            "requestfailed", lambda request: self.failed.append(f"{request.method} {request.url}: {request.failure}")
        )
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        # Playwright's request events leave CORS preflights out; Chromium's own network events have them.
        network = page.context.new_cdp_session(page)
        network.on("Network.responseReceived", self._on_network_response)
        network.send("Network.enable")

    def _on_response(self, response: Response) -> None:
        request = response.request
        if request.resource_type != "fetch":
            return
        target = request.headers.get("x-amz-target", "")
        path = (
            f"Cognito {target.removeprefix(COGNITO_TARGET_PREFIX)}"
            if target
            else response.url.removeprefix(self.api_url)
        )
        self.answers.append((request.method, path, response.status))

    def _on_network_response(self, event: dict) -> None:
        if event["type"] == "Preflight":
            self.preflights.append((event["response"]["url"], event["response"]["status"]))

    def sign_in(self, email: str, password: str) -> None:
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("#sign-in-form button")

    def write_review(self, rating: int, title: str = "", *, send_key: bool = True) -> None:
        """Posts a review, or saves the one being edited."""
        self.page.select_option("#rating-input", str(rating))
        self.page.fill("#title", title)
        self.page.set_checked("#send-key", send_key)
        self.page.click("#save-review")

    @staticmethod
    def pause() -> None:
        """Lets the stage's token buckets refill one request (each write reloads the listing)."""
        time.sleep(1 / THROTTLE_RATE + 0.1)

    def api_preflights(self) -> list[tuple[str, int]]:
        return [(url, status) for url, status in self.preflights if url.startswith(self.api_url)]

    def wait_for_answers(self, count: int) -> None:
        expect(self.page.locator("#answers li")).to_have_count(count)

    def checked_answers(self) -> Counter[Answer]:
        """Every answer the page got, once it is checked that each reached the page: no fetch
        was refused (CORS) or failed, the console reports no more than the answers' error
        statuses, and the page lists each answer with its status."""
        assert self.failed == [], (
            f"fetches without an answer (refused by CORS, or no connection); console: {self.console}"
        )
        unexpected = [line for line in self.console if not self._reports_an_error_answer(line)]
        assert unexpected == [], "the browser console reports more than the answers' statuses"
        shown = [
            (*entry.locator("code").inner_text().split(" ", 1), int(entry.locator(".status").inner_text().split()[0]))
            for entry in self.page.locator("#answers li").all()
        ]
        assert Counter(shown) == Counter(self.answers), "the page does not list every answer"
        return Counter(self.answers)

    def _reports_an_error_answer(self, line: str) -> bool:
        reported = ERROR_STATUS_IN_CONSOLE.match(line)
        return reported is not None and int(reported[1]) in {status for _, _, status in self.answers if status >= 400}


@pytest.fixture
def open_storefront(deployed, browser) -> Iterator[Callable[[str], Visit]]:
    """open_storefront(product) -> Visit: the page, in a fresh browser context, once both its
    calls (the product's rating and reviews) were answered and the page showed the answers."""
    contexts = []

    def _open(product: str) -> Visit:
        full_buckets(deployed)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(context)
        visit = Visit(context.new_page(), deployed.gateway.url)
        visit.listen()
        visit.page.goto(f"{deployed.config.target.storefront_origin}/?product={product}")
        visit.wait_for_answers(2)
        assert visit.checked_answers() == loading(product)
        return visit

    try:
        yield _open
    finally:
        for context in contexts:
            context.close()


def full_buckets(deployed: LocalTarget) -> None:
    """A gateway started afresh (the same port and stage): its throttling buckets start full, so
    that only the burst test is throttled. Returns once the new gateway answers."""
    deployed.gateway.start()


def seed(deployed: LocalTarget, passwords: dict[str, str], product: str) -> None:
    """SEEDED_REVIEWS for `product`, posted straight to the API (not through the page), the
    first by Ada and the second by Grace."""
    full_buckets(deployed)
    key = deployed.api_key()
    for reviewer, review in zip((ADA, GRACE), SEEDED_REVIEWS, strict=True):
        token = sign_in(deployed_pool(deployed), reviewer.email, passwords[reviewer.email])["IdToken"]
        headers = {contract.API_KEY_HEADER: key, contract.AUTHORIZATION_HEADER: token}
        posted = {"product_id": product, **review}
        status, body = request("POST", f"{deployed.gateway.url}/reviews", posted, headers)
        assert status == 201, body


def loading(product: str, times: int = 1) -> Counter[Answer]:
    """The answers of the page (re)loading the product `times` times."""
    return Counter(
        {
            ("GET", f"/products/{product}/rating", 200): times,
            ("GET", f"/reviews?product_id={product}&limit=20", 200): times,
        }
    )


def writes(answers: Counter[Answer]) -> Counter[tuple[str, int]]:
    """(method, status) of the page's writes to the API."""
    return Counter(
        {(method, status): n for (method, path, status), n in answers.items() if method != "GET" and path[0] == "/"}
    )


def cognito(operation: str, status: int = 200) -> Counter[Answer]:
    return Counter({("POST", f"Cognito {operation}", status): 1})


def test_the_page_shows_the_products_rating_and_reviews(deployed, passwords, open_storefront):
    seed(deployed, passwords, "storefront-kettle")

    visit = open_storefront("storefront-kettle")

    page = visit.page
    expect(page.locator("#rating-average")).to_have_text("★★★★☆ 4.0 out of 5 · 2 reviews")
    expect(page.locator("#rating-histogram tr")).to_have_text(["5 ★1", "4 ★0", "3 ★1", "2 ★0", "1 ★0"])
    expect(page.locator("#reviews h3")).to_have_text(["Fine", "Boils in two minutes"])  # newest first
    expect(page.locator("#reviews .meta")).to_contain_text(["by Grace", "by Ada"])
    expect(page.locator("#reviews-section .status")).to_have_text("200 OK")
    expect(page.locator("#sign-in-form")).to_be_visible()
    expect(page.locator("#reviews button")).to_have_count(0)  # signed out: nothing to edit


def test_a_reviewer_signs_in_posts_edits_deletes_and_posts_again(deployed, passwords, open_storefront, tmp_path):
    seed(deployed, passwords, "storefront-teapot")  # Ada's and Grace's
    visit = open_storefront("storefront-teapot")
    page = visit.page
    visit.sign_in(ADA.email, passwords[ADA.email])
    expect(page.locator("#display-name")).to_have_text(ADA.display_name)
    own = page.locator("#reviews li.own")
    expect(own).to_have_count(1)  # Ada's seeded review: Edit and Delete on it, on no other
    expect(page.locator("#reviews button")).to_have_text(["Edit", "Delete"])

    own.locator("button", has_text="Delete").click()
    expect(page.locator("#post-section .status")).to_have_text("204 No Content")
    expect(page.locator("#rating-average")).to_contain_text("1 review")
    visit.pause()
    visit.write_review(4, "Pours without dripping")
    expect(page.locator("#post-section .status")).to_have_text("201 Created")
    expect(page.locator("#reviews h3").first).to_have_text("Pours without dripping")
    visit.pause()
    own.locator("button", has_text="Edit").click()
    expect(page.locator("#save-review")).to_have_text("Save changes")
    visit.write_review(2, "Drips after a week")
    expect(page.locator("#post-section .status")).to_have_text("200 OK")
    expect(own.locator("h3")).to_have_text("Drips after a week")
    expect(own.locator(".meta")).to_contain_text("edited")
    # Grace's 3 and Ada's edited 2: the page rounds 2.5 up (Math.round) to three stars.
    expect(page.locator("#rating-average")).to_have_text("★★★☆☆ 2.5 out of 5 · 2 reviews")
    visit.wait_for_answers(2 + 1 + 3 * 3)  # open, sign in, then each write and its reload

    answers = visit.checked_answers()
    assert writes(answers) == Counter({("DELETE", 204): 1, ("POST", 201): 1, ("PATCH", 200): 1})
    assert answers == loading("storefront-teapot", 4) + cognito("InitiateAuth") + Counter(
        {answer: 1 for answer in answers if answer[0] != "GET" and answer[1][0] == "/"}
    )
    assert visit.api_preflights() and all(status == 204 for _, status in visit.api_preflights())
    screenshot = Path(os.environ.get("STOREFRONT_SCREENSHOT") or tmp_path / "storefront.png")
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_a_signed_out_write_shows_401_and_a_keyless_one_403(passwords, open_storefront):
    visit = open_storefront("storefront-mug")
    page = visit.page

    visit.write_review(5, "Posted signed out")
    expect(page.locator("#post-section .status")).to_have_text("401 Unauthorized")
    expect(page.locator("#post-section .body")).to_have_text('{"message":"Unauthorized"}')
    visit.sign_in(GRACE.email, passwords[GRACE.email])
    expect(page.locator("#display-name")).to_have_text(GRACE.display_name)
    visit.pause()
    visit.write_review(1, "Posted without the key", send_key=False)
    expect(page.locator("#post-section .status")).to_have_text("403 Forbidden")
    expect(page.locator("#post-section .body")).to_have_text('{"message":"Forbidden"}')
    visit.wait_for_answers(5)

    answers = visit.checked_answers()
    assert answers == loading("storefront-mug") + cognito("InitiateAuth") + Counter(
        {("POST", "/reviews", 401): 1, ("POST", "/reviews", 403): 1}
    )
    assert visit.api_preflights() and all(status == 204 for _, status in visit.api_preflights())


def test_a_second_review_by_the_same_reviewer_shows_409_with_its_body(passwords, open_storefront):
    visit = open_storefront("storefront-cup")
    page = visit.page
    visit.sign_in(GRACE.email, passwords[GRACE.email])
    expect(page.locator("#display-name")).to_have_text(GRACE.display_name)  # the token is in the page

    visit.write_review(5, "Keeps it hot")
    expect(page.locator("#post-section .status")).to_have_text("201 Created")
    visit.wait_for_answers(6)
    visit.pause()
    visit.write_review(2, "Changed my mind")
    expect(page.locator("#post-section .status")).to_have_text("409 Conflict")
    expect(page.locator("#post-section .body")).to_contain_text('"error":"review_exists"')
    visit.wait_for_answers(7)

    assert visit.checked_answers() == loading("storefront-cup", 2) + cognito("InitiateAuth") + Counter(
        {("POST", "/reviews", 201): 1, ("POST", "/reviews", 409): 1}
    )


def test_a_wrong_password_shows_cognitos_answer_and_signing_out_hides_the_edit_buttons(passwords, open_storefront):
    visit = open_storefront("storefront-spoon")
    page = visit.page

    visit.sign_in(ADA.email, "not-the-password-1A")
    # Cognito's reason phrase: "Bad Request" on AWS, "BAD REQUEST" from the emulator (werkzeug).
    expect(page.locator("#identity-section .status")).to_have_text(re.compile("^400 Bad Request$", re.IGNORECASE))
    expect(page.locator("#identity-section .body")).to_contain_text("NotAuthorizedException")
    expect(page.locator("#sign-in-form")).to_be_visible()
    visit.sign_in(ADA.email, passwords[ADA.email])
    expect(page.locator("#signed-in")).to_be_visible()
    visit.write_review(3, "Fine")
    expect(page.locator("#reviews li.own button")).to_have_text(["Edit", "Delete"])
    page.click("#sign-out")
    expect(page.locator("#sign-in-form")).to_be_visible()
    expect(page.locator("#reviews button")).to_have_count(0)
    visit.wait_for_answers(8)

    answers = visit.checked_answers()
    assert answers & Counter({("POST", "Cognito InitiateAuth", 400): 1, ("POST", "Cognito GlobalSignOut", 200): 1}) == (
        Counter({("POST", "Cognito InitiateAuth", 400): 1, ("POST", "Cognito GlobalSignOut", 200): 1})
    )
    assert page.locator("#answers").inner_text().count("tokens kept in this page only") == 2  # never the tokens


def test_a_burst_of_reloads_shows_429_with_its_body(open_storefront):
    visit = open_storefront("storefront-chair")
    page = visit.page
    clicks = 6  # 12 requests against buckets of 2 that refill at 1 a second

    for _ in range(clicks):
        page.click("#refresh")
    visit.wait_for_answers(2 + 2 * clicks)

    answers = visit.checked_answers()
    assert {(method, path) for method, path, _ in answers} == {
        (method, path) for method, path, _ in loading("storefront-chair")
    }
    assert {status for _, _, status in answers} == {200, 429}
    throttled = page.locator("#answers li", has_text="429 Too Many Requests")
    expect(throttled.first.locator(".body")).to_have_text('{"message":"Too Many Requests"}')


def test_the_page_carries_its_configuration_which_no_log_does_and_may_call_only_the_api_and_cognito(
    deployed, passwords
):
    key = deployed.api_key()
    pool = deployed_pool(deployed)
    with urllib.request.urlopen(f"{deployed.config.target.storefront_origin}/", timeout=10) as reply:
        page = reply.read().decode()
        assert f'<meta name="reviews-api-key" content="{key}">' in page
        assert f'<meta name="reviews-user-pool-client-id" content="{pool.client_id}">' in page
        assert reply.headers["Cache-Control"] == "no-store"  # not even in the browser's disk cache
        assert (
            f"connect-src http://127.0.0.1:{deployed.config.target.gateway_port} {deployed.endpoint};"
            in (reply.headers["Content-Security-Policy"])
        )
    for log in (deployed.storefront.log_file, deployed.gateway.log_file):
        text = log.read_text()
        assert key not in text
        assert not any(password in text for password in passwords.values())
