"""What `make up` does once the stack is deployed and served: a smoke test through the gateway,
the storefront demo page (with a warning when the API's CORS settings would refuse it), and
the banner saying where everything is."""

import json
import time
import urllib.error
import urllib.request

from .local_target import LocalTarget
from .progress import step

SMOKE_PRODUCT = "demo-product"


def request(
    method: str, url: str, body: dict[str, object] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def smoke_test(target: LocalTarget, gateway_pid: int) -> None:
    """POSTs a review and lists the product's reviews through the gateway started as `gateway_pid`."""
    url = target.gateway.url
    with step("Smoke test: POST a review, then list the product's reviews"):
        target.gateway.require_ours(gateway_pid)  # the key goes only to the gateway make up started
        review = {"product_id": SMOKE_PRODUCT, "reviewer_id": f"smoke-{int(time.time())}", "rating": 5}
        status, body = request(
            "POST", f"{url}/reviews", {**review, "title": "Works locally"}, {"x-api-key": target.api_key()}
        )
        print(f"    POST /reviews -> {status} {body}")
        status, body = request("GET", f"{url}/reviews?product_id={SMOKE_PRODUCT}&limit=2")
        print(f"    GET /reviews?product_id={SMOKE_PRODUCT}&limit=2 -> {status} {body}")


def start_storefront(target: LocalTarget) -> str:
    """Serves the storefront demo page; returns its URL."""
    origin = target.config.target.storefront_origin
    with step(f"Starting the storefront demo page on {origin}"):
        target.storefront.start()
        allowed = target.config.api.cors_origins
        if "*" not in allowed and origin not in allowed:
            print(
                f"    warning: {origin} is not in REVIEWS_CORS_ORIGINS ({', '.join(allowed)}): the browser "
                "will refuse the API's answers to the page; add it and run make up again"
            )
    return f"{origin}/?product={SMOKE_PRODUCT}"


def banner(target: LocalTarget, storefront: str) -> None:
    url = target.gateway.url
    print(f"""
The Product Reviews API is up (deployed to the emulator at {target.endpoint}).
  API URL:  {url}
  API key:  `make api-key` prints it (it is never written to a file or log)
  Storefront demo:  {storefront}  (a page calling the API from another origin: docs/storefront.md)

Try it:
  curl -s -X POST {url}/reviews -H "x-api-key: $(make -s api-key)" -H 'Content-Type: application/json' \\
       -d '{{"product_id": "p-1", "reviewer_id": "r-1", "rating": 4, "comment": "Sturdy"}}'
  curl -s '{url}/reviews?product_id=p-1'
  curl -s '{url}/reviews?reviewer_id=r-1'
  curl -s '{url}/products/p-1/rating'

Logs: {target.state_dir}/ (apply, gateway, storefront). Everything stays up until `make down`.""")
