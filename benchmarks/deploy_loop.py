"""The local deploy loop, the working tree ("ours") against a baseline revision: `make up` from a
clean emulator, a handler change until `make up` serves it, `make plan` on the local target,
and (BENCH_MAKE_TEST=1) `make test`.

Each tree is a copy (its tracked files; the baseline's from `git archive`) sharing the installed
packages and caches, with ports of its own. The measurements alternate between the two trees,
so both see the same machine load. Each `make up` and `make plan` runs benchmarks/deploy_phases.py
(`python -m deploy ...` with a clock around synth, each Terraform command and checkov), and its
output gives the steps `make up` reports (`--> step` ... `done in N s`) and the waits Terraform
reports per resource (`Creation complete after 13s`).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import run_measured, summarize

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_ROOT))
from deploy.local_target import LocalTarget  # noqa: E402 - after the project is on the path
from localaws.processes import PROC, Identity, signal_if_same  # noqa: E402 - after the project is on the path
from tests.deployments import disposable_settings, stop_serving  # noqa: E402 - after the project is on the path

# main before the test-speed work (the provider relay, installs kept per machine, the shared
# deployment, a faster make plan). The figures against the earlier baseline (48ec208, before
# the deploy-loop work) are in results.md's history.
BASELINE = "b0f9de0"
SHARED = (".venv", "node_modules", ".terraformrc", ".cache")  # installed once, used by both trees
HANDLER_FILE = Path("handlers/reviews/responses.py")
MAX_AGE = re.compile(r'MAX_AGE_SECONDS = "(\d+)"')
STEP = re.compile(r"^--> (.*)$")
DONE = re.compile(r"^    done in ([\d.]+) s$")
# What make up and make plan print as a step ("--> Starting the emulator (moto server) on ..."), by
# how it starts, and what the report calls it.
STEP_NAMES = {
    "Starting the emulator": "emulator start",
    "Checking the Terraform state bucket": "state bucket check",
    "Synthesizing": "synth",
    "Preparing Terraform": "terraform init (if needed), lock check, state read",
    "Applying": "terraform apply",
    "Starting the local API gateway": "gateway start",
    "Smoke test": "smoke test",
    "Starting the storefront": "storefront start",
    "Planning": "plan and review (terraform, checkov)",
}
# Terraform's own account of a resource's wait: "aws_kms_key.x: Creation complete after 13s".
WAITED = re.compile(r"^[ \t]*(\w+)\.\S+: (Creation|Modifications|Destruction) complete after (\d+)s", re.MULTILINE)
PHASES = re.compile(r'^\{"exit": .*\}$', re.MULTILINE)
COMMAND_TIMEOUT = 900
WATCH_EDITS = 5  # handler edits per run under make watch


@dataclass(frozen=True)
class Tree:
    """One copy of the project and the settings its `make up` runs with."""

    name: str
    root: Path
    settings: dict[str, str]
    revision: str | None  # None: the working tree

    @property
    def target(self) -> LocalTarget:
        return LocalTarget.load(self.settings, project_dir=self.root)

    def deploy(self, *arguments: str) -> dict:
        """`python -m deploy <arguments>` timed: wall and CPU seconds, steps, Terraform phases, waits."""
        timed = run_measured(
            [sys.executable, str(BENCH_DIR / "deploy_phases.py"), *arguments],
            {**clean_environment(), **self.settings},
            self.root,
            timeout=COMMAND_TIMEOUT,
        )
        return {"seconds": timed.seconds, "cpu_seconds": timed.cpu_seconds, **breakdown(timed.output)}

    def stop(self) -> None:
        """Gateway, storefront and emulator stopped: the next make up starts from a clean emulator.
        Our code signals only processes it can prove it started, by their command line and state
        file; the baseline's servers were started by the baseline's code, whose differ. What runs
        from inside this tree's scratch copy is the bench's own, so it is stopped by that."""
        stop_serving(self.target)
        for leader in started_in(self.root):
            signal_if_same(leader, signal.SIGTERM, group=True)

    def change_handler(self) -> str:
        """Edits the handler (the CORS preflight's max age, which the stack does not see); returns
        the value the new code answers with."""
        path = self.root / HANDLER_FILE
        found = MAX_AGE.search(path.read_text())
        if not found:
            raise RuntimeError(f"no MAX_AGE_SECONDS in {path}: the handler change needs another edit")
        changed = str(int(found[1]) + 1)
        path.write_text(MAX_AGE.sub(f'MAX_AGE_SECONDS = "{changed}"', path.read_text()))
        return changed

    def served_max_age(self) -> str | None:
        preflight = urllib.request.Request(self.target.gateway.url + "/reviews", method="OPTIONS")
        with urllib.request.urlopen(preflight, timeout=10) as reply:
            return reply.headers["Access-Control-Max-Age"]


def started_in(root: Path) -> list[Identity]:
    """The session leaders (servers start in sessions of their own) whose working directory is `root`."""
    leaders = []
    for proc in PROC.glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if Path(os.readlink(proc / "cwd")) == root and os.getsid(int(proc.name)) == int(proc.name):
                leaders.append(Identity.of(int(proc.name)))
    return [leader for leader in leaders if leader]


def clean_environment() -> dict[str, str]:
    """The caller's environment without stack settings and the tool tuning each tree's .env
    brings (GOGC, TF_*, ...), so that neither tree runs with the other's."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("REVIEWS_", "ENVIRONMENT_SUFFIX", "AWS_", "JSII_", "TF_", "GO", "MAKE"))
        and name != "NODE_OPTIONS"
    }


def breakdown(output: str) -> dict:
    """The steps `make up`/`make plan` printed with their durations, the Terraform phases
    deploy_phases.py timed (seconds, summed per command), and the waits Terraform reported."""
    steps: dict[str, float] = {}
    current = None
    for line in output.splitlines():
        if found := STEP.match(line):
            current = next((name for start, name in STEP_NAMES.items() if found[1].startswith(start)), found[1])
        elif (found := DONE.match(line)) and current:
            steps[current] = steps.get(current, 0.0) + float(found[1])
    record = PHASES.findall(output)
    phases: dict[str, float] = {}
    for what, started, ended in json.loads(record[-1])["phases"] if record else []:
        phases[what] = phases.get(what, 0.0) + ended - started
    waits: dict[str, float] = {}
    for resource_type, _, seconds in WAITED.findall(output):
        waits[resource_type] = max(waits.get(resource_type, 0.0), float(seconds))
    return {"steps": steps, "phases": phases, "waits": {kind: s for kind, s in waits.items() if s > 0}}


def copy_tree(name: str, revision: str | None, destination: Path) -> Path:
    """The project's tracked files at `revision` (None: the working tree) in destination/name,
    sharing the installed packages and caches."""
    root = destination / name
    root.mkdir()
    if revision:
        archive = subprocess.run(["git", "archive", revision], cwd=PROJECT_ROOT, capture_output=True, check=True)
        archive_path = destination / f"{name}.tar"
        archive_path.write_bytes(archive.stdout)
        with tarfile.open(archive_path) as tar:
            tar.extractall(root, filter="tar")
    else:
        tracked = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        )
        for relative in filter(None, tracked.stdout.decode().split("\0")):
            source = PROJECT_ROOT / relative
            if source.is_file():
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / relative)
    # A repository of its own: tests/test_code_checks.py lists the files with `git ls-files`.
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    for shared in SHARED:
        (root / shared).symlink_to(PROJECT_ROOT / shared)
    return root


@contextmanager
def trees() -> Iterator[list[Tree]]:
    """Ours and the baseline, each with free ports; everything they started is stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as scratch:
        made = []
        for name, revision in (("ours", None), ("baseline", os.environ.get("BENCH_BASELINE", BASELINE))):
            made.append(Tree(name, copy_tree(name, revision, Path(scratch)), disposable_settings("bench"), revision))
        try:
            yield made
        finally:
            for tree in made:
                tree.stop()


def measure(runs: int) -> dict:
    """make up from a clean emulator, handler change -> live and make plan, `runs` times each per tree."""
    results: dict[str, dict[str, list[dict]]] = {}
    with trees() as both:
        for tree in both:  # the first make up of a tree also runs terraform init: reported apart
            results.setdefault(tree.name, {})["first_up"] = [tree.deploy("up")]
            tree.stop()
        for run in range(runs):
            for tree in both:
                print(f"  {tree.name}: make up from a clean emulator ({run + 1}/{runs}) ...", flush=True)
                results[tree.name].setdefault("up", []).append(tree.deploy("up"))
            for tree in both:
                live = tree.change_handler()
                changed = tree.deploy("up")
                served = tree.served_max_age()
                if served != live:
                    raise RuntimeError(f"{tree.name}: after make up the gateway serves max age {served}, not {live}")
                results[tree.name].setdefault("handler_change", []).append(changed)
            ours = both[0]
            results[ours.name].setdefault("watch", []).append(measure_watch(ours, WATCH_EDITS))
            results[ours.name].setdefault("up_after_watch", []).append(ours.deploy("up"))
            for tree in both:
                plan_dir = tree.root / "build" / "plan" / "bench"
                results[tree.name].setdefault("plan", []).append(tree.deploy("plan", "--out", str(plan_dir)))
                tree.stop()
    report_runs(results)
    summary = {
        tree: {kind: summarize_deploys(measured) for kind, measured in kinds.items()} for tree, kinds in results.items()
    }
    each = [seconds for run in results["ours"].get("watch", []) for seconds in run["each"]]
    summary["ours"]["watch_save_to_served"] = vars(summarize(each)) if each else {}
    return summary


def measure_watch(tree: Tree, edits: int) -> dict:
    """`make watch` in the tree (after its make up): each of `edits` handler edits, from the
    file's save to the gateway serving it (polled every 20 ms); seconds."""
    watching = subprocess.Popen(
        [sys.executable, "-m", "deploy", "watch"],
        cwd=tree.root,
        env={**clean_environment(), **tree.settings},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watching.stdout  # the pipe just asked for (typed optional)
        watching.stdout.readline()  # "Watching ...": it has taken its first look at the files
        served = []
        for _ in range(edits):
            live = tree.change_handler()
            saved = time.monotonic()
            while tree.served_max_age() != live:
                if time.monotonic() - saved > 60:
                    raise RuntimeError(f"{tree.name}: make watch did not serve the edit within 60 s")
                time.sleep(0.02)  # an answer other than 2xx fails the run: a developer would see it
            served.append(time.monotonic() - saved)
            time.sleep(0.5)  # a developer does not save ten times a second
    finally:
        watching.send_signal(signal.SIGINT)
        watching.wait(timeout=30)
    return {"seconds": sum(served), "cpu_seconds": 0.0, "steps": {}, "phases": {}, "waits": {}, "each": served}


def report_runs(results: dict) -> None:
    for tree, kinds in results.items():
        for kind, measured in kinds.items():
            seconds = ", ".join(f"{run['seconds']:.1f}" for run in measured)
            print(f"  {tree:8} {kind:15} {seconds} s", flush=True)


def summarize_deploys(measured: list[dict]) -> dict:
    """Medians of the totals, and of every step, phase and wait (over the runs that had it)."""
    summary: dict[str, Any] = {
        key: vars(summarize([run[key] for run in measured])) for key in ("seconds", "cpu_seconds")
    }
    for part in ("steps", "phases", "waits"):
        names = {name: None for run in measured for name in run[part]}
        summary[part] = {
            name: vars(summarize([run[part][name] for run in measured if name in run[part]])) for name in names
        }
    summary["load_average_after"] = os.getloadavg()
    return summary
