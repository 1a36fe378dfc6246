"""The local API gateway (localaws) under load: GET /reviews through HTTP vs the handler called directly.

Deploys the stack into a fresh emulator on free ports (synth → terraform apply), starts
`python -m localaws gateway`, and drives GET /v1/reviews?product_id=... with 1 and 8
concurrent clients. Any failure along the way turns the section into "not measured: <reason>".
"""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from measure import percentile

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-2"
ENVIRONMENT = "bench"
API_NAME, STAGE, FUNCTION_NAME = f"ProductReviewsAPI-{ENVIRONMENT}", "v1", f"ReviewProcessor-{ENVIRONMENT}"
STATE_BUCKET = "product-reviews-tfstate-local"
CONCURRENCY_LEVELS = (1, 8)
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict, cwd: Path = PROJECT_ROOT, timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command[:4])}` exited {done.returncode}: {(done.stderr or done.stdout)[-600:]}")
    return done.stdout


@contextlib.contextmanager
def deployed_gateway(env: dict, synth_env: dict, scratch: Path):
    """Yields (gateway base URL, emulator endpoint); stops the gateway and the emulator afterwards."""
    emulator_port, gateway_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{emulator_port}"
    localaws = [sys.executable, "-m", "localaws"]
    run([*localaws, "emulator", "start", "--port", str(emulator_port), "--state-dir", str(scratch)], env)
    gateway = None
    try:
        run([*localaws, "state-bucket", "--bucket", STATE_BUCKET, "--endpoint", endpoint, "--region", REGION], env)
        outdir = scratch / "cdktf.out"
        run([sys.executable, "main.py"], {
            **env, **synth_env, "CDKTF_OUTDIR": str(outdir), "REVIEWS_TARGET": "local",
            "REVIEWS_EMULATOR_ENDPOINT": endpoint, "ENVIRONMENT_SUFFIX": ENVIRONMENT, "REVIEWS_STATE_BUCKET": STATE_BUCKET,
            # Stage throttling would answer 429 to a load test.
            "REVIEWS_THROTTLE_RATE": "5000", "REVIEWS_THROTTLE_BURST": "5000",
        })
        stack_dir = outdir / "stacks" / f"product-reviews-{ENVIRONMENT}"
        terraform_env = {**env, **FAKE_AWS, "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": str(PROJECT_ROOT / ".terraformrc")}
        run(["terraform", "init", "-input=false", "-no-color"], terraform_env, cwd=stack_dir)
        run(["terraform", "apply", "-auto-approve", "-input=false", "-no-color"], terraform_env, cwd=stack_dir)
        gateway = subprocess.Popen(
            [*localaws, "gateway", "--endpoint", endpoint, "--region", REGION, "--rest-api-name", API_NAME,
             "--stage", STAGE, "--port", str(gateway_port), "--refresh-seconds", "0"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first_line = gateway.stdout.readline()
        if not first_line.startswith("serving"):
            raise RuntimeError(f"gateway did not start: {first_line}{gateway.stdout.read()[-600:]}")
        threading.Thread(target=gateway.stdout.read, daemon=True).start()  # drain the access log
        yield f"127.0.0.1:{gateway_port}", endpoint
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=30)
        run([*localaws, "emulator", "stop", "--port", str(emulator_port), "--state-dir", str(scratch)], env)


def load(request, concurrency: int, seconds: float) -> dict:
    """Calls `request()` from `concurrency` threads for `seconds`: requests/s and latency percentiles."""
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                request()
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(str(error))
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
    return {"requests": len(latencies), "errors": len(errors), "requests_per_second": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}


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


def api_key_and_function_env(endpoint: str) -> tuple[str, dict]:
    import boto3

    options = {"endpoint_url": endpoint, "region_name": REGION,
               "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    keys = boto3.client("apigateway", **options).get_api_keys(includeValues=True)["items"]
    function = boto3.client("lambda", **options).get_function_configuration(FunctionName=FUNCTION_NAME)
    return keys[0]["value"], function["Environment"]["Variables"]


def direct_handler_get(endpoint: str, function_env: dict, product_id: str):
    """The deployed handler's code from handlers/, in this process, against the same emulator table."""
    os.environ.update({**FAKE_AWS, **function_env, "AWS_ENDPOINT_URL": endpoint})
    sys.path.insert(0, str(PROJECT_ROOT / "handlers"))
    from reviews import app as reviews_app

    reviews_app.default_app.cache_clear()  # a client for the emulator, with the settings just set
    event = json.loads((PROJECT_ROOT / "tests" / "events" / "get_reviews.json").read_text())
    event["queryStringParameters"] = {"product_id": product_id, "limit": "10"}
    event["multiValueQueryStringParameters"] = {"product_id": [product_id], "limit": ["10"]}

    def request():
        response = reviews_app.handler(event, None)
        if response["statusCode"] != 200:
            raise RuntimeError(f"handler answered {response['statusCode']}")
    return request


def seed_review(host: str, api_key: str, product_id: str) -> None:
    connection = http.client.HTTPConnection(host, timeout=60)
    body = json.dumps({"product_id": product_id, "reviewer_id": "bench-user", "rating": 4, "title": "Fine"})
    connection.request("POST", f"/{STAGE}/reviews", body=body,
                       headers={"Content-Type": "application/json", "x-api-key": api_key})
    response = connection.getresponse()
    if response.status != 201:
        raise RuntimeError(f"seeding POST /reviews answered {response.status}: {response.read()[:300]!r}")
    response.read()


def measure(seconds: int, env: dict, synth_env: dict) -> dict:
    if seconds <= 0:
        return {"not_measured": "BENCH_GATEWAY_SECONDS=0"}
    if not (PROJECT_ROOT / "localaws" / "__main__.py").exists():
        return {"not_measured": "localaws/ is not in the project yet"}
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch, \
                deployed_gateway(env, synth_env, Path(scratch)) as (host, endpoint):
            deploy_seconds = time.perf_counter() - started
            api_key, function_env = api_key_and_function_env(endpoint)
            product_id = f"bench-{uuid.uuid4().hex[:8]}"
            seed_review(host, api_key, product_id)
            through_gateway = http_get(host, f"/{STAGE}/reviews?product_id={product_id}&limit=10",
                                       {"x-api-key": api_key, "Accept": "application/json"})
            direct = direct_handler_get(endpoint, function_env, product_id)
            result = {"deploy_seconds": deploy_seconds, "gateway": {}, "direct_handler": {}}
            # The handler logs a line per request; here it would go to our stdout.
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                for call in (through_gateway, direct):  # warm the workers and the client
                    call()
                for concurrency in CONCURRENCY_LEVELS:
                    result["gateway"][concurrency] = load(through_gateway, concurrency, seconds)
                    result["direct_handler"][concurrency] = load(direct, concurrency, seconds)
            return result
    except Exception as error:  # noqa: BLE001 - any failure is reported, never raised
        return {"not_measured": f"{type(error).__name__}: {error}"}
