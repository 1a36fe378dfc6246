"""What `make up` does once the stack is deployed and served: a smoke test through the gateway,
the storefront demo page (with a warning when the API's CORS settings would refuse it), and
the banner saying where everything is."""

import json
import urllib.error
import urllib.request

from botocore.exceptions import ClientError

from handlers.reviews import contract

from .local_target import LocalTarget
from .progress import step
from .reviewers import PASSWORD_SIGN_IN_SETTING, SMOKE_REVIEWER, ensure_reviewers, id_token, set_password

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
    """Through the gateway started as `gateway_pid`: a reviewer of its own signs in and posts a
    review (on later runs: 409, theirs is there), then the product's reviews are listed."""
    url = target.gateway.url
    with step("Smoke test: a reviewer signs in and posts a review, then the product's reviews are listed"):
        target.gateway.require_ours(gateway_pid)  # the key and the token go only to the gateway make up started
        cognito, outputs = target.client("cognito-idp"), target.outputs()
        ensure_reviewers(cognito, outputs["user_pool_id"], (SMOKE_REVIEWER,))
        password = set_password(cognito, outputs["user_pool_id"], SMOKE_REVIEWER)
        try:
            token = id_token(cognito, outputs["user_pool_client_id"], SMOKE_REVIEWER, password)
        except ClientError as error:  # e.g. USER_PASSWORD_AUTH not enabled for this environment's app client
            print(f"    cannot sign in, so no POST: {error.response['Error']['Message']} ({PASSWORD_SIGN_IN_SETTING})")
        else:
            headers = {contract.API_KEY_HEADER: target.api_key(), contract.AUTHORIZATION_HEADER: token}
            review = {"product_id": SMOKE_PRODUCT, "rating": 5, "title": "Works locally"}
            status, body = request("POST", f"{url}/reviews", review, headers)
            earlier = "  (one review per reviewer and product: an earlier make up's is there)" if status == 409 else ""
            print(f"    POST /reviews -> {status} {body}{earlier}")
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
  Reviewers:  `make reviewers` sets new passwords for the demo reviewers and prints them, with
              curl lines that sign in and post a review (no password is written to a file or log)
  Storefront demo:  {storefront}  (sign in, post, edit and delete reviews: docs/storefront.md)

Try it:
  curl -s '{url}/reviews?product_id={SMOKE_PRODUCT}'
  curl -s '{url}/products/{SMOKE_PRODUCT}/rating'

Logs: {target.state_dir}/ (apply, gateway, storefront). Everything stays up until `make down`.""")
