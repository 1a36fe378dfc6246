"""docs/contributing.md's "How to add a route", walked in a copy of the project: its code
blocks applied as the recipe says, `make docs`, then the stack, handler and contract tests.
It proves a new route is one entry in the route table plus its function (and its test)."""

import hashlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import DEPLOYABLE_FILES, PROJECT_ROOT, copy_project

pytestmark = pytest.mark.emulator

CONTRIBUTING = PROJECT_ROOT / "docs" / "contributing.md"
# The copy: what deploys, plus the tests and docs the recipe touches and runs.
COPIED = (*DEPLOYABLE_FILES, "tests", "docs", "pytest.ini", "pyproject.toml")
ROUTE_TABLE = "ROUTES: tuple[Route, ...] = (\n"
# The tests the recipe's route must pass: its own, the handler's HTTP layer, the generated
# documents, the layers, the stack's synthesized JSON and the contract tests on the emulator.
TESTS = (
    "tests/handler/test_http_protocol.py",
    "tests/test_openapi.py",
    "tests/test_layout.py",
    "tests/test_stack.py",
    "tests/test_api_contract.py",
)
# (Schemathesis' tests cannot be chosen by node id: the file runs whole, the new route's among them.)
CONTRACT_TEST = "tests/test_api_contract.py::test_every_answer_is_documented[{method} {path}][all-checks]"
SECONDS = 480


def recipe_blocks(title: str) -> list[str]:
    """The Python code blocks of one "How to ..." section of docs/contributing.md, in order."""
    section = CONTRIBUTING.read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(block) for block in re.findall(r"^ *```python\n(.*?)^ *```", section, re.S | re.M)]


def add_route(project: Path, route: str, function: str, test: str) -> Path:
    """The recipe's edits: the route into the route table, the function into routing.py, and
    the test into the file its first line names."""
    contract = project / "handlers" / "reviews" / "contract.py"
    text = contract.read_text()
    end = text.index("\n)\n", text.index(ROUTE_TABLE))
    entry = textwrap.indent(route.rstrip() + ",\n", "    ")
    contract.write_text(text[: end + 1] + entry + text[end + 1 :])
    routing = project / "handlers" / "reviews" / "routing.py"
    routing.write_text(routing.read_text() + "\n\n" + function)
    test_file = project / test.splitlines()[0].removeprefix("# ")
    test_file.write_text(test)
    return test_file


def contents(root: Path) -> dict[str, str]:
    """Every file of the copied folders, by path, with its hash."""
    found = {}
    for name in COPIED:
        top = root / name
        for path in [top] if top.is_file() else top.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def test_a_new_route_is_one_route_entry_and_its_function(tmp_path):
    blocks = recipe_blocks("How to add a route")
    assert len(blocks) == 3, "the recipe shows the route, its function and its test"
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project", COPIED)
    before = contents(project)
    test_file = add_route(project, *blocks)
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "stacks.api_docs"], cwd=project, env=environ, check=True)

    after = contents(project)
    changed = {path for path in after if before.get(path) != after[path]}
    assert changed == {
        "handlers/reviews/contract.py",
        "handlers/reviews/routing.py",
        str(test_file.relative_to(project)),
        "docs/openapi.json",
        "docs/api.md",
    }
    method, path = re.findall(r'Route\("(\w+)", "([^"]+)"', blocks[0])[0]
    contract_tests = [CONTRACT_TEST.format(method=method, path=path), CONTRACT_TEST.format(method="OPTIONS", path=path)]
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "0",
            "-v",
            "-p",
            "no:cacheprovider",
            str(test_file),
            *TESTS,
            *contract_tests,
        ],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    passed = {line.split(" PASSED")[0] for line in tests.stdout.splitlines() if " PASSED" in line}
    assert set(contract_tests) <= passed, "the contract tests did not run on the new route"
    assert any(test.startswith(f"{test_file.relative_to(project)}::") for test in passed)
    assert "SKIPPED" not in tests.stdout
