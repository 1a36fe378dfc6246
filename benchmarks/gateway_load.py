"""The local API gateway (localaws) under load: GET /reviews through HTTP vs the handler called directly.

Deploys the stack into a fresh emulator on free ports as `make up` does (tests.deployments),
and drives GET /v1/reviews?product_id=... through the gateway with 1, 8 and 32 concurrent
clients (a new connection per request), and the handler directly with 1 and 8. Every
level reports its failures: `resets` (connection reset or closed without an answer) and
`errors` (every failed request: resets, timeouts, statuses other than 200); both are
expected to be zero. Any failure along the way turns the section into "not measured: <reason>".
"""

import contextlib
import http.client
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from measure import percentile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root
from deploy.local_target import LocalTarget
from deploy.reviewers import DEMO_REVIEWERS, id_token, reviewer_passwords
from handlers.reviews import app as reviews_app
from handlers.reviews.contract import API_KEY_HEADER, AUTHORIZATION_HEADER
from tests.deployments import disposable_settings, serving

PROJECT_ROOT = Path(__file__).resolve().parent.parent

REGION = "us-east-2"
ENVIRONMENT = "bench"
STAGE = "v1"
GATEWAY_CONCURRENCY = (1, 8, 32)
DIRECT_CONCURRENCY = (1, 8)
# A connection the gateway dropped without answering (http.client.RemoteDisconnected is one).
RESETS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def deployed_gateway():
    """Deploys the stack as `make up` does, into a fresh emulator on free ports; yields the
    LocalTarget and stops the gateway and the emulator afterwards."""
    target = LocalTarget.load(
        {
            **disposable_settings(ENVIRONMENT),
            # Stage throttling would answer 429 to a load test.
            "REVIEWS_THROTTLE_RATE": "5000",
            "REVIEWS_THROTTLE_BURST": "5000",
        }
    )
    with serving(target):
        yield target


def load(request, concurrency: int, seconds: float) -> dict:
    """Calls `request()` from `concurrency` threads for `seconds`: requests/s, latency
    percentiles, and the failures (resets among them) with a few examples."""
    latencies: list[float] = []
    errors: list[Exception] = []
    deadline = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                request()
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(error)
                continue
            latencies.append(time.perf_counter() - started)  # list.append is atomic under the GIL

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"every request failed, e.g. {errors[:1]}")
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "resets": sum(isinstance(error, RESETS) for error in errors),
        "error_examples": sorted({f"{type(error).__name__}: {error}" for error in errors})[:3],
        "requests_per_second": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def http_get(host: str, path: str, headers: dict):
    def request():
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")

    return request


def api_key_and_function_env(target) -> tuple[str, dict]:
    api_key = target.api_key()
    function = target.client("lambda").get_function_configuration(FunctionName=target.config.function.name)
    return api_key, function["Environment"]["Variables"]


def direct_handler_get(endpoint: str, function_env: dict, product_id: str):
    """The deployed handler's code from handlers/, in this process, against the same emulator table."""
    os.environ.update({**FAKE_AWS, **function_env, "AWS_ENDPOINT_URL": endpoint})
    reviews_app.default_app.cache_clear()  # a client for the emulator, with the settings just set
    event = json.loads((PROJECT_ROOT / "tests" / "events" / "get_reviews.json").read_text())
    event["queryStringParameters"] = {"product_id": product_id, "limit": "10"}
    event["multiValueQueryStringParameters"] = {"product_id": [product_id], "limit": ["10"]}

    def request():
        response = reviews_app.handler(event, None)
        if response["statusCode"] != 200:
            raise RuntimeError(f"handler answered {response['statusCode']}")

    return request


def seed_review(target, host: str, api_key: str, product_id: str) -> None:
    """One review for the GETs to list, posted by a demo reviewer (signed in, as writes must be)."""
    reviewer = DEMO_REVIEWERS[0]
    password = reviewer_passwords(target)[reviewer.email]
    token = id_token(target.client("cognito-idp"), target.outputs()["user_pool_client_id"], reviewer, password)
    headers = {"Content-Type": "application/json", API_KEY_HEADER: api_key, AUTHORIZATION_HEADER: token}
    connection = http.client.HTTPConnection(host, timeout=60)
    connection.request(
        "POST", f"/{STAGE}/reviews", body=json.dumps({"product_id": product_id, "rating": 4}), headers=headers
    )
    response = connection.getresponse()
    if response.status != 201:
        raise RuntimeError(f"seeding POST /reviews answered {response.status}: {response.read()[:300]!r}")
    response.read()


def measure(seconds: int) -> dict:
    if seconds <= 0:
        return {"not_measured": "BENCH_GATEWAY_SECONDS=0"}
    if not (PROJECT_ROOT / "localaws" / "__main__.py").exists():
        return {"not_measured": "localaws/ is not in the project yet"}
    started = time.perf_counter()
    try:
        with deployed_gateway() as target:
            deploy_seconds = time.perf_counter() - started
            host, endpoint = f"127.0.0.1:{target.config.target.gateway_port}", target.endpoint
            api_key, function_env = api_key_and_function_env(target)
            product_id = f"bench-{uuid.uuid4().hex[:8]}"
            seed_review(target, host, api_key, product_id)
            through_gateway = http_get(
                host,
                f"/{STAGE}/reviews?product_id={product_id}&limit=10",
                {API_KEY_HEADER: api_key, "Accept": "application/json"},
            )
            direct = direct_handler_get(endpoint, function_env, product_id)
            result: dict[str, Any] = {"deploy_seconds": deploy_seconds, "gateway": {}, "direct_handler": {}}
            # The handler logs a line per request; here it would go to our stdout.
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                for call in (through_gateway, direct):  # warm the workers and the client
                    call()
                for concurrency in GATEWAY_CONCURRENCY:
                    result["gateway"][concurrency] = load(through_gateway, concurrency, seconds)
                for concurrency in DIRECT_CONCURRENCY:
                    result["direct_handler"][concurrency] = load(direct, concurrency, seconds)
            return result
    except Exception as error:  # noqa: BLE001 - any failure is reported, never raised
        return {"not_measured": f"{type(error).__name__}: {error}"}
