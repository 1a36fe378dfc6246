"""The plan a reviewer approves is exactly what gets applied (deploy/ci.py, docs/ci.md).

1. Who or what triggers a run changes nothing that is planned: every committed environment
   synthesizes byte for byte the same in a pull request's run and in a deploy's run, through
   what `python -m deploy plan` and `apply` run (Workspace.load of the job's environment
   variables, then ci.synthesize).
2. On the local target, `python -m deploy plan|apply|drift` as the workflows run them, on one
   deployment of a fresh environment shared by the tests below, in file order: the saved plan
   is applied as reviewed; a plan of another configuration is refused; of two plans of one
   change, the one applied second is stale and refused with the advice to plan again; a change
   made behind Terraform's back is drift until it is reverted; an alarm e-mail nobody confirms
   never is. Each terraform command that loads the AWS provider costs seconds of CPU here:
   four plans, two applies and three drift checks in all.
"""

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import ci
from deploy.workspace import Workspace
from localaws import emulator
from tests.support import PROJECT_ROOT, copy_project, run_deploy, without_settings

COMMITTED_ENVIRONMENTS = sorted(path.stem for path in (PROJECT_ROOT / "environments").glob("*.json"))
# What GitHub Actions tells a job about its run. None of it may change what is planned.
PULL_REQUEST_RUN = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_ACTOR": "alice",
    "GITHUB_TRIGGERING_ACTOR": "alice",
    "GITHUB_HEAD_REF": "alice/cheaper-alarms",
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_SHA": "a" * 40,
    "GITHUB_RUN_ID": "1001",
    "GITHUB_REPOSITORY": "example/product-reviews",
}
DEPLOY_RUN = {
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_ACTOR": "bob",
    "GITHUB_TRIGGERING_ACTOR": "bob",
    "GITHUB_HEAD_REF": "",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_SHA": "b" * 40,
    "GITHUB_RUN_ID": "2002",
    "GITHUB_REPOSITORY": "example/product-reviews",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


# --- 1. the same configuration, whoever runs it ---------------------------------------------


def synthesize_as_ci_does(project: Path, environment: str, run: dict[str, str]) -> tuple[str, dict[str, bytes]]:
    """What a CI job synthesizes with `run`'s variables and the two it sets itself: its
    configuration hash, and every file synth wrote (cdk.tf.json, the function's zip, ...)."""
    environ = {**without_settings(os.environ), **run, "ENVIRONMENT_SUFFIX": environment, "REVIEWS_TARGET": "aws"}
    workspace = Workspace.load(environ, project_dir=project)
    configuration = ci.synthesize(workspace)
    files = {
        path.relative_to(workspace.stack_dir).as_posix(): path.read_bytes()
        for path in workspace.stack_dir.rglob("*")
        if path.is_file()
    }
    return configuration, files


@pytest.mark.parametrize("environment", COMMITTED_ENVIRONMENTS)
def test_a_pull_request_and_a_deploy_synthesize_the_same_configuration(project, environment):
    reviewed_hash, reviewed = synthesize_as_ci_does(project, environment, PULL_REQUEST_RUN)
    deployed_hash, deployed = synthesize_as_ci_does(project, environment, DEPLOY_RUN)
    assert "cdk.tf.json" in reviewed and any(name.endswith(".zip") for name in reviewed), sorted(reviewed)
    assert sorted(reviewed) == sorted(deployed)
    for name in reviewed:
        assert reviewed[name] == deployed[name], f"{name} differs between the pull request and the deploy"
    assert reviewed_hash == deployed_hash
    for value in (*PULL_REQUEST_RUN.values(), *DEPLOY_RUN.values()):
        if len(value) > 5:  # who triggered the run is nowhere in what is planned
            assert value.encode() not in reviewed["cdk.tf.json"], value


# --- 2. plan, apply, stale plans and drift on the emulator ----------------------------------

ENVIRONMENT = "reviewed"  # no environments/ file: its own stack, state and parameters
REGION = "us-east-2"
# What GitHub Actions sets; the deployment record names this run.
GITHUB_RUN = {
    "GITHUB_SHA": "c" * 40,
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "example/product-reviews",
    "GITHUB_RUN_ID": "77",
}
RUN_URL = "https://github.example/example/product-reviews/actions/runs/77"
# A change to plan: the stage throttle, also published as an SSM parameter.
THROTTLED = {"REVIEWS_THROTTLE_RATE": "12"}
ALARM_EMAIL = "oncall@example.com"  # subscribed by apply, never confirmed


@dataclass
class LocalEnvironment:
    """The fresh environment on the test's own emulator, and `python -m deploy` run on it."""

    project: Path
    port: int
    runs: list[subprocess.CompletedProcess] = field(default_factory=list)

    def deploy(self, command: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
        """`python -m deploy <command> --environment reviewed --target local <args>`, with
        `settings` as environment variables, as a CI job would run it."""
        environ = {
            **without_settings(os.environ),
            **GITHUB_RUN,
            "REVIEWS_EMULATOR_PORT": str(self.port),
            "REVIEWS_DELETION_PROTECTION": "false",
            "REVIEWS_ALARM_EMAIL": ALARM_EMAIL,
            **settings,
        }
        run = run_deploy(self.project, command, ENVIRONMENT, *args, environ=environ)
        self.runs.append(run)
        return run

    def plan(self, name: str, **settings: str) -> Path:
        out = self.project / "build" / "plan" / name
        run = self.deploy("plan", "--out", str(out), **settings)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr
        return out

    def client(self, service: str):
        return emulator.client(service, emulator.endpoint_for(self.port), REGION)

    def parameter(self, name: str) -> str:
        return self.client("ssm").get_parameter(Name=f"/productreviews/{ENVIRONMENT}/{name}")["Parameter"]["Value"]

    def alarm_emails(self) -> dict[str, str]:
        """address -> SubscriptionArn ("PendingConfirmation" while it waits) on the alarm topic."""
        topic = f"arn:aws:sns:{REGION}:123456789012:ProductReviews-{ENVIRONMENT}-alarms"
        listed = self.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        return {s["Endpoint"]: s["SubscriptionArn"] for s in listed if s["Protocol"] == "email"}

    def state_addresses(self) -> set[str]:
        state = self.client("s3").get_object(
            Bucket="product-reviews-tfstate-local", Key=f"product-reviews/{ENVIRONMENT}/terraform.tfstate"
        )
        resources = json.loads(state["Body"].read())["resources"]
        return {f"{r['type']}.{r['name']}" for r in resources if r["mode"] == "managed"}


def planned_actions(out: Path) -> dict[str, str]:
    """address -> action of every managed resource the plan in `out` changes (its plan.json)."""
    plan = json.loads((out / "plan.json").read_text())
    return {
        rc["address"]: "-".join(rc["change"]["actions"])
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["change"]["actions"] != ["no-op"]
    }


@pytest.fixture(scope="module")
def local(project, tmp_path_factory):
    port = emulator.free_port()
    state_dir = tmp_path_factory.mktemp("emulator")
    emulator.start(port, state_dir)
    try:
        yield LocalEnvironment(project, port)
    finally:
        emulator.stop(port, state_dir)


@pytest.fixture(scope="module")
def deployed(local) -> tuple[Path, subprocess.CompletedProcess]:
    """The environment planned from nothing, and that plan applied: (plan dir, the apply)."""
    out = local.plan("create")
    return out, local.deploy("apply", "--plan", str(out / "plan.bin"))


@pytest.fixture(scope="module")
def change_planned_twice(deployed, local) -> tuple[Path, Path]:
    """Two plans of the same change (the stage throttle 10 -> 12), both against the state
    `deployed` left."""
    return local.plan("change-first", **THROTTLED), local.plan("change-second", **THROTTLED)


@pytest.fixture(scope="module")
def change_applied(change_planned_twice, local) -> subprocess.CompletedProcess:
    """The second plan of the change, applied."""
    return local.deploy("apply", "--plan", str(change_planned_twice[1] / "plan.bin"), **THROTTLED)


@pytest.mark.emulator
def test_apply_makes_exactly_the_changes_reviewed_and_records_the_deployment(deployed, local):
    out, apply = deployed
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr
    planned = planned_actions(out)
    created = {address for address, action in planned.items() if action == "create"}
    assert len(created) > 30 and len(created) == len(planned)
    assert local.state_addresses() == created
    assert f"Apply complete! Resources: {len(created)} added, 0 changed, 0 destroyed." in apply.stdout
    review = (out / "review.md").read_text()
    assert f"**{len(created)} to add, 0 to change, 0 to replace, 0 to destroy.**" in review
    # The alarm e-mail is no resource: apply subscribes it after Terraform, and it waits.
    assert f"- `{ALARM_EMAIL}`: the apply creates the alarm topic, then subscribes this address" in review
    assert f"subscribed `{ALARM_EMAIL}`: SNS e-mailed it a confirmation link" in apply.stdout
    assert local.alarm_emails() == {ALARM_EMAIL: "PendingConfirmation"}
    # Outside the Terraform state: who deployed never changes a plan.
    deployment = json.loads(local.parameter("deployment"))
    assert deployment["commit"] == GITHUB_RUN["GITHUB_SHA"] and deployment["run_url"] == RUN_URL
    for name in ("plan.bin", ci.PLAN_RECORD):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name


@pytest.mark.emulator
def test_apply_refuses_a_plan_made_from_another_configuration(change_planned_twice, local):
    throttle = local.parameter("api/throttle-limit")
    refused = local.deploy("apply", "--plan", str(change_planned_twice[0] / "plan.bin"))  # without the change
    assert refused.returncode == 1
    assert "differs from the one" in refused.stderr and "Nothing was applied: plan again" in refused.stderr, (
        refused.stderr
    )
    assert "--> Applying" not in refused.stdout
    assert local.parameter("api/throttle-limit") == throttle


@pytest.mark.emulator
def test_a_stale_plan_is_refused_with_the_advice_to_plan_again(change_planned_twice, change_applied, local):
    assert change_applied.returncode == 0, change_applied.stdout[-3000:] + change_applied.stderr
    changes = planned_actions(change_planned_twice[1])
    assert changes and set(changes.values()) == {"update"}, changes
    assert f"Apply complete! Resources: 0 added, {len(changes)} changed, 0 destroyed." in change_applied.stdout
    assert local.parameter("api/throttle-limit") == "12"

    stale = local.deploy("apply", "--plan", str(change_planned_twice[0] / "plan.bin"), **THROTTLED)
    assert stale.returncode == 1
    assert "Saved plan is stale" in stale.stdout  # what Terraform says, shown as it comes
    assert "the plan is stale: the state of product-reviews-reviewed-local changed after it was planned" in stale.stderr
    assert "Re-run the plan and review it again" in stale.stderr


@pytest.mark.emulator
def test_drift_check_finds_a_change_made_behind_terraforms_back_until_it_is_reverted(change_applied, local):
    logs = local.client("logs")
    log_group = f"/aws/lambda/ReviewProcessor-{ENVIRONMENT}"
    out = local.project / "build" / "drift"
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=1)
    try:
        drifted = local.deploy("drift", "--out", str(out), **THROTTLED)
    finally:
        logs.put_retention_policy(logGroupName=log_group, retentionInDays=30)
    assert drifted.returncode == 2, drifted.stdout[-3000:] + drifted.stderr
    review = (out / "review.md").read_text()
    assert "**0 to add, 1 to change, 0 to replace, 0 to destroy.**" in review
    assert "- `retention_in_days`: `1` → `30`" in review
    assert "differs from the code" in drifted.stderr

    reverted = local.deploy("drift", "--out", str(out), **THROTTLED)
    assert reverted.returncode == 0, reverted.stdout[-3000:] + reverted.stderr
    assert "**No changes.**" in (out / "review.md").read_text()


@pytest.mark.emulator
def test_an_unconfirmed_alarm_email_is_waiting_for_confirmation_in_reviews_and_never_drift(
    change_planned_twice, change_applied, local
):
    waiting = f"- `{ALARM_EMAIL}`: **waiting for confirmation**"
    assert waiting in (change_planned_twice[1] / "review.md").read_text()
    # 48 hours later SNS deletes the subscription nobody confirmed: still no change, no drift.
    assert emulator.expire_unconfirmed_subscriptions(emulator.endpoint_for(local.port), REGION) == 1
    out = local.project / "build" / "drift-expired"
    checked = local.deploy("drift", "--out", str(out), **THROTTLED)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
    review = (out / "review.md").read_text()
    assert "**No changes.**" in review
    assert f"- `{ALARM_EMAIL}`: not subscribed (SNS deletes a subscription left unconfirmed for 48 hours)" in review
    assert "**waiting for confirmation**" in review and "None of this is drift." in review


@pytest.mark.emulator
def test_the_api_key_is_in_nothing_printed_or_written_but_plan_bin(change_applied, local):
    """plan.bin embeds the prior state and cannot be redacted; everything else is."""
    apigateway = local.client("apigateway")
    [key] = apigateway.get_api_keys(nameQuery=f"ProductReviewsAPI-{ENVIRONMENT}")["items"]
    api_key = apigateway.get_api_key(apiKey=key["id"], includeValue=True)["value"].encode()
    for run in local.runs:
        assert api_key not in (run.stdout + run.stderr).encode(), run.args
    written = [
        path
        for folder in ("build", ".local")
        for path in (local.project / folder).rglob("*")
        if path.is_file() and path.name != "plan.bin"
    ]
    assert written
    for path in written:
        assert api_key not in path.read_bytes(), path
