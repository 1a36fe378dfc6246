"""The storefront demo page: a shop's web page on a second local origin (http://localhost:<port>)
that lists a product's reviews and rating summary and posts reviews, calling the API served by
the local gateway cross-origin, as a real storefront calls API Gateway (docs/storefront.md).

The page is three static files (storefront_page/). Each time the page is requested, the server
reads the stage's API key from the emulator and writes it, with the API's URL, into the page's
<meta> tags: the key is never written to a file or a log (the page is sent with
`Cache-Control: no-store`, so the browser does not keep it in its disk cache either).
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

from localaws.deployment import stage_api_keys
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


class StorefrontServer(ThreadingHTTPServer):
    """Serves the page on 127.0.0.1:port; `api_key()` reads the key the page sends on POST."""

    daemon_threads = True

    def __init__(self, port: int, api_url: str, api_key: Callable[[], str]):
        self.api_url = api_url
        self.api_key = api_key
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
                api_key = self.server.api_key()
            except (LookupError, OSError, BotoCoreError, ClientError) as error:  # the emulator is gone or changed
                message = f"Cannot read the API key from the emulator: {error}. Is `make up` still running?\n"
                self._send(503, "text/plain; charset=utf-8", message)
                return
            self._send(200, FILES[path][1], self._page(api_key), page_headers(self.server.api_url))
        else:
            file_name, content_type = FILES[path]
            self._send(200, content_type, (PAGE_DIR / file_name).read_text())

    def _page(self, api_key: str) -> str:
        page = (PAGE_DIR / "index.html").read_text()
        page = page.replace("{{API_URL}}", html.escape(self.server.api_url))
        return page.replace("{{API_KEY}}", html.escape(api_key))

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


def page_headers(api_url: str) -> dict[str, str]:
    """The page may run its own script and style and call the API, and nothing else: nothing it
    loads or sends leaves loopback."""
    api = urllib.parse.urlsplit(api_url)
    policy = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {api.scheme}://{api.netloc}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def deployed_api_key(endpoint: str, region: str, rest_api_name: str, stage: str) -> Callable[[], str]:
    """Reads the stage's API key from the emulator each time it is called ("" if there is none).
    The stack creates one, the storefront's key; with several, the first by id is used."""

    def read() -> str:
        keys = stage_api_keys(endpoint, region, rest_api_name, stage)
        return min(keys, key=keys.__getitem__, default="")

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
