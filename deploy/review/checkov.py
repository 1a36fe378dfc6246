"""The security scan: checkov with `.checkov.yaml`, and the reason given for each skipped check.

checkov runs from its own virtualenv (CHECKOV, else .cache/checkov-venv, else PATH): its
pinned dependencies would fight Pipfile.lock.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV_CONFIG = PROJECT_ROOT / ".checkov.yaml"
CHECKOV_VENV = PROJECT_ROOT / ".cache" / "checkov-venv"
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
    for candidate in (os.environ.get("CHECKOV"), CHECKOV_VENV / "bin" / "checkov"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    found = shutil.which("checkov")
    if found:
        return found
    raise FileNotFoundError("checkov is not installed: run `make checkov` (it installs into .cache/checkov-venv)")


def scan(path: Path, framework: str = "terraform_plan", config: Path = CHECKOV_CONFIG) -> tuple[Scan, object]:
    """Runs checkov on `path`; returns the findings and checkov's raw JSON. A Terraform JSON
    configuration is scanned without UNSCANNED_BLOCKS, and a scan that checks none of its
    resources is an error, never a pass."""
    if framework != "terraform_json":
        return _scan(path, framework, config)
    configuration = json.loads(path.read_text())
    with tempfile.TemporaryDirectory() as directory:
        scanned = Path(directory) / path.name
        scanned.write_text(json.dumps({k: v for k, v in configuration.items() if k not in UNSCANNED_BLOCKS}))
        result, raw = _scan(scanned, framework, config)
    if configuration.get("resource") and not (result.passed or result.failed or result.error):
        result.error = f"checkov checked none of the resources in {path}: its parser did not read the file"
    return result, raw


def _scan(path: Path, framework: str, config: Path) -> tuple[Scan, object]:
    command = [
        checkov_command(),
        "--file",
        str(path),
        "--framework",
        framework,
        "--config-file",
        str(config),
        "--skip-download",
        "--output",
        "json",
    ]
    run = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "ERROR"},
    )
    try:
        raw = json.loads(run.stdout)
    except json.JSONDecodeError:
        return Scan(error=f"checkov exited {run.returncode} without JSON: {run.stderr.strip()[-2000:]}"), None
    result = load_checkov(raw)
    if run.returncode not in (0, 1) or (run.returncode == 1 and not result.failed):
        result.error = f"checkov exited {run.returncode}: {run.stderr.strip()[-2000:]}"
    return result, raw
