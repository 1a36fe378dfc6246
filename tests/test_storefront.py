"""A real browser on the storefront demo page that `make up` serves from a second origin: the
page sees every answer of the API, the gateway's own (403, 429) included, with its status and
body, and never a CORS error.

Debian's Chromium, driven by Playwright, against one deployment (tests.deployments.serving, from a
copy of the project: its own environment, free ports and logs) whose CORS origins are the
storefront's alone and whose stage throttling (1 request/s, burst 2) a few clicks exceed. Each
test opens the page in a fresh browser context (its own preflight cache) and checks what the
browser's network and console saw.

STOREFRONT_SCREENSHOT=docs/images/storefront.png writes the screenshot docs/storefront.md shows.
"""

import os
import re
import shutil
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from deploy.local_target import LocalTarget
from deploy.smoke import request
from tests.deployments import disposable_settings, serving
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
SEEDED_REVIEWS = [
    {"reviewer_id": "early-bird", "rating": 5, "title": "Boils in two minutes", "comment": "Quiet, too."},
    {"reviewer_id": "night-owl", "rating": 3, "title": "Fine", "comment": "The lid sticks a little."},
]
# How Chromium's console reports an answer of 400 or more that the page may read (CORS refusals
# and failed connections read differently).
ERROR_STATUS_IN_CONSOLE = re.compile(r"error: Failed to load resource: the server responded with a status of (\d{3}) ")

Answer = tuple[str, str, int]  # method, path below the API URL, status


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
        if response.request.resource_type == "fetch":
            self.answers.append((response.request.method, response.url.removeprefix(self.api_url), response.status))

    def _on_network_response(self, event: dict) -> None:
        if event["type"] == "Preflight":
            self.preflights.append((event["response"]["url"], event["response"]["status"]))

    def post_review(self, reviewer: str, rating: int, title: str = "", *, send_key: bool = True) -> None:
        self.page.fill("#reviewer-id", reviewer)
        self.page.select_option("#rating-input", str(rating))
        self.page.fill("#title", title)
        self.page.set_checked("#send-key", send_key)
        self.page.click("#review-form button")

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


def seed(deployed: LocalTarget, product: str) -> None:
    """SEEDED_REVIEWS for `product`, posted straight to the API (not through the page)."""
    full_buckets(deployed)
    key = deployed.api_key()
    for review in SEEDED_REVIEWS:
        posted = {"product_id": product, **review}
        status, body = request("POST", f"{deployed.gateway.url}/reviews", posted, {"x-api-key": key})
        assert status == 201, body


def loading(product: str, times: int = 1) -> Counter[Answer]:
    """The answers of the page (re)loading the product `times` times."""
    return Counter(
        {
            ("GET", f"/products/{product}/rating", 200): times,
            ("GET", f"/reviews?product_id={product}&limit=20", 200): times,
        }
    )


def test_the_page_shows_the_products_rating_and_reviews(deployed, open_storefront):
    seed(deployed, "storefront-kettle")

    visit = open_storefront("storefront-kettle")

    page = visit.page
    expect(page.locator("#rating-average")).to_have_text("★★★★☆ 4.0 out of 5 · 2 reviews")
    expect(page.locator("#rating-histogram tr")).to_have_text(["5 ★1", "4 ★0", "3 ★1", "2 ★0", "1 ★0"])
    expect(page.locator("#reviews h3")).to_have_text(["Fine", "Boils in two minutes"])  # newest first
    expect(page.locator("#reviews-section .status")).to_have_text("200 OK")


def test_a_post_with_the_key_is_preflighted_and_201_then_one_without_it_shows_403(deployed, open_storefront, tmp_path):
    seed(deployed, "storefront-teapot")
    visit = open_storefront("storefront-teapot")
    page = visit.page

    visit.post_review("shopper-1", 4, "Pours without dripping")
    expect(page.locator("#post-section .status")).to_have_text("201 Created")
    expect(page.locator("#rating-average")).to_contain_text("3 reviews")
    expect(page.locator("#reviews h3").first).to_have_text("Pours without dripping")
    assert visit.preflights == [(f"{visit.api_url}/reviews", 204)]

    visit.post_review("shopper-2", 1, "Posted without the key", send_key=False)
    expect(page.locator("#post-section .status")).to_have_text("403 Forbidden")
    expect(page.locator("#post-section .body")).to_have_text('{"message":"Forbidden"}')
    visit.wait_for_answers(6)

    assert visit.checked_answers() == loading("storefront-teapot", 2) + Counter(
        {("POST", "/reviews", 201): 1, ("POST", "/reviews", 403): 1}
    )
    screenshot = Path(os.environ.get("STOREFRONT_SCREENSHOT") or tmp_path / "storefront.png")
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_a_second_review_by_the_same_reviewer_shows_409_with_its_body(open_storefront):
    visit = open_storefront("storefront-mug")
    page = visit.page

    visit.post_review("shopper-1", 5, "Keeps it hot")
    expect(page.locator("#post-section .status")).to_have_text("201 Created")
    visit.wait_for_answers(5)
    visit.post_review("shopper-1", 2, "Changed my mind")
    expect(page.locator("#post-section .status")).to_have_text("409 Conflict")
    expect(page.locator("#post-section .body")).to_contain_text('"error":"review_exists"')
    visit.wait_for_answers(6)

    assert visit.preflights == [(f"{visit.api_url}/reviews", 204)]
    assert visit.checked_answers() == loading("storefront-mug", 2) + Counter(
        {("POST", "/reviews", 201): 1, ("POST", "/reviews", 409): 1}
    )


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


def test_the_page_carries_the_key_which_no_log_does_and_may_call_only_the_api(deployed):
    key = deployed.api_key()
    with urllib.request.urlopen(f"{deployed.config.target.storefront_origin}/", timeout=10) as reply:
        assert f'<meta name="reviews-api-key" content="{key}">' in reply.read().decode()
        assert reply.headers["Cache-Control"] == "no-store"  # not even in the browser's disk cache
        assert (
            f"connect-src http://127.0.0.1:{deployed.config.target.gateway_port};"
            in (reply.headers["Content-Security-Policy"])
        )
    for log in (deployed.storefront.log_file, deployed.gateway.log_file):
        assert key not in log.read_text()
