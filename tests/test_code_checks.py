"""Checks over the project's code that no linter makes:

- Every suppressed lint or type finding names its code and says why, on the same line:

      except Exception:  # noqa: BLE001 - the one place a fault becomes a 500
      reasons = ...  # type: ignore[assignment]  # mistyped stubs

  ruff (RUF100) and mypy (warn_unused_ignores) already report suppressions that suppress nothing.
- No function outside tests/ is longer than MAX_FUNCTION_LINES: a newcomer reads one at a glance.
"""

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

SUPPRESSION = re.compile(r"\bnoqa\b|\btype:\s*ignore\b", re.IGNORECASE)
# Codes, then " - reason" (how ruff reads it) or "  # reason" (the only form mypy accepts).
NOQA_WITH_REASON = re.compile(r"#\s*noqa:\s*[A-Z]+[0-9]+(?:,\s*[A-Z]+[0-9]+)*\s+(?:-|#)\s*\w")
IGNORE_WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(?:,\s*[a-z-]+)*\]\s+#\s*\w")


def unexplained_suppressions(source: str) -> list[tuple[int, str]]:
    """(line, comment) for each noqa or type: ignore comment without a code and a reason."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        comment = token.string
        if token.type != tokenize.COMMENT or not SUPPRESSION.search(comment):
            continue
        if not (NOQA_WITH_REASON.search(comment) or IGNORE_WITH_REASON.search(comment)):
            found.append((token.start[0], comment))
    return found


def python_files() -> list[Path]:
    """The project's Python files: tracked, or new and not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [PROJECT_ROOT / name for name in listed if (PROJECT_ROOT / name).is_file()]


def test_every_noqa_and_type_ignore_names_its_code_and_reason():
    files = python_files()
    assert PROJECT_ROOT / "handlers" / "reviews" / "app.py" in files
    unexplained = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: {comment}"
        for path in files
        for line, comment in unexplained_suppressions(path.read_text())
    ]
    assert not unexplained, "say which code and why, e.g. `# noqa: E402 - why`:\n" + "\n".join(unexplained)


@pytest.mark.parametrize(
    "line",
    [
        "import os  # noqa: F401 - re-exported",
        "import os, sys  # noqa: E401, F401 - both re-exported",
        "x: int = f()  # type: ignore[assignment]  # the stubs are wrong",
        "x: int = f()  # type: ignore[assignment, arg-type]  # the stubs are wrong",
        "x = 1  # not a suppression, only a comment",
    ],
)
def test_a_suppression_with_its_code_and_reason_passes(line):
    assert unexplained_suppressions(line + "\n") == []


@pytest.mark.parametrize(
    "line",
    [
        "import os  # noqa",
        "import os  # noqa: F401",
        "import os  # NOQA:F401",
        "import os  # noqa - re-exported",
        "x: int = f()  # type: ignore",
        "x: int = f()  # type: ignore[assignment]",
        "x: int = f()  # type: ignore - the stubs are wrong",
        "x: int = f()  # type: ignore[assignment] - mypy reads no reason after a dash",
    ],
)
def test_a_suppression_without_its_code_or_reason_is_found(line):
    assert unexplained_suppressions(line + "\n") == [(1, line[line.index("#") :])]


def test_only_comments_count():
    assert unexplained_suppressions('text = "# noqa"\n') == []


MAX_FUNCTION_LINES = 60


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[int, str, int]]:
    """(line, name, length) of each function or method longer than `limit` lines, from its
    first decorator to its last line (docstring and comments included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > limit:
                found.append((first, node.name, length))
    return found


def test_no_function_outside_the_tests_is_longer_than_60_lines():
    files = [path for path in python_files() if path.relative_to(PROJECT_ROOT).parts[0] != "tests"]
    assert PROJECT_ROOT / "main.py" in files and PROJECT_ROOT / "benchmarks" / "report.py" in files
    too_long = [
        f"{path.relative_to(PROJECT_ROOT)}:{line} {name}: {length} lines"
        for path in files
        for line, name, length in long_functions(path.read_text())
    ]
    assert not too_long, f"split these into functions of at most {MAX_FUNCTION_LINES} lines:\n" + "\n".join(too_long)


def test_a_function_is_measured_from_its_decorator_to_its_last_line():
    body = "".join(f"    x{n} = {n}\n" for n in range(59))
    assert long_functions(f"def fits():\n{body}") == []
    assert long_functions(f"@decorated\ndef too_long():\n{body}") == [(1, "too_long", 61)]
    nested = "class Holder:\n    async def method(self):\n" + body.replace("    ", "        ") + "        y = 1\n"
    assert long_functions(nested) == [(2, "method", 61)]
