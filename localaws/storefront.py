"""The storefront demo page: a shop's web page on a second local origin (http://localhost:<port>)
that lists a product's reviews and rating summary, signs reviewers in, and lets them post, edit
and delete their own reviews, calling the API served by the local gateway cross-origin, as a
real storefront calls API Gateway (docs/storefront.md).

The page is three static files (storefront_page/). Each time the page is requested, the server
reads from the emulator what the page is configured with: the stage's API key, and where
reviewers sign in (Cognito's endpoint, the user pool the API's authorizer trusts and its app
client). It writes them, with the API's URL, into the page's <meta> tags: the key is never
written to a file or a log (the page is sent with `Cache-Control: no-store`, so the browser does
not keep it in its disk cache either). Served with other values, the same page works against
API Gateway and a real user pool.
"""

import html
import json
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from handlers.reviews.contract import API_KEY_HEADER, AUTHORIZATION_HEADER, DISPLAY_NAME_ATTRIBUTE, REVIEWER_CLAIM
from localaws.deployment import stage_api_keys, stage_user_pools
from localaws.loopback import is_loopback_host
from localaws.server_process import ServerProcess, deployment_options

PAGE_DIR = Path(__file__).resolve().parent / "storefront_page"
IDENTITY_PATH = "/_localaws/health"  # like the emulator's and the gateway's: who answers on this port
SERVICE = "localaws-storefront"
# Path -> (file in PAGE_DIR, content type). Nothing else is served.
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/storefront.js": ("storefront.js", "text/javascript; charset=utf-8"),
    "/storefront.css": ("storefront.css", "text/css; charset=utf-8"),
}


@dataclass(frozen=True)
class SignIn:
    """Where the page signs reviewers in: Cognito's endpoint (the emulator, locally), a user pool
    and its app client. All empty: the API has no Cognito authorizer, so there is no sign-in."""

    cognito_endpoint: str
    user_pool_id: str
    client_id: str


@dataclass(frozen=True)
class PageConfig:
    api_key: str  # sent with writes ("" if the stage has none)
    sign_in: SignIn


class StorefrontServer(ThreadingHTTPServer):
    """Serves the page on 127.0.0.1:port; `page_config()` reads what the page is configured with."""

    daemon_threads = True

    def __init__(self, port: int, api_url: str, page_config: Callable[[], PageConfig]):
        self.api_url = api_url
        self.page_config = page_config
        super().__init__(("127.0.0.1", port), StorefrontRequest)


class StorefrontRequest(BaseHTTPRequestHandler):
    server: StorefrontServer

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if not is_loopback_host(self.headers.get("Host", "localhost")):  # the page holds the API key
            self._send(421, "text/plain; charset=utf-8", "Misdirected Request: the Host is not this machine\n")
        elif path == IDENTITY_PATH:
            self._send(200, "application/json", json.dumps({"service": SERVICE, "pid": os.getpid()}))
        elif path not in FILES:
            self._send(404, "text/plain; charset=utf-8", f"Not found: {path}. The storefront is at /\n")
        elif path == "/":
            try:
                config = self.server.page_config()
            except (LookupError, OSError, BotoCoreError, ClientError) as error:  # the emulator is gone or changed
                message = f"Cannot read the deployment from the emulator: {error}. Is `make up` still running?\n"
                self._send(503, "text/plain; charset=utf-8", message)
                return
            headers = page_headers(self.server.api_url, config.sign_in.cognito_endpoint)
            self._send(200, FILES[path][1], self._page(config), headers)
        else:
            file_name, content_type = FILES[path]
            self._send(200, content_type, (PAGE_DIR / file_name).read_text())

    def _page(self, config: PageConfig) -> str:
        values = {
            "API_URL": self.server.api_url,
            "API_KEY": config.api_key,
            "API_KEY_HEADER": API_KEY_HEADER,
            "AUTHORIZATION_HEADER": AUTHORIZATION_HEADER,
            "REVIEWER_CLAIM": REVIEWER_CLAIM,
            "DISPLAY_NAME_CLAIM": DISPLAY_NAME_ATTRIBUTE,  # a user attribute's claim has its name
            "COGNITO_ENDPOINT": config.sign_in.cognito_endpoint,
            "USER_POOL_ID": config.sign_in.user_pool_id,
            "USER_POOL_CLIENT_ID": config.sign_in.client_id,
        }
        page = (PAGE_DIR / "index.html").read_text()
        for name, value in values.items():
            page = page.replace("{{" + name + "}}", html.escape(value))
        return page

    def _send(self, status: int, content_type: str, body: str, headers: dict[str, str] | None = None) -> None:
        encoded = body.encode()
        self.send_response(status)
        for name, value in {
            "Content-Type": content_type,
            "Content-Length": str(len(encoded)),
            "Cache-Control": "no-store",
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def page_headers(api_url: str, cognito_endpoint: str) -> dict[str, str]:
    """The page may run its own script and style and call the API and Cognito, and nothing else:
    locally, nothing it loads or sends leaves loopback."""
    origins = [urllib.parse.urlsplit(url) for url in (api_url, cognito_endpoint) if url]
    connect = " ".join(dict.fromkeys(f"{origin.scheme}://{origin.netloc}" for origin in origins))
    policy = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def deployed_page_config(endpoint: str, region: str, rest_api_name: str, stage: str) -> Callable[[], PageConfig]:
    """Reads the page's configuration from the emulator each time it is called. The stack
    creates one API key (the storefront's) and one app client: with several, the first by id
    is used. Reviewers sign in to the first user pool the API's authorizers trust, through the
    emulator, which serves Cognito's API."""

    def read() -> PageConfig:
        keys = stage_api_keys(endpoint, region, rest_api_name, stage)
        pools = [pool for pool in stage_user_pools(endpoint, region, rest_api_name) if pool.client_ids]
        sign_in = SignIn(endpoint, pools[0].id, min(pools[0].client_ids)) if pools else SignIn("", "", "")
        return PageConfig(min(keys, key=keys.__getitem__, default=""), sign_in)

    return read


@dataclass(frozen=True)
class StorefrontProcess(ServerProcess):
    """The storefront server running in the background (state files storefront-<port>.*)."""

    name = "storefront"
    service = SERVICE
    description = "the storefront demo page"
    port_setting = "REVIEWS_STOREFRONT_PORT"

    emulator_endpoint: str
    region: str
    rest_api_name: str
    stage: str
    api_url: str
    port: int
    state_dir: Path

    def arguments(self) -> list[str]:
        deployed = deployment_options(self.emulator_endpoint, self.region, self.rest_api_name, self.stage)
        return ["storefront", *deployed, "--api-url", self.api_url, "--port", str(self.port)]
