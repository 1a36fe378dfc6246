"""The plan review (deploy.review) and secret redaction (deploy.secrets), on real Terraform
plans made against the emulator.

A small hand-written configuration (local backend) is deployed: an SSM parameter, a log
group, an SNS topic, a DynamoDB table with an index, and an API key with its usage plan and
usage plan key. A second version then changes the parameter in place, replaces the log group,
drops the topic and changes the index's projection, and `python -m deploy.review plan`
plans it with `--replace` of the API key, as `make plan` would: the usage plan key is
replaced too, and Terraform's own plan output prints the API key's value. Every terraform
command that loads the AWS provider costs 3-11 s of CPU here, so there are only six of
them (plan, show -json, apply, then plan, show -json and show for the review; init and
state pull do not load it). One more test plans the real stack (local target, S3 backend
on the emulator) the same way, which also runs the checkov gate on a real plan; it runs in
the background while the small one is driven.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy import secrets
from deploy.review import changes, checkov, render
from localaws import emulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-2"
TERRAFORM_TIMEOUT = 180  # seconds for any one terraform command
API_KEY_NAME = "plan-review-key"
# What GitHub Actions sets; the review's header must state the commit and link the run.
GITHUB_RUN = {
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "example/product-reviews",
    "GITHUB_RUN_ID": "4242",
}


def terraform(directory: Path, *args: str) -> str:
    run = subprocess.run(
        ["terraform", f"-chdir={directory}", *args, "-no-color"],
        check=False,
        capture_output=True,
        text=True,
        timeout=TERRAFORM_TIMEOUT,
    )
    assert run.returncode == 0, f"terraform {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def plan(directory: Path, *args: str) -> dict:
    """terraform plan -out, then show -json: the plan JSON a reviewer gets."""
    terraform(directory, "plan", "-input=false", "-out=plan.bin", *args)
    return json.loads(terraform(directory, "show", "-json", "plan.bin"))


@contextlib.contextmanager
def review_command(*args: str, log: Path, env: dict | None = None):
    """`python -m deploy.review ...` started in its own process group, its output in `log`.
    Yields the process; kills the whole group (terraform, checkov) if it is still running."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.review", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def small_config(endpoint: str, *, changed: bool) -> dict:
    """The deployed version, or the changed one (parameter updated, log group renamed, topic
    dropped, the index's projection narrowed)."""
    resources = {
        "aws_ssm_parameter": {
            "setting": {
                "name": "/plan-review/setting",
                "type": "String",
                "description": "second" if changed else "first",
                "value": "setting-value-two" if changed else "setting-value-one",  # sensitive in the provider
            }
        },
        "aws_cloudwatch_log_group": {
            "logs": {"name": "/plan-review/b" if changed else "/plan-review/a", "retention_in_days": 7}
        },
        "aws_dynamodb_table": {
            "reviews": {
                "name": "plan-review-table",
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": "pk",
                "attribute": [{"name": "pk", "type": "S"}, {"name": "reviewer", "type": "S"}],
                "global_secondary_index": [
                    {
                        "name": "by-reviewer",
                        "hash_key": "reviewer",
                        "projection_type": "KEYS_ONLY" if changed else "ALL",
                    }
                ],
            }
        },
        "aws_api_gateway_api_key": {"storefront": {"name": API_KEY_NAME}},
        "aws_api_gateway_usage_plan": {"storefront": {"name": "plan-review-plan"}},
        "aws_api_gateway_usage_plan_key": {
            "storefront": {
                "key_id": "${aws_api_gateway_api_key.storefront.id}",
                "key_type": "API_KEY",
                "usage_plan_id": "${aws_api_gateway_usage_plan.storefront.id}",
            }
        },
    }
    if not changed:
        resources["aws_sns_topic"] = {"alarms": {"name": "plan-review-alarms"}}
    services = ("apigateway", "dynamodb", "logs", "sns", "ssm", "sts")
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {
            "aws": {
                "region": REGION,
                "access_key": "test",
                "secret_key": "test",
                # As the stack's emulator provider: a request on a kept-alive connection that
                # the emulator closed meanwhile is tried once more.
                "max_retries": 2,
                "skip_credentials_validation": True,
                "skip_metadata_api_check": "true",
                "skip_region_validation": True,
                "skip_requesting_account_id": True,
                "endpoints": [{service: endpoint for service in services}],
            }
        },
        "resource": resources,
    }


@pytest.fixture(scope="module")
def real_stack_plan(running_emulator, synth, tmp_path_factory):
    """`make plan`'s path for the real stack (local target, S3 backend on the emulator),
    started in the background: it runs while the small configuration is driven, which
    halves the wall time on two cores. Yields (process, synthesized stack, out dir)."""
    stack = synth(REVIEWS_TARGET="local", REVIEWS_EMULATOR_PORT=str(running_emulator.port))
    bucket = stack.terraform["terraform"]["backend"]["s3"]["bucket"]
    emulator.ensure_state_bucket(running_emulator.endpoint, bucket, REGION)
    out = tmp_path_factory.mktemp("real-plan")
    with review_command(
        "plan", "--stack-dir", str(stack.directory), "--out", str(out / "plan"), log=out / "stdout.log"
    ) as process:
        yield process, stack, out


@pytest.fixture(scope="module")
def deployed(real_stack_plan, running_emulator, tmp_path_factory) -> tuple[Path, dict]:
    """The small configuration, deployed: (its directory, the plan JSON that created it)."""
    directory = tmp_path_factory.mktemp("small-config")
    (directory / "main.tf.json").write_text(json.dumps(small_config(running_emulator.endpoint, changed=False)))
    terraform(directory, "init", "-input=false")
    fresh = plan(directory)
    terraform(directory, "apply", "-input=false", "plan.bin")
    return directory, fresh


@dataclass
class ReviewRun:
    """One `python -m deploy.review plan` of the changed small configuration."""

    out: Path  # its --out directory
    returncode: int
    printed: str  # all it printed, stdout and stderr
    review: str
    api_key: str  # the key's value, as the emulator holds it


@pytest.fixture(scope="module")
def reviewed_changes(deployed, running_emulator, tmp_path_factory) -> ReviewRun:
    directory, _ = deployed
    (directory / "main.tf.json").write_text(json.dumps(small_config(running_emulator.endpoint, changed=True)))
    out = tmp_path_factory.mktemp("small-review") / "plan"
    log = out.parent / "printed.log"
    with review_command(
        "plan",
        "--stack-dir",
        str(directory),
        "--out",
        str(out),
        "--environment",
        "review-test",
        "--replace",
        "aws_api_gateway_api_key.storefront",
        log=log,
        env={**os.environ, **GITHUB_RUN},
    ) as process:
        returncode = process.wait(timeout=TERRAFORM_TIMEOUT * 2)
    apigateway = emulator.client("apigateway", running_emulator.endpoint, REGION)
    [key] = apigateway.get_api_keys(nameQuery=API_KEY_NAME)["items"]
    api_key = apigateway.get_api_key(apiKey=key["id"], includeValue=True)["value"]
    review = (out / "review.md").read_text() if (out / "review.md").exists() else ""
    return ReviewRun(out, returncode, log.read_text(), review, api_key)


def table_row(review: str, resource_type: str) -> list[str]:
    """The Add, Change, Replace, Destroy cells of a type's row in the review's table."""
    for line in review.splitlines():
        if line.startswith(f"| `{resource_type}` |"):
            return [cell.strip() for cell in line.strip("|").split("|")][1:]
    raise AssertionError(f"no row for {resource_type} in:\n{review}")


def section(review: str, heading: str) -> str:
    """The text of the review's section whose heading starts with `heading`."""
    assert f"### {heading}" in review, f"no section {heading!r} in:\n{review}"
    return review.split(f"### {heading}", 1)[1].split("\n### ", 1)[0].split("<details>", 1)[0]


def attribute_lines(review: str, address: str) -> list[str]:
    """The attribute lines listed under `address` in "What changes, by address"."""
    listing = section(review, "What changes, by address").splitlines()
    start = next(i for i, line in enumerate(listing) if line.startswith(f"- `{address}`:"))
    nested = []
    for line in listing[start + 1 :]:
        if not line.startswith("  - "):
            break
        nested.append(line.strip().removeprefix("- "))
    return nested


# --- reviews of real plans (emulator) ---------------------------------------------------


@pytest.mark.emulator
def test_fresh_deploy_counts_every_resource_as_added(deployed):
    review = render.render_review(deployed[1], "small")
    assert review.startswith(render.MARKER)
    assert "**7 to add, 0 to change, 0 to replace, 0 to destroy.**" in review
    for resource_type in ("aws_ssm_parameter", "aws_sns_topic", "aws_cloudwatch_log_group", "aws_dynamodb_table"):
        assert table_row(review, resource_type) == ["1", "·", "·", "·"]
    assert "Replacements" not in review and "Destroys" not in review and "Index changes" not in review
    assert "- `aws_sns_topic.alarms`: create" in section(review, "What changes, by address")


@pytest.mark.emulator
def test_in_place_change_replacement_and_destroy_are_each_reported(reviewed_changes):
    review = reviewed_changes.review
    assert "**0 to add, 2 to change, 3 to replace, 1 to destroy.**" in review, reviewed_changes.printed[-4000:]
    assert table_row(review, "aws_ssm_parameter") == ["·", "1", "·", "·"]
    assert table_row(review, "aws_cloudwatch_log_group") == ["·", "·", "1", "·"]
    assert table_row(review, "aws_sns_topic") == ["·", "·", "·", "1"]

    replacements = section(review, "⚠️ Replacements (3)")
    assert "- `aws_cloudwatch_log_group.logs`: destroy, then create; forced by `name`" in replacements
    assert "- `aws_api_gateway_usage_plan_key.storefront`: destroy, then create; forced by `key_id`" in replacements
    assert "- `aws_api_gateway_api_key.storefront`: destroy, then create; replacement was requested" in replacements
    destroys = section(review, "🗑️ Destroys (1)")
    assert "- `aws_sns_topic.alarms`: removed from the configuration" in destroys
    assert "aws_ssm_parameter" not in replacements + destroys


@pytest.mark.emulator
def test_review_lists_each_changed_attribute_with_old_and_new_values(reviewed_changes):
    parameter = attribute_lines(reviewed_changes.review, "aws_ssm_parameter.setting")
    assert '`description`: `"first"` → `"second"`' in parameter
    assert "`value`: (sensitive) → (sensitive)" in parameter  # the provider marks it sensitive
    assert "`version`: `1` → (known after apply)" in parameter
    assert not any(line.startswith(("`name`", "`type`")) for line in parameter), parameter  # unchanged

    log_group = attribute_lines(reviewed_changes.review, "aws_cloudwatch_log_group.logs")
    assert '`name`: `"/plan-review/a"` → `"/plan-review/b"`, **forces replacement**' in log_group
    usage_plan_key = attribute_lines(reviewed_changes.review, "aws_api_gateway_usage_plan_key.storefront")
    assert "`value`: (sensitive) → (known after apply)" in usage_plan_key
    table = attribute_lines(reviewed_changes.review, "aws_dynamodb_table.reviews")
    assert '`global_secondary_index["by-reviewer"].projection_type`: `"ALL"` → `"KEYS_ONLY"`' in table
    assert "setting-value-one" not in reviewed_changes.review + reviewed_changes.printed


@pytest.mark.emulator
def test_index_projection_change_gets_a_callout(reviewed_changes):
    callout = section(reviewed_changes.review, "⚠️ Index changes (1)")
    assert "- `aws_dynamodb_table.reviews`, index `by-reviewer`: **deleted and rebuilt** (`projection_type`" in callout
    assert "queries by this index fail until the backfill completes" in callout
    # the callout comes before the counts by type: a reviewer reads it first
    assert reviewed_changes.review.index("Index changes") < reviewed_changes.review.index("Changes by resource type")


@pytest.mark.emulator
def test_header_states_commit_environment_and_the_github_run(reviewed_changes):
    header = reviewed_changes.review.split("**0 to add")[0]
    assert (
        f"Commit {GITHUB_RUN['GITHUB_SHA']} · Environment `review-test` · "
        "[Workflow run](https://github.example/example/product-reviews/actions/runs/4242)"
    ) in header


@pytest.mark.emulator
def test_api_key_value_appears_in_no_output_of_a_plan_that_replaces_it(reviewed_changes):
    run = reviewed_changes
    assert run.returncode == (1 if "unskipped finding" in run.review else 0), run.printed[-4000:]
    assert "Traceback" not in run.printed
    written = {name: (run.out / name).read_bytes() for name in ("review.md", "plan.txt", "plan.json", "checkov.json")}
    for name, content in {**written, "printed output": run.printed.encode()}.items():
        assert run.api_key.encode() not in content, f"the API key is in {name}"
    # It was there to leak: Terraform prints the usage plan key's old value, which now reads redacted.
    plan_text = written["plan.txt"].decode()
    assert re.search(r'~ value += "\(sensitive\)" -> \(known after apply\)', plan_text), plan_text
    assert "Full plan (<code>terraform show</code>)" in run.review
    assert "# aws_sns_topic.alarms will be destroyed" in run.review
    plan_json = json.loads(written["plan.json"])
    [usage_plan_key] = [rc for rc in plan_json["resource_changes"] if rc["type"] == "aws_api_gateway_usage_plan_key"]
    assert usage_plan_key["change"]["before"]["value"] == secrets.REDACTED


@pytest.mark.emulator
def test_written_files_are_private(reviewed_changes):
    assert reviewed_changes.out.stat().st_mode & 0o777 == 0o700
    for name in ("plan.bin", "plan.json", "plan.txt", "checkov.json", "review.md"):
        assert (reviewed_changes.out / name).stat().st_mode & 0o777 == 0o600, name


@pytest.mark.emulator
def test_state_secrets_include_the_key_the_provider_does_not_mark(deployed, reviewed_changes):
    state = json.loads((deployed[0] / "terraform.tfstate").read_text())
    [usage_plan_key] = [r for r in state["resources"] if r["type"] == "aws_api_gateway_usage_plan_key"]
    assert usage_plan_key["instances"][0]["sensitive_attributes"] == []  # the provider's gap
    assert {reviewed_changes.api_key, "setting-value-one"} <= secrets.secrets_in_state(state)
    # A usage plan key for an API key this state does not manage holds the only copy.
    assert secrets.secrets_in_state({**state, "resources": [usage_plan_key]}) == {reviewed_changes.api_key}


@pytest.mark.emulator
def test_plan_of_the_real_stack(real_stack_plan):
    """The real stack plans, its review counts every resource, and checkov (terraform_plan
    framework, on the real, redacted plan JSON) finds nothing that .checkov.yaml does not skip."""
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


# --- reviews of hand-made plans ---------------------------------------------------------


def resource_change(address: str, actions: list[str], **change) -> dict:
    resource_type = address.split(".")[0]
    return {"address": address, "mode": "managed", "type": resource_type, "change": {"actions": actions, **change}}


def test_destroy_plan_calls_out_every_resource():
    """`terraform plan -destroy` marks every resource delete, with no action_reason."""
    plan = {"resource_changes": [resource_change(f"aws_sns_topic.t{i}", ["delete"]) for i in range(3)]}
    review = render.render_review(plan, "destroy")
    assert "**0 to add, 0 to change, 0 to replace, 3 to destroy.**" in review
    assert table_row(review, "aws_sns_topic") == ["·", "·", "·", "3"]
    destroys = section(review, "🗑️ Destroys (3)")
    assert all(f"- `aws_sns_topic.t{i}`\n" in destroys + "\n" for i in range(3))


def test_no_changes_and_data_sources():
    plan = {
        "resource_changes": [
            resource_change("aws_sns_topic.t", ["no-op"]),
            {**resource_change("data.aws_caller_identity.me", ["read"]), "mode": "data"},
        ]
    }
    review = render.render_review(plan, "none")
    assert "**No changes.**" in review and "| Resource type" not in review and "What changes" not in review


def test_output_only_changes_and_forgotten_resources_are_not_no_changes():
    # A changed setting that reaches only an output (the alarm e-mail), and a `removed` block
    # that makes Terraform forget a resource: the plan exits 2, so the review must say why.
    plan = {
        "resource_changes": [
            {
                **resource_change("aws_sns_topic_subscription.old", ["forget"]),
                "action_reason": "delete_because_no_resource_config",
            }
        ],
        "output_changes": {
            "alarm_email": {"actions": ["update"], "before": "old@example.com", "after": "new@example.com"},
            "api_url": {"actions": ["no-op"], "before": "https://x", "after": "https://x"},
            "token": {"actions": ["create"], "before": None, "after": "t0ken-value-1234", "after_sensitive": True},
        },
    }
    review = render.render_review(plan, "outputs")
    assert "**No changes.**" not in review and "**No resource changes**" in review
    assert '- `alarm_email`: `"old@example.com"` → `"new@example.com"`' in section(review, "Outputs that change")
    assert "- `token`: (none) → (sensitive)" in review and "t0ken-value-1234" not in review
    assert "api_url" not in review
    forgotten = section(review, "Left in AWS, no longer managed by Terraform (1)")
    assert "- `aws_sns_topic_subscription.old`: removed from the state without being destroyed" in forgotten


def test_notes_about_what_the_plan_cannot_show_follow_the_headline():
    notes = ["### Alarm e-mail", "", "- `oncall@example.com`: **waiting for confirmation**"]
    review = render.render_review({"resource_changes": []}, "notes", notes=notes)
    assert review.index("**No changes.**") < review.index("### Alarm e-mail")
    assert "- `oncall@example.com`: **waiting for confirmation**" in review


def test_create_before_destroy_replacement_and_findings_are_reported():
    plan = {
        "resource_changes": [
            {
                **resource_change(
                    "aws_api_gateway_deployment.d",
                    ["create", "delete"],
                    replace_paths=[["triggers", "redeployment"]],
                    before={"triggers": {"redeployment": "a"}},
                    after={"triggers": {"redeployment": "b"}},
                ),
                "action_reason": "replace_because_cannot_update",
            }
        ]
    }
    security = checkov.load_checkov(
        {
            "check_type": "terraform_plan",
            "summary": {"passed": 4, "failed": 1, "checkov_version": "3.3.30"},
            "results": {
                "failed_checks": [
                    {
                        "check_id": "CKV_AWS_276",
                        "check_name": "Ensure Data Trace is not enabled",
                        "resource": "aws_api_gateway_method_settings.s",
                        "guideline": "https://example.com/276",
                    }
                ]
            },
        }
    )
    review = render.render_review(plan, "cbd", security=security, skipped={"CKV_AWS_1": "a reason"})
    assert "- `aws_api_gateway_deployment.d`: create, then destroy; forced by `triggers.redeployment`" in review
    assert '`triggers.redeployment`: `"a"` → `"b"`, **forces replacement**' in review
    assert "❌ **1 unskipped finding(s)** (4 checks passed, 1 skipped by configuration)" in review
    assert "| [CKV_AWS_276](https://example.com/276) | `aws_api_gateway_method_settings.s` |" in review
    assert "- **CKV_AWS_1**: a reason" in review


def index(name: str, projection: str = "ALL", capacity: int = 5) -> dict:
    return {
        "name": name,
        "hash_key": "reviewer",
        "range_key": "",
        "projection_type": projection,
        "non_key_attributes": [],
        "read_capacity": capacity,
        "write_capacity": capacity,
    }


def table_change(before: list[dict], after: list[dict]) -> dict:
    return {
        "resource_changes": [
            resource_change(
                "aws_dynamodb_table.t",
                ["update"],
                before={"name": "t", "global_secondary_index": before},
                after={"name": "t", "global_secondary_index": after},
            )
        ]
    }


def test_capacity_only_index_change_gets_no_callout():
    review = render.render_review(table_change([index("a", capacity=5)], [index("a", capacity=10)]), "capacity")
    assert "Index changes" not in review
    assert '`global_secondary_index["a"].read_capacity`: `5` → `10`' in review


def test_added_removed_and_rebuilt_indexes_are_each_called_out():
    plan = table_change(
        [index("kept"), index("dropped"), index("narrowed")],
        [index("kept"), index("narrowed", "KEYS_ONLY"), index("new")],
    )
    callout = section(render.render_review(plan, "indexes"), "⚠️ Index changes (3)")
    assert "index `dropped`: **removed**" in callout and "index `new`: **added**" in callout
    assert "index `narrowed`: **deleted and rebuilt** (`projection_type`" in callout
    assert "`kept`" not in callout


def test_blocks_of_a_set_are_paired_by_name_not_position():
    """Terraform may list a set's blocks in another order after a change."""
    plan = table_change([index("a"), index("b")], [index("b", "KEYS_ONLY"), index("a")])
    attributes = changes.changes(plan)[0].attributes
    assert [(a.path, a.before, a.after) for a in attributes] == [
        ('global_secondary_index["b"].projection_type', "ALL", "KEYS_ONLY")
    ]


def test_long_values_are_cut_near_their_difference_and_json_documents_shown_as_documents():
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": f"s{i}"} for i in range(40)]})
    plan = {
        "resource_changes": [
            resource_change(
                "aws_iam_policy.p",
                ["update"],
                before={"policy": policy},
                after={"policy": policy.replace("s39", "t39")},
            )
        ]
    }
    [line] = attribute_lines(render.render_review(plan, "policy"), "aws_iam_policy.p")
    before, after = line.removeprefix("`policy`: ").split(" → ")
    length = len(json.dumps(json.loads(policy)))  # shown as a document: no escaped quotes
    assert before.endswith(f'{{"Sid": "s38"}}, {{"Sid": "s39"}}]}}` (cut: {length:,} characters in all)'), before
    assert after.endswith(f'{{"Sid": "s38"}}, {{"Sid": "t39"}}]}}` (cut: {length:,} characters in all)'), after
    assert before.startswith("`…") and len(before) < render.MAX_VALUE_CHARS + 50


def test_review_never_shows_a_secret_of_the_plan():
    key = "tFjUgNnezIS27uTJ9yVHxK0q8paYo4smAMdr61E5"
    plan = {
        "resource_changes": [
            resource_change(
                "aws_api_gateway_usage_plan_key.k",
                ["delete", "create"],
                before={"key_id": "old", "value": key},
                after={"key_id": "new"},
                after_unknown={"value": True},
            )
        ]
    }
    plan_text = f'      ~ value = "{key}" -> (known after apply)\n'
    review = render.render_review(plan, "key", plan_text=plan_text)
    assert key not in review
    assert '~ value = "(sensitive)" -> (known after apply)' in review
    assert "`value`: (sensitive) → (known after apply)" in review


def test_plan_text_is_folded_and_cut_to_fit_in_a_comment():
    plan_text = "".join(f"  # aws_sns_topic.t{i} will be created\n" for i in range(5000))
    review = render.render_review({"resource_changes": []}, "big", plan_text=plan_text)
    assert len(review) <= render.MAX_REVIEW_CHARS
    folded = review.split("<details><summary>Full plan (<code>terraform show</code>)</summary>")[1]
    assert folded.startswith("\n\n```text\n  # aws_sns_topic.t0 will be created\n")
    assert "the whole plan is in `plan.txt` beside this review" in folded and folded.rstrip().endswith("</details>")


def test_header_states_commit_environment_and_run_link():
    run = render.RunInfo(commit="abc123", environment="prod", run_url="https://ci.example/runs/7")
    review = render.render_review({}, "`product-reviews-prod`", run=run)
    assert review.splitlines()[:5] == [
        "<!-- plan-review: prod -->",
        "## Terraform plan review: `product-reviews-prod`",
        "",
        "Commit abc123 · Environment `prod` · [Workflow run](https://ci.example/runs/7)",
        "",
    ]


def test_an_older_review_is_marked_outdated_and_can_still_be_found():
    review = render.render_review({}, "`product-reviews-prod`", run=render.RunInfo(commit="old111"))
    outdated = render.mark_outdated(review, commit="new222", run_url="https://ci.example/runs/8", outcome="failed")
    assert outdated.startswith(render.MARKER + "\n")
    banner = outdated.split("## Terraform plan review")[0]
    assert "**Outdated**: this review is from an older commit or a failed or skipped run" in banner
    assert "The latest run (commit new222) failed: [workflow run](https://ci.example/runs/8)" in banner
    assert outdated.endswith(review.removeprefix(render.MARKER + "\n"))  # the old review, whole

    again = render.mark_outdated(outdated, commit="new333", outcome="was skipped")
    assert again.count("**Outdated**") == 1 and "(commit new333) was skipped." in again and "new222" not in again


def test_each_environment_has_its_own_comment_marker_which_outdating_keeps():
    """A pull request gets one review comment per environment, each found by its first line."""
    reviews = {
        environment: render.render_review({}, "x", run=render.RunInfo(environment=environment))
        for environment in ("dev", "prod")
    }
    assert reviews["dev"].splitlines()[0] == render.marker("dev") == "<!-- plan-review: dev -->"
    assert render.marker("dev") != render.marker("prod")
    outdated = render.mark_outdated(reviews["prod"], outcome="failed")
    assert outdated.splitlines()[0] == render.marker("prod") and outdated.count("plan-review: prod") == 1


def test_outdated_command_reads_and_writes_comment_bodies(tmp_path):
    old = tmp_path / "old.md"
    old.write_text(render.render_review({}, "x"))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.review",
            "outdated",
            "--input",
            str(old),
            "--outcome",
            "failed",
            "--commit",
            "new222",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(render.MARKER) and "The latest run (commit new222) failed." in run.stdout


# --- secret redaction -------------------------------------------------------------------


def test_redaction_replaces_secrets_as_written_and_as_quoted():
    secret = 'pa"ss\\word-1234'
    text = f"value = {json.dumps(secret)}\nraw: {secret}\n"
    assert secrets.redact_text(text, {secret}) == 'value = "(sensitive)"\nraw: (sensitive)\n'
    document = {"a": [f"x{secret}y", 5, None], secret: True}
    assert secrets.redact_json(document, {secret}) == {"a": ["x(sensitive)y", 5, None], "(sensitive)": True}


def test_plan_secrets_come_from_sensitive_marks_and_known_attributes_only():
    plan = {
        "prior_state": {
            "values": {
                "root_module": {
                    "child_modules": [
                        {
                            "resources": [
                                {
                                    "type": "aws_db_instance",
                                    "values": {"password": "hunter2-long", "name": "public-name"},
                                    "sensitive_values": {"password": True},
                                }
                            ]
                        }
                    ]
                }
            }
        },
        "resource_changes": [
            resource_change(
                "aws_api_gateway_usage_plan_key.k",
                ["delete"],
                before={"value": "the-api-key-value", "id": "k-id-1234"},
                before_sensitive={},
            )
        ],
        "output_changes": {"token": {"before": None, "after": "output-token-1", "after_sensitive": True}},
        "planned_values": {"outputs": {"short": {"sensitive": True, "value": "tiny"}}},
    }
    assert secrets.secrets_in_plan(plan) == {"hunter2-long", "the-api-key-value", "output-token-1"}
