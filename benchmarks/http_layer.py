#!/usr/bin/env python3
"""The handler's HTTP layer, today's (handlers/reviews/app.handle) vs the same on AWS Lambda
Powertools' APIGatewayRestResolver (benchmarks/powertools_layer): cold start against a bare
boto3 client, per-request cost of the HTTP layer, lines of code, and proof that both answer
alike. `make bench` runs it (benchmarks/run.py); alone: `python benchmarks/http_layer.py`
after `make bench-packages`. The rule it applies and its last figures: docs/http-layer.md.

Settings (environment): BENCH_COLD_START_RUNS=15, BENCH_HTTP_LAYER_BATCHES=15, BENCH_CALLS=300.
"""

import ast
import contextlib
import functools
import io
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import AWS_ENV, clean_env, summarize

# The project root, Powertools (`make bench-packages`) and tests/handler (its event builders).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "build" / "bench-packages"))
sys.path.insert(2, str(Path(__file__).resolve().parent.parent / "tests" / "handler"))
import api_events
import handler_requests
from handlers.reviews import app as today
from handlers.reviews import contract
from handlers.reviews.events import parse_headers, parse_request
from handlers.reviews.ids import ReviewIdGenerator
from handlers.reviews.repository import ReviewRepository
from handlers.reviews.routing import Backend, operations
from powertools_layer import app as powertools
from review_table import create_table

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
# Powertools is no dependency of the project: `make bench` installs it here, for this file only.
BENCH_PACKAGES = PROJECT_ROOT / "build" / "bench-packages"
# Where the cold-start interpreters import from: handlers.reviews, Powertools, powertools_layer.
LAYER_PATH = [str(PROJECT_ROOT), str(BENCH_PACKAGES), str(BENCH_DIR)]
# The rule: adopt Powertools if its cold start stays within this multiple of a bare
# boto3 client's, and its HTTP layer within this many milliseconds per request.
ADOPTION_RULE = {"cold_start_ratio": 1.25, "http_layer_ms": 0.15}
LAYERS: dict[str, Callable[..., dict[str, Any]]] = {"today": today.handle, "powertools": powertools.handle}

# --- cold start ----------------------------------------------------------------------------

# The same prelude for every variant (json is imported before the clocks start in each), then
# the variant's code, timed in the fresh interpreter by the wall clock and by its CPU time. On a
# shared machine the CPU time is the steadier figure: waiting for a core is not in it.
COLD_START_SNIPPET = (
    "import json, sys, time\nEVENT = json.loads(sys.argv[1])\n_t, _c = time.perf_counter(), time.process_time()\n"
    "{code}\nprint(time.perf_counter() - _t, time.process_time() - _c, len(sys.modules))"
)
FIRST_REQUEST = "assert app.handler(EVENT, None)['statusCode'] == 200"
COLD_START_VARIANTS = {
    "bare_boto3_client": "import boto3\nboto3.client('dynamodb', region_name='us-east-2')",
    "today": f"from handlers.reviews import app\n{FIRST_REQUEST}",
    "powertools": f"from powertools_layer import app\n{FIRST_REQUEST}",
    "today_import_and_client": "from handlers.reviews import app\napp.default_app()",
    "powertools_import_and_client": "from powertools_layer import app\napp.resolver_for(app.default_app())",
}
# In the interpreter (start-up excluded, as the handler's own cold-start figure is taken), and
# of the whole process (start-up and exit included).
COLD_START_CLOCKS = ("wall", "cpu", "process_wall", "process_cpu")


def measure_cold_start(runs: int, env: dict[str, str]) -> dict[str, Any]:
    """Each variant in `runs` fresh interpreters, the variants interleaved; the first request
    (GET /reviews?product_id) is answered by a moto server on loopback."""
    event = json.dumps(api_events.get_reviews({"product_id": "sku-cold"}))
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in COLD_START_VARIANTS}
    modules: dict[str, int] = {}
    with dynamodb(env["TABLE_NAME"]) as endpoint:
        child_env = {**env, "AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": os.pathsep.join(LAYER_PATH)}
        for _ in range(runs):
            for name, code in COLD_START_VARIANTS.items():
                times, modules[name] = cold_start_once(name, code, event, child_env)
                for clock, ms in times.items():
                    samples[name].setdefault(clock, []).append(ms)
    result: dict[str, Any] = {}
    for name, by_clock in samples.items():
        result[name] = {clock: vars(summarize(values)) for clock, values in by_clock.items()}
        result[name]["modules"] = modules[name]
    bare = result["bare_boto3_client"]
    for name in COLD_START_VARIANTS:
        result[name]["ratio"] = {
            clock: result[name][clock]["median"] / bare[clock]["median"] for clock in COLD_START_CLOCKS
        }
    return result


def cold_start_once(name: str, code: str, event: str, env: dict[str, str]) -> tuple[dict[str, float], int]:
    """Milliseconds by each of COLD_START_CLOCKS, and the modules loaded, of one fresh interpreter."""
    started, cpu_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, "-c", COLD_START_SNIPPET.format(code=code), event],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    process_wall, cpu_after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode:
        raise RuntimeError(f"cold start {name}: {run.stdout[-2000:]}{run.stderr[-2000:]}")
    wall, cpu, module_count = run.stdout.splitlines()[-1].split()
    process_cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime"))
    seconds = dict(zip(COLD_START_CLOCKS, (float(wall), float(cpu), process_wall, process_cpu), strict=True))
    return {clock: value * 1000 for clock, value in seconds.items()}, int(module_count)


@contextlib.contextmanager
def dynamodb(*tables: str):
    """A moto server on loopback with the stack's table schema under each name: its endpoint."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://{}:{}".format(*server.get_host_and_port())
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        for table in tables:
            create_table(client, table)
        yield endpoint
    finally:
        server.stop()


# --- per request -----------------------------------------------------------------------------


# handler_requests.ROUTES' requests, and a CORS preflight: all HTTP layer, no operation.
REQUESTS = {
    **handler_requests.ROUTES,
    "OPTIONS /reviews (preflight)": (api_events.preflight("/reviews"), None, None, None, 204),
}


def measure_requests(batches: int, calls: int) -> dict[str, Any]:
    """Per request (Stubber answers, no network): each layer end to end, and the operation alone on
    a Request parsed beforehand (validation, action, the stubbed DynamoDB call, the answer's
    JSON). A layer's HTTP cost is its time minus the operation's."""
    results = {}
    for route, (event, operation, _, response, status) in REQUESTS.items():
        client, stubber = handler_requests.stubbed_client()
        samples: dict[str, dict[str, list[float]]] = {}
        with stubber, open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the log lines
            sides = route_sides(event, client)
            for _ in range(batches):  # the sides alternate, so drift in machine load hits them all
                for side, call in sides.items():
                    for _ in range(calls + 1 if operation else 0):  # one more for the checked call
                        stubber.add_response(operation, response)
                    assert call()["statusCode"] == status
                    for clock, us in microseconds_per_call(call, calls).items():
                        samples.setdefault(side, {}).setdefault(clock, []).append(us)
        results[route] = route_figures(samples)
    return results


def route_figures(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Summaries per side and clock, and each layer's HTTP cost (the operation's median taken off)."""
    median = {
        side: {clock: statistics.median(v) for clock, v in by_clock.items()} for side, by_clock in samples.items()
    }
    return {
        "us": {
            side: {clock: vars(summarize(v)) for clock, v in by_clock.items()} for side, by_clock in samples.items()
        },
        "http_layer_us": {
            clock: {layer: median[layer][clock] - median.get("operation", {}).get(clock, 0.0) for layer in LAYERS}
            for clock in REQUEST_CLOCKS
        },
    }


REQUEST_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def microseconds_per_call(call: Callable[[], object], count: int) -> dict[str, float]:
    """The mean time of `count` calls by each of REQUEST_CLOCKS."""
    before = {clock: read() for clock, read in REQUEST_CLOCKS.items()}
    for _ in range(count):
        call()
    return {clock: (read() - before[clock]) / count * 1e6 for clock, read in REQUEST_CLOCKS.items()}


def route_sides(event: dict, client: Any) -> dict[str, Callable[[], dict[str, Any]]]:
    """One call of each layer on the event, and one of its operation alone (if a route serves it)."""
    app = app_on(client, handler_requests.TABLE_NAME)
    sides: dict[str, Callable[[], dict[str, Any]]] = {
        name: functools.partial(handle, event, None, app) for name, handle in LAYERS.items()
    }
    request = parse_request(event, parse_headers(event))
    route = next((r for r in contract.ROUTES if (r.method, r.path) == (request.method, request.resource)), None)
    if route:
        operation = operations()[route.operation_id]
        sides["operation"] = lambda: operation(request, app.backend, time.time())
    return sides


# --- lines of code ---------------------------------------------------------------------------

# Each layer's HTTP plumbing: whole files, or the top-level names a layer needs from a file.
# Both layers share the rest: the operations (routing.operations()), validation, actions, the
# repository and the App's wiring. The Powertools layer keeps today's event parsing, answers,
# errors and the fallback dispatch (benchmarks/powertools_layer/app.py says why).
KEPT_CODE: dict[str, tuple[str, ...] | None] = {
    "handlers/reviews/events.py": None,
    "handlers/reviews/responses.py": None,
    "handlers/reviews/routing.py": ("dispatch",),
}
LAYER_CODE: dict[str, dict[str, tuple[str, ...] | None]] = {
    "today": {**KEPT_CODE, "handlers/reviews/app.py": ("handler", "handle")},
    "powertools": {**KEPT_CODE, "benchmarks/powertools_layer/app.py": None},
}


def code_lines(path: Path, names: tuple[str, ...] | None) -> int:
    """Lines with code (not blank, comment or docstring) in a file, or in some of its top-level
    definitions (decorators included)."""
    text = path.read_text()
    lines, tree = text.splitlines(), ast.parse(text)
    docstrings = {
        number
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node) is not None
        for number in range(node.body[0].lineno, (node.body[0].end_lineno or 0) + 1)
    }
    spans = [(1, len(lines))]
    if names is not None:
        found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
        assert len(found) == len(names), f"{path}: not all of {names} found"
        spans = [(min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno or 0) for node in found]
    return sum(
        1
        for first, last in spans
        for number in range(first, last + 1)
        if number not in docstrings and lines[number - 1].strip() and not lines[number - 1].strip().startswith("#")
    )


def measure_code_lines() -> dict[str, Any]:
    return {
        layer: {
            "files": (files := {name: code_lines(PROJECT_ROOT / name, names) for name, names in parts.items()}),
            "total": sum(files.values()),
        }
        for layer, parts in LAYER_CODE.items()
    }


# --- same answers ----------------------------------------------------------------------------

Send = Callable[..., dict[str, Any]]


def conversation(send: Send) -> None:
    """What a storefront and its reviewers send, in order, every error the API answers included;
    send(label, event, table_down=False) delivers one request to a layer and returns its answer."""
    product, author, other = "sku-same", "user-author", "user-other"
    review = {"product_id": product, "rating": 4, "title": "Quiet kettle", "comment": "Boils fast."}
    send("OPTIONS /reviews", api_events.preflight("/reviews"))
    send("OPTIONS /reviews, other origin", api_events.preflight("/reviews", origin="https://elsewhere.example"))
    send("OPTIONS of no resource", api_events.preflight("/nope"))
    created = send("POST", api_events.post_review(review, reviewer=author, idempotency_key="key-1"))
    review_id = json.loads(created["body"]).get("review_id", "none")
    send("POST replayed", api_events.post_review(review, reviewer=author, idempotency_key="key-1"))
    send("POST, key reused", api_events.post_review({**review, "rating": 1}, reviewer=author, idempotency_key="key-1"))
    send("POST twice", api_events.post_review(review, reviewer=author))
    send("POST by another", api_events.post_review({**review, "rating": 2}, reviewer=other))
    send("POST, bad key", api_events.post_review(review, reviewer=other, idempotency_key="no spaces"))
    send("POST, not JSON", api_events.post_review("{", raw=True))
    send("POST, bad base64", {**api_events.post_review(review), "body": "!!", "isBase64Encoded": True})
    send("POST, not UTF-8", {**api_events.post_review(review), "body": "/w==", "isBase64Encoded": True})
    send("POST, too large", api_events.post_review({**review, "comment": "x" * contract.MAX_BODY_BYTES}))
    send("POST, text/plain", api_events.with_headers(api_events.post_review(review), Content_Type="text/plain"))
    send("POST, reviewer set", api_events.post_review({**review, "reviewer_id": other}, reviewer=other))
    send("POST, no authorizer", api_events.without_authorizer(api_events.post_review(review, reviewer=other)))
    send("POST, body not text", {**api_events.post_review(review), "body": 123})
    send("GET review", api_events.get_review(product, review_id))
    send("GET review, unknown", api_events.get_review(product, "01JD0000000000000000000000"))
    send("GET review, bad id", api_events.get_review(product, "nope"))
    send("GET review, id Powertools' path pattern refuses", api_events.get_review("sku#1", review_id))
    send("PATCH by another", api_events.patch_review(product, review_id, {"rating": 1}, reviewer=other))
    send("PATCH", api_events.patch_review(product, review_id, {"rating": 5, "title": None}, reviewer=author))
    send("PATCH, bad rating", api_events.patch_review(product, review_id, {"rating": 6}, reviewer=author))
    send("PATCH, product_id", api_events.patch_review(product, review_id, {"product_id": "x"}, reviewer=author))
    first = send("GET /reviews, one a page", api_events.get_reviews({"product_id": product, "limit": "1"}))
    token = json.loads(first["body"]).get("next_token") or "none"
    send("GET /reviews, next page", api_events.get_reviews({"product_id": product, "limit": "1", "next_token": token}))
    send("GET /reviews by reviewer", api_events.get_reviews({"reviewer_id": author}))
    send("GET /reviews, repeated key", api_events.get_reviews({"product_id": [product, "sku-2"]}))
    send("GET /reviews, both owners", api_events.get_reviews({"product_id": product, "reviewer_id": author}))
    send("GET /reviews, bad limit", api_events.get_reviews({"product_id": product, "limit": "0"}))
    send("GET /reviews, no query", api_events.get_reviews(None))
    send("GET rating", api_events.get_rating(product))
    send("GET rating, table down", api_events.get_rating(product), table_down=True)
    send("DELETE by another", api_events.delete_review(product, review_id, reviewer=other))
    send("DELETE", api_events.delete_review(product, review_id, reviewer=author))
    send("DELETE again", api_events.delete_review(product, review_id, reviewer=author))
    send("PUT /reviews", api_events.with_method(api_events.get_reviews({"product_id": product}), "PUT"))


def transcript(handle: Callable[..., dict[str, Any]], app: today.App, down_app: today.App) -> list[dict]:
    """The conversation through one layer: each answer (headers merged, body parsed) and log line."""
    answers: list[dict] = []

    def send(label: str, event: dict, table_down: bool = False) -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            response = handle(event, None, down_app if table_down else app)
        headers = {name: [value] for name, value in (response.get("headers") or {}).items()}
        headers.update(response.get("multiValueHeaders") or {})
        body = json.loads(response["body"]) if response["body"] else response["body"]
        logs = [json.loads(line) for line in printed.getvalue().splitlines()]
        answers.append(
            {
                "request": label,
                "keys": sorted(response),
                "status": response["statusCode"],
                "headers": headers,
                "body": body,
                "base64": response["isBase64Encoded"],
                "logs": [steady(line) for line in logs],
            }
        )
        return response

    conversation(send)
    return canonical(answers)


# What differs from run to run in a log line: the clock, the request id, a traceback's paths.
VARYING_LOG_FIELDS = {"latency_ms", "request_id", "traceback", "Timestamp"}


def steady(record: dict) -> dict:
    """A log line without its VARYING_LOG_FIELDS (the metric's Timestamp is nested)."""
    return {k: steady(v) if isinstance(v, dict) else v for k, v in record.items() if k not in VARYING_LOG_FIELDS}


# Review ids and times are new on every run, and next tokens encode review ids.
VARYING_VALUES = (
    re.compile(r'(?<="next_token": ")[^"]+'),
    re.compile(contract.REVIEW_ID_PATTERN),
    re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"),
)


def canonical(answers: list[dict]) -> list[dict]:
    """Each run-dependent value replaced by its order of first appearance: equal transcripts mean
    equal answers, the same id wherever the same review appears."""
    text = json.dumps(answers)
    for pattern in VARYING_VALUES:
        seen: dict[str, str] = {}

        def ordinal(match: re.Match[str], seen: dict[str, str] = seen) -> str:
            return seen.setdefault(match.group(0), f"<{len(seen)}>")

        text = pattern.sub(ordinal, text)
    return json.loads(text)


def compare_layers() -> dict[str, Any]:
    """The conversation through both layers, each on its own table of one moto server."""
    import boto3
    from botocore.config import Config

    tables = {layer: f"same-answers-{layer}" for layer in LAYERS}
    refused = Config(retries={"mode": "standard", "max_attempts": 1})
    down = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", config=refused)  # discard port: refused
    with dynamodb(*tables.values()) as endpoint:
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        transcripts = {
            layer: transcript(handle, app_on(client, tables[layer]), app_on(down, tables[layer]))
            for layer, handle in LAYERS.items()
        }
    # The proxy response's keys differ: Powertools answers REST events with multiValueHeaders.
    keys = {layer: sorted({k for a in answers for k in a.pop("keys")}) for layer, answers in transcripts.items()}
    ours, theirs = transcripts["today"], transcripts["powertools"]
    differing = [{"today": a, "powertools": b} for a, b in zip(ours, theirs, strict=True) if a != b]
    return {"requests": len(ours), "same": len(ours) - len(differing), "differences": differing, "response_keys": keys}


def app_on(client: Any, table: str) -> today.App:
    """An App like the Lambda's, on this client and table."""
    settings = today.Settings(table, contract.REVIEWER_INDEX.name, frozenset({api_events.ALLOWED_ORIGIN}), "bench")
    return today.App(
        settings, Backend(ReviewRepository(client, table, contract.REVIEWER_INDEX.name), ReviewIdGenerator())
    )


# --- the decision, and the report ------------------------------------------------------------


def measure(setting: Callable[[str, int], int], env: dict[str, str]) -> dict[str, Any]:
    """Everything above, in one run. setting(name, default) reads the run's settings (run.setting);
    `env` is the AWS settings the cold-start interpreters get."""
    results: dict[str, Any] = {"rule": ADOPTION_RULE, "load_average_at_start": os.getloadavg()}
    print("  same answers from both layers ...", flush=True)
    results["same_answers"] = compare_layers()
    print("  cold start ...", flush=True)
    results["cold_start_ms"] = measure_cold_start(setting("BENCH_COLD_START_RUNS", 15), env)
    print("  per request ...", flush=True)
    results["requests"] = measure_requests(setting("BENCH_HTTP_LAYER_BATCHES", 15), setting("BENCH_CALLS", 300))
    results["code_lines"] = measure_code_lines()
    results["load_average_at_end"] = os.getloadavg()
    results["decision"] = decide(results)
    return results


# The clock the rule is applied with: CPU time, as the machine the figures come from is shared
# (a wait for a core is in the wall clock, and varies with the neighbours). Both are reported.
DECIDING_CLOCK = "cpu"


def decide(results: dict[str, Any]) -> dict[str, Any]:
    """The rule applied to Powertools' cold start (import and first request, in the interpreter)
    and its slowest route's HTTP layer, by DECIDING_CLOCK."""
    cold_ratio = results["cold_start_ms"]["powertools"]["ratio"][DECIDING_CLOCK]
    worst_ms = (
        max(route["http_layer_us"][DECIDING_CLOCK]["powertools"] for route in results["requests"].values()) / 1000
    )
    passes = {
        "cold_start": cold_ratio <= ADOPTION_RULE["cold_start_ratio"],
        "http_layer": worst_ms <= ADOPTION_RULE["http_layer_ms"],
        "same_answers": not results["same_answers"]["differences"],
    }
    return {
        "clock": DECIDING_CLOCK,
        "powertools_cold_start_ratio": cold_ratio,
        "powertools_worst_http_layer_ms": worst_ms,
        "passes": passes,
        "adopt": all(passes.values()),
    }


def report_lines(results: dict[str, Any] | None) -> list[str]:
    """The section of benchmarks/results.md."""
    if not results:
        return []
    decision, rule, same = results["decision"], results["rule"], results["same_answers"]
    lines = [
        "",
        "## The HTTP layer: today's vs Powertools' APIGatewayRestResolver (docs/http-layer.md)",
        "",
        f"Same answers: {same['same']} of {same['requests']} requests. Decision: "
        f"**{'adopt Powertools' if decision['adopt'] else 'keep today’s layer'}** (rule, by {decision['clock']} "
        f"time: cold start ≤ {rule['cold_start_ratio']}× a bare boto3 client, HTTP layer ≤ {rule['http_layer_ms']} "
        f"ms a request). Load average {results['load_average_at_start'][0]:.1f} at the start.",
        "",
        "| cold start, median ms (× bare client) | " + " | ".join(COLD_START_CLOCKS) + " | modules |",
        "|---" * (len(COLD_START_CLOCKS) + 2) + "|",
    ]
    for name, f in results["cold_start_ms"].items():
        cells = [f"{f[clock]['median']:.0f} ({f['ratio'][clock]:.2f}×)" for clock in COLD_START_CLOCKS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {f['modules']} |")
    lines += [
        "",
        "| route, median µs (wall / CPU) | today | Powertools | operation alone | HTTP layer: today | Powertools |",
    ]
    lines.append("|---" * 6 + "|")
    for route, f in results["requests"].items():
        ends = [
            f"{f['us'][side]['wall']['median']:.0f} / {f['us'][side]['cpu']['median']:.0f}" if side in f["us"] else "–"
            for side in (*LAYERS, "operation")
        ]
        http = [f"{f['http_layer_us']['wall'][layer]:.0f} / {f['http_layer_us']['cpu'][layer]:.0f}" for layer in LAYERS]
        lines.append(f"| `{route}` | " + " | ".join(ends + http) + " |")
    loc = results["code_lines"]
    lines += ["", f"Lines of code: today {loc['today']['total']}, Powertools {loc['powertools']['total']}."]
    return lines


def main() -> None:
    import run

    os.environ.update(AWS_ENV)  # the in-process clients' fake credentials and region
    machine = run.describe_machine()
    results = measure(run.setting, clean_env(AWS_ENV))
    print(json.dumps({"machine": machine, **results}, indent=2))
    print("\n".join(report_lines(results)))


if __name__ == "__main__":
    main()
