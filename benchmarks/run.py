#!/usr/bin/env python3
"""`make bench`: measures synth (on each framework: CDKTF and CDK Terrain), handler cold start,
handler overhead, the HTTP layer against one on Powertools (benchmarks/http_layer.py), the local
gateway, the local deploy loop (make up, a handler change until it is live, make plan) and
(optionally) `make test`, each against a baseline measured in the same run, and writes
benchmarks/results.md (for people) and benchmarks/results.json (for tools).

Targets are reported as pass/miss; a miss never fails the run. Settings (environment):
  BENCH_RUNS=5              later synths (after the first) per app, and phase-timed synths
  BENCH_FRESH_CACHES=3      empty jsii caches, each set up and synthesized once: the first synth
  BENCH_FRAMEWORKS="cdktf cdktn"  the frameworks synth is measured on, each installed in turn
                            (make deps CDK=..., timed) and the tree's own put back at the end
  BENCH_COLD_START_RUNS=15  fresh interpreters per cold-start variant
  BENCH_BATCHES=7 BENCH_CALLS=300   handler-overhead batches and calls per batch
  BENCH_HTTP_LAYER_BATCHES=15  batches per request of the HTTP-layer comparison (its cost is small
                            beside the operation's, so it needs more)
  BENCH_GATEWAY_SECONDS=5   load duration per gateway concurrency level; 0 keeps the last figures
  BENCH_PERSISTENCE_REQUESTS=200  emulator writes timed with and without saving
  BENCH_DEPLOY_RUNS=5       make up / handler change / make plan runs per tree; 0 keeps the last figures
  BENCH_BASELINE=<rev>      the revision the deploy loop, make test and .ci/run are compared with
                            (default: main before the test-speed work, deploy_loop.BASELINE)
  BENCH_MAKE_TEST=1         also time `make test` in both trees, with the time of every test file
                            (BENCH_MAKE_TEST_RUNS=3 each, 10-20 minutes a pair); otherwise the
                            last figures are kept (benchmarks/suite_runs.py)
  BENCH_CI_RUN=1            also time `bash .ci/run` of both trees from a bare clone (every cache
                            empty, in a HOME of its own), then from a second clone (caches kept);
                            otherwise the last figures are kept
  BENCH_PREDECESSOR_APP     the predecessor's description (default ../shared/reference/...)
  BENCH_ONLY="make_test"    measure only these benchmarks (their keys in BENCHMARKS, space-separated);
                            every other one keeps the figures of the last run
"""

import dataclasses
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import AWS_ENV, clean_env

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "results.md"
TARGETS = {
    "synth_seconds": 1.0,
    "synth_largest_process_mb": 200,
    "synth_tree_mb": 300,
    "synth_vs_predecessor": 0.25,
    "cold_start_ratio": 1.15,
    "request_ratio": 1.2,
    "handler_own_work_ms": 0.15,
    "make_test_seconds": 180,
    "make_up_seconds": 25,
    "handler_live_seconds": 5,
    "make_plan_seconds": 8,
    "ci_bare_seconds": 360,
    "watch_save_to_served_seconds": 1,
}


def setting(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- how each benchmark is run: previous results -> its figures ---------------------------------


def measure_synth(previous: dict) -> dict:
    import synth_comparison

    fresh_caches, later_runs = max(1, setting("BENCH_FRESH_CACHES", 3)), setting("BENCH_RUNS", 5)
    return synth_comparison.measure_synth_on_each_framework(fresh_caches, later_runs)


def measure_cold_start(previous: dict) -> dict:
    import cold_start

    return cold_start.measure_cold_start(setting("BENCH_COLD_START_RUNS", 15))


def measure_requests(previous: dict) -> dict:
    os.environ.update(AWS_ENV)
    import handler_requests

    batches, calls = setting("BENCH_BATCHES", 7), setting("BENCH_CALLS", 300)
    return {
        route: with_own_work(handler_requests.measure_route(route, batches, calls)) for route in handler_requests.ROUTES
    }


def with_own_work(figures: dict) -> dict:
    """Adds the handler's own work per request: end to end minus the same DynamoDB call(s) made bare."""
    return {**figures, "own_work_ms": (figures["handler_us"] - figures["bare_us"]) / 1000}


def measure_http_layer(previous: dict) -> dict:
    import http_layer

    return http_layer.measure(setting, clean_env(AWS_ENV))


def measure_gateway(previous: dict) -> dict:
    import gateway_load

    seconds = setting("BENCH_GATEWAY_SECONDS", 5)
    kept = previous.get("gateway") if seconds == 0 else None
    return kept or gateway_load.measure(seconds)


def measure_persistence(previous: dict) -> dict:
    import emulator_persistence

    return emulator_persistence.measure(setting("BENCH_PERSISTENCE_REQUESTS", 200))


# --- the deploy loop and make test (benchmarks/deploy_loop.py) ----------------------------


def measure_deploy_loop(previous: dict) -> dict:
    import deploy_loop

    runs = setting("BENCH_DEPLOY_RUNS", 5)
    if runs == 0:
        return previous.get("deploy_loop") or {"not_measured": "BENCH_DEPLOY_RUNS=0"}
    return {
        "baseline_revision": os.environ.get("BENCH_BASELINE", deploy_loop.BASELINE),
        "trees": deploy_loop.measure(runs),
    }


def measure_make_test(previous: dict) -> dict:
    import suite_runs

    return _suite_measure(
        previous,
        "make_test",
        "BENCH_MAKE_TEST",
        "takes an hour",
        lambda: suite_runs.measure_make_test(setting("BENCH_MAKE_TEST_RUNS", 3)),
    )


def measure_ci_run(previous: dict) -> dict:
    import suite_runs

    return _suite_measure(previous, "ci_run", "BENCH_CI_RUN", "four CI runs", suite_runs.measure_ci_run)


def _suite_measure(previous: dict, key: str, switch: str, cost: str, measure: Any) -> dict:
    """Both trees measured when `switch`=1; otherwise the figures of the last run that measured them."""
    if os.environ.get(switch) != "1":
        kept = previous.get(key)
        return kept if kept and "trees" in kept else {"not_measured": f"run with {switch}=1 ({cost})"}
    import deploy_loop

    return {"baseline_revision": os.environ.get("BENCH_BASELINE", deploy_loop.BASELINE), "trees": measure()}


# --- machine -----------------------------------------------------------------------------


def version_of(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def describe_machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem_kb = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal")))
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "node": version_of([str(PROJECT_ROOT / ".venv" / "bin" / "node"), "--version"]),  # the project's
        "terraform": version_of(["terraform", "version"]) if shutil.which("terraform") else "not found",
        "load_average_at_start": os.getloadavg(),
        "cpu_probe_ms_at_start": cpu_probe_ms(),
    }


def cpu_probe_ms() -> float:
    """A fixed pure-Python loop, median of 5 (ms): how fast this machine ran at the time, so that
    absolute figures from runs on different days (or a noisy host) can be compared."""

    def once() -> float:
        started = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        return (time.perf_counter() - started) * 1000

    return round(statistics.median(once() for _ in range(5)), 1)


# --- what `make bench` runs, in order ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Benchmark:
    key: str  # where its figures go in results.json (report.py renders them)
    title: str  # printed when it starts
    measure: Callable[[dict], dict]  # the previous results (some keep figures not measured again) -> figures


BENCHMARKS = (
    Benchmark(
        "synth", "synth on each framework, ours vs the predecessor's AWS CDK app, from empty jsii caches", measure_synth
    ),
    Benchmark("cold_start_ms", "handler cold start", measure_cold_start),
    Benchmark("requests", "handler overhead per request", measure_requests),
    Benchmark("http_layer", "the HTTP layer, today's vs Powertools'", measure_http_layer),
    Benchmark("gateway", "local gateway", measure_gateway),
    Benchmark("emulator_persistence", "emulator persistence: a write saved vs not", measure_persistence),
    Benchmark("deploy_loop", "local deploy loop, ours vs the baseline", measure_deploy_loop),
    Benchmark("make_test", "make test, ours vs the baseline", measure_make_test),
    Benchmark("ci_run", ".ci/run from a bare clone, ours vs the baseline", measure_ci_run),
)


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results = {"machine": describe_machine(), "targets": TARGETS}
    print("machine:", json.dumps(results["machine"]), flush=True)
    only = chosen_benchmarks(previous)
    for benchmark in BENCHMARKS:
        if benchmark.key not in only:
            results[benchmark.key] = previous[benchmark.key]
            continue
        print(f"{benchmark.title} ...", flush=True)
        results[benchmark.key] = benchmark.measure(previous)
    results["machine"]["cpu_probe_ms_at_end"] = cpu_probe_ms()

    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    import report

    RESULTS_MD.write_text(report.markdown(results, previous_notes(RESULTS_MD)))
    print(RESULTS_MD.read_text())


def chosen_benchmarks(previous: dict) -> set[str]:
    """The keys of the benchmarks to run: BENCH_ONLY's, or all. A benchmark left out keeps its
    figures from the last run, so it must have some."""
    keys = [benchmark.key for benchmark in BENCHMARKS]
    only = os.environ.get("BENCH_ONLY", "").split() or keys
    unknown = sorted(set(only) - set(keys))
    if unknown:
        sys.exit(f"BENCH_ONLY names no benchmark {unknown}: choose from {keys}")
    missing = sorted(key for key in keys if key not in only and key not in previous)
    if missing:
        sys.exit(f"BENCH_ONLY leaves out {missing}, which {RESULTS_JSON} has no figures of: measure them too")
    return set(only)


def previous_notes(path: Path) -> str:
    """The hand-written analysis at the end of results.md survives a re-run."""
    marker = "## Where the time and memory go"
    text = path.read_text() if path.exists() else ""
    return text[text.index(marker) :] if marker in text else ""


if __name__ == "__main__":
    main()
