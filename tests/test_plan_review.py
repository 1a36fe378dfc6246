"""The plan review (deploy.review) on real Terraform plans made against the emulator.

A small hand-written configuration (an SSM parameter, an SNS topic, a log group; local
backend) gives a fresh deploy, then one plan with an in-place change, a replacement and a
destroy. Every terraform command that loads the AWS provider costs 3-11 s of CPU here, so
the fixture runs only five of them (init, plan, show, apply, plan, show). One more test plans the real stack
(local target, S3 backend on the emulator) through `python -m deploy.review plan`, as `make plan`
does, which also runs the checkov gate on a real plan.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localaws import emulator
from deploy.review import checkov, render

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-2"
TERRAFORM_TIMEOUT = 180  # seconds for any one terraform command


def terraform(directory: Path, *args: str) -> str:
    run = subprocess.run(
        ["terraform", f"-chdir={directory}", *args, "-no-color"],
        capture_output=True, text=True, timeout=TERRAFORM_TIMEOUT,
    )
    assert run.returncode == 0, f"terraform {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def plan(directory: Path, *args: str) -> dict:
    """terraform plan -out, then show -json: the plan JSON a reviewer gets."""
    terraform(directory, "plan", "-input=false", "-out=plan.bin", *args)
    return json.loads(terraform(directory, "show", "-json", "plan.bin"))


def small_config(endpoint: str, *, value: str, log_group: str, topic: bool) -> dict:
    resources = {
        "aws_ssm_parameter": {"setting": {"name": "/plan-review/setting", "type": "String", "value": value}},
        "aws_cloudwatch_log_group": {"logs": {"name": log_group, "retention_in_days": 7}},
    }
    if topic:
        resources["aws_sns_topic"] = {"alarms": {"name": "plan-review-alarms"}}
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {"aws": {
            "region": REGION, "access_key": "test", "secret_key": "test", "max_retries": 1,
            "skip_credentials_validation": True, "skip_metadata_api_check": "true",
            "skip_region_validation": True, "skip_requesting_account_id": True,
            "endpoints": [{service: endpoint for service in ("logs", "sns", "ssm", "sts")}],
        }},
        "resource": resources,
    }


@pytest.fixture(scope="module")
def real_stack_plan(running_emulator, synth, tmp_path_factory):
    """`make plan`'s path for the real stack (local target, S3 backend on the emulator),
    started in the background: it runs while `plans` drives the small configuration,
    which halves the wall time on two cores. Yields (process, synthesized stack, out dir)."""
    stack = synth(REVIEWS_TARGET="local", REVIEWS_EMULATOR_ENDPOINT=running_emulator.endpoint)
    bucket = stack.terraform["terraform"]["backend"]["s3"]["bucket"]
    emulator.ensure_state_bucket(running_emulator.endpoint, bucket, REGION)
    out = tmp_path_factory.mktemp("real-plan")
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.review", "plan",
         "--stack-dir", str(stack.directory), "--out", str(out / "plan")],
        stdout=(out / "stdout.log").open("w"), stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT,
    )
    try:
        yield process, stack, out
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def plans(real_stack_plan, running_emulator, tmp_path_factory) -> dict[str, dict]:
    """fresh (create all), changes (update + replace + destroy)."""
    directory = tmp_path_factory.mktemp("small-config")
    config = directory / "main.tf.json"
    endpoint = running_emulator.endpoint
    config.write_text(json.dumps(small_config(endpoint, value="one", log_group="/plan-review/a", topic=True)))
    terraform(directory, "init", "-input=false")
    fresh = plan(directory)
    terraform(directory, "apply", "-input=false", "plan.bin")
    config.write_text(json.dumps(small_config(endpoint, value="two", log_group="/plan-review/b", topic=False)))
    changed = plan(directory)
    return {"fresh": fresh, "changes": changed}


def table_row(review: str, resource_type: str) -> list[str]:
    """The Add, Change, Replace, Destroy cells of a type's row in the review's table."""
    for line in review.splitlines():
        if line.startswith(f"| `{resource_type}` |"):
            return [cell.strip() for cell in line.strip("|").split("|")][1:]
    raise AssertionError(f"no row for {resource_type} in:\n{review}")


@pytest.mark.emulator
def test_fresh_deploy_counts_every_resource_as_added(plans):
    review = render.summarize(plans["fresh"], "small")
    assert review.startswith(render.MARKER)
    assert "**3 to add, 0 to change, 0 to replace, 0 to destroy.**" in review
    for resource_type in ("aws_ssm_parameter", "aws_sns_topic", "aws_cloudwatch_log_group"):
        assert table_row(review, resource_type) == ["1", "·", "·", "·"]
    assert "Replacements" not in review and "Destroys" not in review


@pytest.mark.emulator
def test_in_place_change_replacement_and_destroy_are_each_reported(plans):
    review = render.summarize(plans["changes"], "small")
    assert "**0 to add, 1 to change, 1 to replace, 1 to destroy.**" in review
    assert table_row(review, "aws_ssm_parameter") == ["·", "1", "·", "·"]
    assert table_row(review, "aws_cloudwatch_log_group") == ["·", "·", "1", "·"]
    assert table_row(review, "aws_sns_topic") == ["·", "·", "·", "1"]

    replacements = review.split("### ⚠️ Replacements (1)")[1].split("###")[0]
    assert "- `aws_cloudwatch_log_group.logs`: destroy, then create; forced by `name`" in replacements
    destroys = review.split("### 🗑️ Destroys (1)")[1]
    assert "- `aws_sns_topic.alarms`: removed from the configuration" in destroys
    assert "aws_ssm_parameter" not in replacements + destroys


def test_destroy_plan_calls_out_every_resource():
    """`terraform plan -destroy` marks every resource delete, with no action_reason."""
    plan = {"resource_changes": [
        {"address": f"aws_sns_topic.t{i}", "mode": "managed", "type": "aws_sns_topic",
         "change": {"actions": ["delete"]}} for i in range(3)
    ]}
    review = render.summarize(plan, "destroy")
    assert "**0 to add, 0 to change, 0 to replace, 3 to destroy.**" in review
    assert table_row(review, "aws_sns_topic") == ["·", "·", "·", "3"]
    destroys = review.split("### 🗑️ Destroys (3)")[1]
    assert all(f"- `aws_sns_topic.t{i}`\n" in destroys + "\n" for i in range(3))


def test_no_changes_and_data_sources():
    plan = {"resource_changes": [
        {"address": "aws_sns_topic.t", "mode": "managed", "type": "aws_sns_topic",
         "change": {"actions": ["no-op"]}},
        {"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity",
         "change": {"actions": ["read"]}},
    ]}
    review = render.summarize(plan, "none")
    assert "**No changes.**" in review and "| Resource type" not in review


def test_create_before_destroy_replacement_and_findings_are_reported():
    plan = {"resource_changes": [{
        "address": "aws_api_gateway_deployment.d", "mode": "managed", "type": "aws_api_gateway_deployment",
        "action_reason": "replace_because_cannot_update",
        "change": {"actions": ["create", "delete"], "replace_paths": [["triggers", "redeployment"]]},
    }]}
    security = checkov.load_checkov({"check_type": "terraform_plan", "summary": {
        "passed": 4, "failed": 1, "checkov_version": "3.3.30"}, "results": {"failed_checks": [{
            "check_id": "CKV_AWS_276", "check_name": "Ensure Data Trace is not enabled",
            "resource": "aws_api_gateway_method_settings.s", "guideline": "https://example.com/276"}]}})
    review = render.summarize(plan, "cbd", security, {"CKV_AWS_1": "a reason"})
    assert "- `aws_api_gateway_deployment.d`: create, then destroy; forced by `triggers.redeployment`" in review
    assert "❌ **1 unskipped finding(s)** (4 checks passed, 1 skipped by configuration)" in review
    assert "| [CKV_AWS_276](https://example.com/276) | `aws_api_gateway_method_settings.s` |" in review
    assert "- **CKV_AWS_1**: a reason" in review


@pytest.mark.emulator
def test_plan_of_the_real_stack(real_stack_plan):
    """The real stack plans, its review counts every resource, and checkov (terraform_plan
    framework, on the real plan JSON) finds nothing that .checkov.yaml does not skip."""
    process, stack, out = real_stack_plan
    returncode = process.wait(timeout=TERRAFORM_TIMEOUT * 2)
    log = (out / "stdout.log").read_text()
    assert returncode == 0, f"plan review failed (exit {returncode}):\n{log[-6000:]}"
    review = (out / "plan" / "review.md").read_text()
    assert (out / "plan" / "plan.bin").stat().st_size > 0
    resources = sum(len(named) for named in stack.terraform["resource"].values())
    assert f"**{resources} to add, 0 to change, 0 to replace, 0 to destroy.**" in review
    assert table_row(review, "aws_lambda_function") == ["1", "·", "·", "·"]
    assert "✅ **no unskipped findings**" in review
