"""The security scan: checkov with `.checkov.yaml`, and the reason given for each skipped check.

checkov runs from its own virtualenv, installed once per machine (`make checkov`; CHECKOV in
.env names it, else the one on PATH): its pinned dependencies would fight Pipfile.lock.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy.project_env import tool_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV_CONFIG = PROJECT_ROOT / ".checkov.yaml"
# Top-level blocks of a Terraform JSON configuration that checkov 3.3.30's terraform_json
# parser does not know: with one present it finds no resource at all and reports a clean
# scan. They only tell Terraform to forget resources, so the scan leaves them out.
UNSCANNED_BLOCKS = ("removed",)


@dataclass
class Scan:
    """What checkov said about one file."""

    version: str = "?"
    passed: int = 0
    failed: list[dict] = field(default_factory=list)  # check_id, check_name, resource, guideline
    error: str | None = None  # checkov did not produce results


Scanner = Callable[[Path], tuple[Scan, object]]


def load_checkov(results) -> Scan:
    """Reads checkov's JSON output (one report, a list of reports, or an empty-scan summary)."""
    reports = results if isinstance(results, list) else [results]
    scan = Scan()
    for report in reports:
        summary = report.get("summary", report)
        scan.version = summary.get("checkov_version", scan.version)
        scan.passed += summary.get("passed", 0)
        for check in report.get("results", {}).get("failed_checks", []):
            scan.failed.append({k: check.get(k) for k in ("check_id", "check_name", "resource", "guideline")})
    return scan


def skipped_checks(config: Path = CHECKOV_CONFIG) -> dict[str, str]:
    """check id -> the reason in the comment block above it in .checkov.yaml's skip-check list.
    Ids listed one after another with no comment between them share the block above them."""
    skipped: dict[str, str] = {}
    comment: list[str] = []
    in_list = after_item = False
    for line in config.read_text().splitlines():
        stripped = line.strip()
        if stripped and not line.startswith((" ", "-", "#")):  # a top-level key
            in_list, comment, after_item = stripped.startswith("skip-check:"), [], False
        elif in_list and stripped.startswith("#"):
            if after_item:
                comment, after_item = [], False
            comment.append(stripped.lstrip("#").strip())
        elif in_list and stripped.startswith("-"):
            # the block restates the ids it covers before its reason: keep the reason
            reason = re.sub(r"^(CKV2?_[A-Z]+_\d+,?\s*)+", "", " ".join(comment))
            skipped[stripped.lstrip("-").split("#")[0].strip()] = reason
            after_item = True
    return skipped


def checkov_command() -> str:
    for candidate in (os.environ.get("CHECKOV"), tool_settings(PROJECT_ROOT).get("CHECKOV")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    found = shutil.which("checkov")
    if found:
        return found
    raise FileNotFoundError("checkov is not installed: run `make checkov` (it installs where CHECKOV in .env says)")


# What checkov's own script runs, after waiting for the file to scan on stdin: importing checkov
# is ~80% of a scan's time, and this way it happens while the caller still prepares the file.
WARM_DRIVER = """
import sys, warnings
from checkov.main import Checkov
sys.argv[1:1] = ["--file", sys.stdin.readline().rstrip("\\n")]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=SyntaxWarning)
    sys.exit(Checkov(argv=sys.argv[1:]).run())
"""


@contextmanager
def warm_scan(framework: str = "terraform_plan", config: Path = CHECKOV_CONFIG) -> Iterator[Scanner]:
    """scan_file(path) -> (findings, checkov's raw JSON), from a checkov started (and importing
    itself) when the block starts. Stopped when the block ends if it was never asked to scan."""
    # checkov is a Python script: its first line names the interpreter of its virtualenv.
    python = Path(checkov_command()).read_text(errors="replace").splitlines()[0].removeprefix("#!").strip()
    options = ["--framework", framework, "--config-file", str(config), "--skip-download", "--output", "json"]
    process = subprocess.Popen(
        [python, "-c", WARM_DRIVER, *options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "ERROR"},
    )

    def scan_file(path: Path) -> tuple[Scan, object]:
        stdout, stderr = process.communicate(f"{path}\n", timeout=300)
        return _results(process.returncode, stdout, stderr)

    try:
        yield scan_file
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def scan(path: Path, framework: str = "terraform_plan", config: Path = CHECKOV_CONFIG) -> tuple[Scan, object]:
    """Runs checkov on `path`; returns the findings and checkov's raw JSON. A Terraform JSON
    configuration is scanned without UNSCANNED_BLOCKS, and a scan that checks none of its
    resources is an error, never a pass."""
    if framework != "terraform_json":
        with warm_scan(framework, config) as scan_file:
            return scan_file(path)
    configuration = json.loads(path.read_text())
    with tempfile.TemporaryDirectory() as directory, warm_scan(framework, config) as scan_file:
        scanned = Path(directory) / path.name
        scanned.write_text(json.dumps({k: v for k, v in configuration.items() if k not in UNSCANNED_BLOCKS}))
        result, raw = scan_file(scanned)
    if configuration.get("resource") and not (result.passed or result.failed or result.error):
        result.error = f"checkov checked none of the resources in {path}: its parser did not read the file"
    return result, raw


def _results(returncode: int, stdout: str, stderr: str) -> tuple[Scan, object]:
    try:
        raw = json.loads(stdout)
    except json.JSONDecodeError:
        return Scan(error=f"checkov exited {returncode} without JSON: {stderr.strip()[-2000:]}"), None
    result = load_checkov(raw)
    if returncode not in (0, 1) or (returncode == 1 and not result.failed):
        result.error = f"checkov exited {returncode}: {stderr.strip()[-2000:]}"
    return result, raw
