"""`make test` and CI's `bash .ci/run`, the working tree ("ours") against a baseline revision,
measured in the same run (benchmarks/deploy_loop.py makes the two trees).

- make test (BENCH_MAKE_TEST=1): the lint target the tree's `make test` runs first, then its
  tests as its Makefile runs them, BENCH_MAKE_TEST_RUNS times per tree, alternating. Each run
  writes a JUnit report; a test file's time is the sum of its tests' setup, call and teardown
  (a module's deployment counts in its first test), in the worker that ran it.
- .ci/run (BENCH_CI_RUN=1): a copy of each tree with nothing installed, run as CI runs it
  (CI=true) with an empty HOME of its own, so that every cache starts empty (pip, pipenv, npm,
  jsii, and what the tree installs once per machine); then a second fresh copy with the same
  HOME, which is what the next CI run on that machine costs. Chromium, a Debian package, is
  installed machine-wide and is not part of either figure. The machine's own npm configuration
  is passed on (NPM_CONFIG_USERCONFIG), never read.
"""

import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path
from typing import Any

from deploy_loop import COMMAND_TIMEOUT, SHARED, Tree, clean_environment, copy_tree, trees
from measure import TimedRun, run_measured, summarize

CI_TIMEOUT = 5400  # CI's own limit for one run of .ci/run
TESTS_TOOK = re.compile(r"=+ .*\b(\d+) passed.* in ([\d.]+)s")


def pytest_command(root: Path) -> list[str]:
    """The pytest command line of the tree's `make test` (its Makefile's test recipe)."""
    makefile = (root / "Makefile").read_text()
    recipe = re.search(r"^\t@time \$\(PYTHON\) -m pytest(.*)$", makefile, re.MULTILINE)
    if not recipe:
        raise RuntimeError(f"no pytest command in {root}/Makefile's test recipe")
    arguments = recipe[1].split()
    workers = re.search(r"^TEST_WORKERS \?= (\d+)$", makefile, re.MULTILINE)
    expanded = [workers[1] if argument == "$(TEST_WORKERS)" and workers else argument for argument in arguments]
    return [str(root / ".venv" / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", *expanded]


def lint_target(root: Path) -> str:
    """The lint prerequisite of the tree's `test` target: `lint`, or in older trees
    `$(TEST_LINT)`, which names `lint-code`."""
    makefile = (root / "Makefile").read_text()
    prerequisites = re.search(r"^test: (.+)$", makefile, re.MULTILINE)
    if not prerequisites:
        raise RuntimeError(f"no test target in {root}/Makefile")
    first = next((name for name in prerequisites[1].split() if "LINT" in name.upper()), prerequisites[1].split()[0])
    variable = re.fullmatch(r"\$\((\w+)\)", first)
    value = variable and re.search(rf"^{variable[1]} :?= (\S+)$", makefile, re.MULTILINE)
    return value[1] if value else first


def file_seconds(junit: Path) -> dict[str, float]:
    """tests/<path>.py -> seconds its tests took (setup, call and teardown), from a JUnit report."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ElementTree.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")
        module = next((i for i, part in enumerate(parts) if part.startswith("test_")), len(parts) - 1)
        seconds["/".join(parts[: module + 1]) + ".py"] += float(case.get("time", 0))
    return dict(seconds)


def make_test_once(tree: Tree, junit: Path) -> dict[str, Any]:
    """Lint, then the tests, in `tree`: seconds, CPU, exit code, tests passed, seconds per file."""
    linted = run_measured(
        ["make", "--no-print-directory", "-o", ".venv/.synced", lint_target(tree.root)],
        clean_environment(),
        tree.root,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    tests = run_measured(
        [*pytest_command(tree.root), f"--junitxml={junit}"], clean_environment(), tree.root, timeout=3600, check=False
    )
    passed = re.findall(r"(\d+) passed", tests.output)
    return {
        "seconds": linted.seconds + tests.seconds,
        "cpu_seconds": linted.cpu_seconds + tests.cpu_seconds,
        "lint_seconds": linted.seconds,
        "tests_seconds": tests.seconds,
        "exit_code": linted.returncode or tests.returncode,
        "passed": int(passed[-1]) if passed else 0,
        "files": file_seconds(junit) if junit.exists() else {},
        "load_average_after": os.getloadavg(),
    }


def measure_make_test(runs: int) -> dict:
    """`make test` in both trees, `runs` times each, alternating; medians, and per test file."""
    measured: dict[str, list[dict]] = {"ours": [], "baseline": []}
    with trees() as both, tempfile.TemporaryDirectory(prefix="bench-junit-") as reports:
        for run in range(runs):
            for tree in both:
                print(f"  {tree.name}: make test ({run + 1}/{runs}) ...", flush=True)
                figures = make_test_once(tree, Path(reports) / f"{tree.name}-{run}.xml")
                measured[tree.name].append(figures)
                print(
                    f"    {figures['seconds']:.0f} s, exit {figures['exit_code']}, {figures['passed']} passed",
                    flush=True,
                )
        commands = {tree.name: " ".join(["python", *pytest_command(tree.root)[1:]]) for tree in both}
    return {tree: {**summarize_make_test(runs_of), "command": commands[tree]} for tree, runs_of in measured.items()}


def summarize_make_test(runs: list[dict]) -> dict:
    files = sorted({name for run in runs for name in run["files"]})
    return {
        **{
            key: vars(summarize([run[key] for run in runs]))
            for key in ("seconds", "cpu_seconds", "lint_seconds", "tests_seconds")
        },
        "exit_codes": [run["exit_code"] for run in runs],
        "passed": [run["passed"] for run in runs],
        "files": {
            name: vars(summarize([run["files"][name] for run in runs if name in run["files"]])) for name in files
        },
        "measured_on": time.strftime("%Y-%m-%d"),
        "load_average_after": [run["load_average_after"] for run in runs],
    }


# --- .ci/run from a bare clone -------------------------------------------------------------


def bare_environment(home: Path) -> dict[str, str]:
    """CI's environment on a machine whose caches are all in `home` (empty at first): none of
    the project's tool settings or a virtualenv's, none of the bench's."""
    from deploy.project_env import tool_settings  # importable once deploy_loop put the project on sys.path

    project_settings = set(tool_settings())
    inherited = {
        name: value
        for name, value in clean_environment().items()
        if name not in project_settings and not name.startswith(("PIPENV_", "VIRTUAL_ENV", "NPM_CONFIG_", "XDG_"))
    }
    npm_config = Path.home() / ".npmrc"
    passed_on = {"NPM_CONFIG_USERCONFIG": str(npm_config)} if npm_config.exists() else {}
    return {**inherited, **passed_on, "HOME": str(home), "CI": "true"}


def ci_run_once(tree: Tree, scratch: Path, home: Path, kind: str) -> dict[str, Any]:
    """`bash .ci/run` in a fresh copy of `tree` with nothing installed."""
    root = copy_tree(f"{tree.name}-{kind}", tree.revision, scratch)
    for shared in SHARED:
        (root / shared).unlink()  # nothing installed: the copy installs what it needs itself
    timed = run_measured(["bash", ".ci/run"], bare_environment(home), root, timeout=CI_TIMEOUT, check=False)
    shutil.rmtree(root, ignore_errors=True)
    return ci_figures(timed)


def ci_figures(timed: TimedRun) -> dict[str, Any]:
    tests = TESTS_TOOK.findall(timed.output)  # one summary per pytest run: make test's, then CDK Terrain's
    tests_seconds = sum(float(took) for _, took in tests)
    return {
        "seconds": timed.seconds,
        "cpu_seconds": timed.cpu_seconds,
        "tests_seconds": tests_seconds,
        "before_tests_seconds": timed.seconds - tests_seconds,  # installs and lint
        "exit_code": timed.returncode,
        "passed": sum(int(passed) for passed, _ in tests),
        "tail": timed.output[-1500:] if timed.returncode else "",
        "load_average_after": os.getloadavg(),
    }


def measure_ci_run() -> dict:
    """Each tree's `.ci/run` from a bare clone (empty caches), then again from another fresh clone
    on the same machine (its caches kept): ours, the baseline, ours, the baseline."""
    measured: dict[str, dict[str, dict]] = {"ours": {}, "baseline": {}}
    with trees() as both, tempfile.TemporaryDirectory(prefix="bench-ci-") as scratch_dir:
        scratch = Path(scratch_dir)
        for kind in ("bare", "cached"):
            for tree in both:
                print(f"  {tree.name}: bash .ci/run, {kind} ...", flush=True)
                home = scratch / f"home-{tree.name}"
                home.mkdir(exist_ok=True)
                figures = ci_run_once(tree, scratch, home, kind)
                measured[tree.name][kind] = figures
                print(f"    {figures['seconds']:.0f} s, exit {figures['exit_code']}", flush=True)
    return measured
