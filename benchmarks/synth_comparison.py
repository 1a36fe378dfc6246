"""Synth, ours vs the predecessor's AWS CDK app, from empty jsii caches, on each framework
(CDKTF, CDK Terrain): wall and CPU time, memory, when the template is written, and where one
of our synths spends its time (synth_phases.py)."""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import TimedRun, clean_env, run_measured, summarize

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
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
