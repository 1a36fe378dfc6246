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
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import TimedRun, run_measured, summarize

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "results.md"
STACK = "product-reviews-bench"
SYNTH_ENV = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_ACCOUNT_ID": "111122223333",
    "REVIEWS_STATE_BUCKET": "example-bucket",
    "REVIEWS_STATE_KMS_KEY": "arn:aws:kms:us-east-2:111122223333:key/0b8f6a52-7c1e-4d3a-9f2b-5e6c7d8a9b01",
    "ENVIRONMENT_SUFFIX": "bench",
    "CHECKPOINT_DISABLE": "1",
}
# The project's Node.js (make deps links it there) for the predecessor's jsii kernel too, so
# that both apps run on the same node.
PROJECT_NODE_PATH = f"{PROJECT_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
# Fake credentials and no config files: creating a client must not look for real ones or call IMDS.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-2",
    "AWS_DEFAULT_REGION": "us-east-2",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "ProductReviews-bench",
    "REVIEWER_INDEX_NAME": "ReviewerIdIndex",
    "ALLOWED_ORIGINS": "*",
}
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


def clean_env(extra: dict) -> dict:
    """The caller's environment without stack, AWS, CDK and jsii settings (they would change what is measured)."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REVIEWS_", "CDKTF_", "CDK_", "AWS_", "JSII_")) and k != "NODE_OPTIONS"
    }
    return {**inherited, **extra}


# --- synth -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SynthApp:
    """A CDK app run as its users run it, writing into a fresh output folder each time."""

    command: list[str]
    cwd: Path
    env: dict
    outdir_variable: str  # the variable the app's App() reads its output folder from
    written_file: str  # what each synth must write, relative to that folder

    def synth(self, outdir: Path) -> dict:
        timed = run_measured(self.command, {**self.env, self.outdir_variable: str(outdir)}, self.cwd)
        written_at = (outdir / self.written_file).stat().st_mtime
        return {**run_figures(timed), "json_written_after": written_at - timed.started_at}

    def with_cache(self, cache: Path) -> "SynthApp":
        return dataclasses.replace(self, env={**self.env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(cache)})


def synth_apps(scratch: Path) -> dict[str, SynthApp]:
    import predecessor

    predecessor.write_app(scratch / "predecessor")
    return {
        "ours": SynthApp(
            [sys.executable, "main.py"],
            PROJECT_ROOT,
            clean_env(SYNTH_ENV),
            "CDKTF_OUTDIR",
            f"stacks/{STACK}/cdk.tf.json",
        ),
        "predecessor": SynthApp(
            [str(predecessor.python()), predecessor.ENTRY_POINT],
            scratch / "predecessor",
            clean_env({"PATH": PROJECT_NODE_PATH}),
            "CDK_OUTDIR",
            predecessor.STACK_TEMPLATE,
        ),
    }


def run_figures(timed: TimedRun) -> dict:
    return {
        "seconds": timed.seconds,
        "cpu_seconds": timed.cpu_seconds,
        "largest_process_mb": timed.largest_process_mb,
        "peak_mb": timed.peak_mb,
        "peak_mb_by_command": timed.peak_mb_by_command,
    }


def set_up(cache: Path) -> dict:
    """The README's set-up, `make deps`, as a fresh clone runs it: with everything else installed,
    only the jsii cache step has work to do."""
    env = clean_env({})
    figures = run_figures(
        run_measured(
            # A machine cache of its own too: make deps keeps the jsii cache there, keyed.
            [
                "make",
                "--no-print-directory",
                "deps",
                f"JSII_RUNTIME_PACKAGE_CACHE_ROOT={cache}",
                f"MACHINE_CACHE={cache}-machine",
            ],
            env,
            PROJECT_ROOT,
        )
    )
    print(f"  set-up (make deps, empty jsii cache): {figures['seconds']:.1f} s", flush=True)
    return figures


def measure_synth(fresh_caches: int, later_runs: int) -> dict:
    """Ours (set up as a fresh clone is) vs the predecessor's AWS CDK app, each from empty jsii
    caches: the first synth once per fresh cache, then `later_runs` more, alternating the apps."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch_dir:
        scratch = Path(scratch_dir)
        apps = synth_apps(scratch)
        setups: list[dict] = []
        runs: dict[str, dict[str, list[dict]]] = {name: {"first": [], "later": []} for name in apps}
        for cycle in range(fresh_caches):
            cached = {name: app.with_cache(scratch / f"{name}-jsii-{cycle}") for name, app in apps.items()}
            setups.append(set_up(scratch / f"ours-jsii-{cycle}"))
            for name, app in cached.items():
                runs[name]["first"].append(report_run(name, "first", app.synth(scratch / f"{name}-first-{cycle}")))
        for run in range(later_runs):
            for name, app in cached.items():
                runs[name]["later"].append(report_run(name, "later", app.synth(scratch / f"{name}-later-{run}")))
        phases = measure_synth_phases(cached["ours"].env, scratch, later_runs)
    result: dict[str, Any] = {
        "setup": summarize_runs(setups),
        "phases_ms": phases,
        "load_average_after": os.getloadavg(),
    }
    for name, by_kind in runs.items():
        result[name] = {kind: summarize_runs(timings) for kind, timings in by_kind.items()}
    for kind in ("first", "later"):
        ours, predecessor = result["ours"][kind]["seconds"], result["predecessor"][kind]["seconds"]
        result[f"ratio_{kind}"] = ours["median"] / predecessor["median"]
    return result


def measure_synth_on_each_framework(fresh_caches: int, later_runs: int) -> dict:
    """measure_synth() on each framework of BENCH_FRAMEWORKS, installed in turn by `make deps
    CDK=...` (how long that took is reported beside it); the tree's own goes back at the end."""
    [marker] = (PROJECT_ROOT / ".venv").glob(".cdk-*")  # written by make deps
    installed = marker.name.removeprefix(".cdk-")
    results = {}
    try:
        for framework in os.environ.get("BENCH_FRAMEWORKS", "cdktf cdktn").split():
            print(f"  installing {framework} (make deps CDK={framework}) ...", flush=True)
            install = run_figures(switch_framework(framework))
            results[framework] = {**measure_synth(fresh_caches, later_runs), "install": install}
    finally:
        switch_framework(installed)
    return results


def switch_framework(framework: str) -> TimedRun:
    command = ["make", "--no-print-directory", "deps", f"CDK={framework}"]
    return run_measured(command, clean_env({}), PROJECT_ROOT, timeout=1800)


def report_run(name: str, kind: str, figures: dict) -> dict:
    print(
        f"  synth {name:11} {kind:5}: {figures['seconds']:.2f} s (CPU {figures['cpu_seconds']:.2f} s), "
        f"largest process {figures['largest_process_mb']:.0f} MB, sum {figures['peak_mb']:.0f} MB "
        f"{fmt_mb(figures['peak_mb_by_command'])}",
        flush=True,
    )
    return figures


def summarize_runs(runs: list[dict]) -> dict:
    summary = {key: vars(summarize([run[key] for run in runs])) for key in runs[0] if key != "peak_mb_by_command"}
    summary["peak_mb_by_command"] = {
        command: round(max(run["peak_mb_by_command"].get(command, 0) for run in runs))
        for command in {c for run in runs for c in run["peak_mb_by_command"]}
    }
    return summary


def measure_synth_phases(env: dict, scratch: Path, runs: int) -> dict:
    """benchmarks/synth_phases.py `runs` times: milliseconds per phase, start-up to exit."""
    durations: dict[str, list[float]] = {}
    for run in range(runs):
        launched = time.time()
        completed = subprocess.run(
            [sys.executable, str(BENCH_DIR / "synth_phases.py")],
            cwd=PROJECT_ROOT,
            env={**env, "CDKTF_OUTDIR": str(scratch / f"phases-{run}")},
            capture_output=True,
            text=True,
            check=True,
        )
        exited = time.time()
        marks = json.loads(completed.stdout.splitlines()[-1])
        names = ["interpreter start-up", *list(marks)[1:], "shutdown (kernel, interpreter)"]
        times = [launched, *marks.values(), exited]
        for name, before, after in zip(names, times[:-1], times[1:], strict=True):
            durations.setdefault(name, []).append((after - before) * 1000)
    return {name: vars(summarize(values)) for name, values in durations.items()}


def fmt_mb(by_command: dict) -> str:
    return "(" + ", ".join(f"{c} {mb:.0f}" for c, mb in sorted(by_command.items())) + ")"


# --- handler cold start -----------------------------------------------------------------

COLD_START_SNIPPETS = {
    "handler": "import reviews.app\nreviews.app.default_app()",
    "bare_boto3": "import boto3\nboto3.client('dynamodb', region_name='us-east-2')",
}
TIMED_SNIPPET = "import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"


def measure_cold_start(runs: int) -> dict:
    """Import + client creation in fresh interpreters (interpreter start-up excluded, the same for both)."""
    env = clean_env({**AWS_ENV, "PYTHONPATH": str(PROJECT_ROOT / "handlers")})
    seconds: dict[str, list[float]] = {name: [] for name in COLD_START_SNIPPETS}
    for _ in range(runs):
        for name, code in COLD_START_SNIPPETS.items():
            out = subprocess.run(
                [sys.executable, "-c", TIMED_SNIPPET.format(code=code)],
                env=env,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seconds[name].append(float(out.split()[-1]) * 1000)
    result = {name: vars(summarize(values)) for name, values in seconds.items()}
    result["ratio"] = result["handler"]["median"] / result["bare_boto3"]["median"]
    return result


# --- handler overhead per request ------------------------------------------------------


def measure_requests(batches: int, calls: int) -> dict:
    os.environ.update(AWS_ENV)
    import handler_requests

    return {
        route: with_own_work(handler_requests.measure_route(route, batches, calls)) for route in handler_requests.ROUTES
    }


def with_own_work(figures: dict) -> dict:
    """Adds the handler's own work per request: end to end minus the same DynamoDB call(s) made bare."""
    return {**figures, "own_work_ms": (figures["handler_us"] - figures["bare_us"]) / 1000}


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


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results = {"machine": describe_machine(), "targets": TARGETS}
    print("machine:", json.dumps(results["machine"]), flush=True)

    print("synth on each framework, ours vs the predecessor's AWS CDK app, from empty jsii caches ...", flush=True)
    results["synth"] = measure_synth_on_each_framework(
        max(1, setting("BENCH_FRESH_CACHES", 3)), setting("BENCH_RUNS", 5)
    )
    print("handler cold start ...", flush=True)
    results["cold_start_ms"] = measure_cold_start(setting("BENCH_COLD_START_RUNS", 15))
    print("handler overhead per request ...", flush=True)
    results["requests"] = measure_requests(setting("BENCH_BATCHES", 7), setting("BENCH_CALLS", 300))
    print("the HTTP layer, today's vs Powertools' ...", flush=True)
    import http_layer

    results["http_layer"] = http_layer.measure(setting, clean_env(AWS_ENV))
    print("local gateway ...", flush=True)
    import gateway_load

    gateway_seconds = setting("BENCH_GATEWAY_SECONDS", 5)
    kept = previous.get("gateway") if gateway_seconds == 0 else None
    results["gateway"] = kept or gateway_load.measure(gateway_seconds)
    print("emulator persistence: a write saved vs not ...", flush=True)
    import emulator_persistence

    results["emulator_persistence"] = emulator_persistence.measure(setting("BENCH_PERSISTENCE_REQUESTS", 200))
    print("local deploy loop, ours vs the baseline ...", flush=True)
    results["deploy_loop"] = measure_deploy_loop(previous)
    results["make_test"] = measure_make_test(previous)
    print(".ci/run from a bare clone, ours vs the baseline ...", flush=True)
    results["ci_run"] = measure_ci_run(previous)
    results["machine"]["cpu_probe_ms_at_end"] = cpu_probe_ms()

    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    import report

    RESULTS_MD.write_text(report.markdown(results, previous_notes(RESULTS_MD)))
    print(RESULTS_MD.read_text())


def previous_notes(path: Path) -> str:
    """The hand-written analysis at the end of results.md survives a re-run."""
    marker = "## Where the time and memory go"
    text = path.read_text() if path.exists() else ""
    return text[text.index(marker) :] if marker in text else ""


if __name__ == "__main__":
    main()
