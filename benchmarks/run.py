#!/usr/bin/env python3
"""`make bench`: measures synth, handler cold start, handler overhead, the local gateway and
(optionally) `make test`, each against a baseline measured in the same run, and writes
benchmarks/results.md (for people) and benchmarks/results.json (for tools).

Targets are reported as pass/miss; a miss never fails the run. Settings (environment):
  BENCH_RUNS=5              synth runs per variant (fast loading, eager import)
  BENCH_COLD_START_RUNS=15  fresh interpreters per cold-start variant
  BENCH_BATCHES=7 BENCH_CALLS=300   handler-overhead batches and calls per batch
  BENCH_GATEWAY_SECONDS=5   load duration per gateway concurrency level; 0 skips the section
  BENCH_MAKE_TEST=1         also time `make test` (minutes); otherwise the last figure is kept
"""

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import run_measured, summarize

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "results.md"
STACK = "product-reviews-bench"
SYNTH_ENV = {
    "REVIEWS_TARGET": "aws", "REVIEWS_STATE_BUCKET": "example-bucket", "ENVIRONMENT_SUFFIX": "bench",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CHECKPOINT_DISABLE": "1",
    "JSII_RUNTIME_PACKAGE_CACHE_ROOT": os.environ.get(
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(PROJECT_ROOT / ".cache" / "jsii")),
}
# Fake credentials and no config files: creating a client must not look for real ones or call IMDS.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-2",
    "AWS_DEFAULT_REGION": "us-east-2", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "ProductReviews-bench", "REVIEWER_INDEX_NAME": "ReviewerIdIndex", "ALLOWED_ORIGINS": "*",
}
TARGETS = {
    "synth_seconds": 3.0, "synth_vs_eager": 0.35, "synth_peak_mb": 700,
    "cold_start_ratio": 1.15, "request_ratio": 1.2, "make_test_seconds": 360,
}


def setting(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def clean_env(extra: dict) -> dict:
    """The caller's environment without stack settings (they would change what is measured)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWS_", "CDKTF_", "AWS_"))}
    return {**inherited, **extra}


# --- synth -------------------------------------------------------------------------------

def measure_synth(runs: int) -> dict:
    """`python main.py` with fast provider loading vs the eager import, alternating the two."""
    variants = {"fast": {}, "eager": {"REVIEWS_EAGER_PROVIDER_IMPORT": "1"}}
    measured = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        for run in range(runs):
            for name, extra in variants.items():
                outdir = Path(scratch) / f"{name}-{run}"
                env = clean_env({**SYNTH_ENV, **extra, "CDKTF_OUTDIR": str(outdir)})
                timed = run_measured([sys.executable, "main.py"], env, PROJECT_ROOT)
                written = (outdir / "stacks" / STACK / "cdk.tf.json").stat().st_mtime - timed.started_at
                measured[name].append((timed, written))
                print(f"  synth {name:5} run {run + 1}: {timed.seconds:.2f} s, "
                      f"peak {timed.peak_mb:.0f} MB {fmt_mb(timed.peak_mb_by_command)}", flush=True)
    result = {}
    for name, timings in measured.items():
        result[name] = {
            "seconds": vars(summarize([t.seconds for t, _ in timings])),
            "json_written_after_seconds": vars(summarize([w for _, w in timings])),
            "peak_mb": vars(summarize([t.peak_mb for t, _ in timings])),
            "peak_simultaneous_mb": vars(summarize([t.peak_total_mb for t, _ in timings])),
            "peak_mb_by_command": {
                command: round(max(t.peak_mb_by_command.get(command, 0) for t, _ in timings))
                for command in {c for t, _ in timings for c in t.peak_mb_by_command}
            },
        }
    result["ratio"] = result["fast"]["seconds"]["median"] / result["eager"]["seconds"]["median"]
    return result


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
    seconds = {name: [] for name in COLD_START_SNIPPETS}
    for _ in range(runs):
        for name, code in COLD_START_SNIPPETS.items():
            out = subprocess.run([sys.executable, "-c", TIMED_SNIPPET.format(code=code)], env=env,
                                 cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
            seconds[name].append(float(out.split()[-1]) * 1000)
    result = {name: vars(summarize(values)) for name, values in seconds.items()}
    result["ratio"] = result["handler"]["median"] / result["bare_boto3"]["median"]
    return result


# --- handler overhead per request ------------------------------------------------------

def measure_requests(batches: int, calls: int) -> dict:
    os.environ.update(AWS_ENV)
    import handler_requests

    return {route: handler_requests.measure_route(route, batches, calls) for route in handler_requests.ROUTES}


# --- make test --------------------------------------------------------------------------

def measure_make_test(previous: dict) -> dict:
    if os.environ.get("BENCH_MAKE_TEST") != "1":
        kept = previous.get("make_test")
        return kept or {"not_measured": "run with BENCH_MAKE_TEST=1 (takes minutes)"}
    started = time.perf_counter()
    completed = subprocess.run(["make", "test"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    return {"seconds": time.perf_counter() - started, "exit_code": completed.returncode,
            "measured_on": datetime.date.today().isoformat(), "tail": completed.stdout[-400:]}


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
    jsii_cache = Path(SYNTH_ENV["JSII_RUNTIME_PACKAGE_CACHE_ROOT"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024**2, 1),
        "os": platform.platform(), "python": platform.python_version(),
        "node": version_of(["node", "--version"]),
        "terraform": version_of(["terraform", "version"]) if shutil.which("terraform") else "not found",
        "load_average_at_start": os.getloadavg(),
        "jsii_cache_warm": any(jsii_cache.glob("@cdktf/provider-aws/*")),
    }


def main() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results = {"machine": describe_machine(), "targets": TARGETS}
    print("machine:", json.dumps(results["machine"]), flush=True)

    print("synth (fast loading vs eager import) ...", flush=True)
    results["synth"] = measure_synth(setting("BENCH_RUNS", 5))
    print("handler cold start ...", flush=True)
    results["cold_start_ms"] = measure_cold_start(setting("BENCH_COLD_START_RUNS", 15))
    print("handler overhead per request ...", flush=True)
    results["requests"] = measure_requests(setting("BENCH_BATCHES", 7), setting("BENCH_CALLS", 300))
    print("local gateway ...", flush=True)
    import gateway_load

    results["gateway"] = gateway_load.measure(setting("BENCH_GATEWAY_SECONDS", 5))
    results["make_test"] = measure_make_test(previous)

    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    import report

    RESULTS_MD.write_text(report.markdown(results, previous_notes(RESULTS_MD)))
    print(RESULTS_MD.read_text())


def previous_notes(path: Path) -> str:
    """The hand-written analysis at the end of results.md survives a re-run."""
    marker = "## Where the time and memory go"
    text = path.read_text() if path.exists() else ""
    return text[text.index(marker):] if marker in text else ""


if __name__ == "__main__":
    main()
