"""`python -m deploy bootstrap` on the emulator (one emulator is one account), and the CI path it
makes possible. The tests run in file order and share the account, as its owners would:

1. `bravo` runs the app as an earlier version deployed it, managing the account-wide API
   Gateway logging role itself.
2. The first bootstrap of `alpha`, interrupted while it creates the state bucket, carries on
   when run again and moves its state into the bucket it created; a third run changes nothing.
3. `bravo` is bootstrapped into the same account: the account stack is shared and unchanged.
4. `alpha` is deployed. `bravo`'s upgrade is planned and sealed as CI does: what CI would
   upload reveals no secret, and the unsealed plan applies. It forgets the old logging role
   without destroying it; alpha's plan is clean after it.
5. `alpha` is destroyed: bravo's API logging is intact and its plan clean.

Terraform dominates the time: each plan or apply loads the AWS provider (seconds of CPU), the
state bucket's lifecycle rule makes the provider wait ~50 s, each KMS key ~12 s.
"""

import json
import os
import signal
import subprocess
import zipfile
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest
import yaml

from deploy import make_up
from deploy.bootstrap import LOCAL_STATE_DIR
from deploy.emulator_lifecycle import start_emulator
from deploy.local_target import LocalTarget
from deploy.workspace import Workspace
from localaws import emulator
from stacks.bootstrap.api_gateway_logging import PUSH_TO_CLOUDWATCH_POLICY, cloudwatch_role_name
from stacks.bootstrap.config import STATE_KEY_ALIAS
from stacks.iam import assume_role_policy
from stacks.migrations import ACCOUNT_LOGGING_ADDRESSES
from tests.support import (
    DEPLOY_TIMEOUT_SECONDS,
    PROJECT_ROOT,
    copy_project,
    deploy_command,
    run_deploy,
    without_settings,
)

pytestmark = pytest.mark.emulator

REGION = "us-east-2"
ACCOUNT = "123456789012"  # the emulator's
REPOSITORY = "example/product-reviews"
STATE_BUCKET = f"product-reviews-tfstate-{ACCOUNT}"
HOME = f"product-reviews-bootstrap-account-{REGION}-local"
LOGGING_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{cloudwatch_role_name(REGION)}"
GITHUB_RUN = {"GITHUB_SHA": "b" * 40, "GITHUB_REPOSITORY": REPOSITORY}  # what the seal is bound to


@dataclass
class Account:
    """The emulator as one AWS account, and `python -m deploy` run against it as CI runs it."""

    project: Path
    port: int
    runs: list[subprocess.CompletedProcess] = field(default_factory=list)

    def settings(self, environment: str) -> dict[str, str]:
        return {
            **without_settings(os.environ),
            **GITHUB_RUN,
            "ENVIRONMENT_SUFFIX": environment,
            "REVIEWS_TARGET": "local",
            "REVIEWS_EMULATOR_PORT": str(self.port),
            "REVIEWS_REPOSITORY": REPOSITORY,
            "REVIEWS_DELETION_PROTECTION": "false",
        }

    def deploy(self, command: str, environment: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
        run = run_deploy(self.project, command, environment, *args, environ={**self.settings(environment), **extra})
        self.runs.append(run)
        return run

    def workspace(self, environment: str) -> Workspace:
        return Workspace.load(self.settings(environment), project_dir=self.project)

    def local(self, environment: str) -> LocalTarget:
        return LocalTarget(self.workspace(environment))

    def client(self, service: str):
        return emulator.client(service, emulator.endpoint_for(self.port), REGION)

    def logging_role(self) -> str:
        return self.client("apigateway").get_account()["cloudwatchRoleArn"]

    def api_key(self, environment: str) -> str:
        apigateway = self.client("apigateway")
        [key] = apigateway.get_api_keys(nameQuery=f"ProductReviewsAPI-{environment}")["items"]
        return apigateway.get_api_key(apiKey=key["id"], includeValue=True)["value"]


def ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("project"))
    port = emulator.free_port()
    emulator.start(port, project / ".local")
    try:
        yield Account(project, port)
    finally:
        emulator.stop(port, project / ".local")


# --- 1. an environment deployed before the bootstrap existed ----------------------------------


def legacy_account_logging(environment: str) -> dict[str, dict]:
    """The account-wide logging resources as earlier versions of the app stack synthesized them,
    at the addresses stacks/migrations.py forgets."""
    addresses = {address.split(".")[0]: address.split(".")[1] for address in ACCOUNT_LOGGING_ADDRESSES}
    role = f"aws_iam_role.{addresses['aws_iam_role']}"
    return {
        "aws_iam_role": {
            addresses["aws_iam_role"]: {
                "name": f"ProductReviewsAPI-{environment}-cloudwatch",
                "assume_role_policy": assume_role_policy("apigateway.amazonaws.com"),
            }
        },
        "aws_iam_role_policy_attachment": {
            addresses["aws_iam_role_policy_attachment"]: {
                "role": f"${{{role}.name}}",
                "policy_arn": PUSH_TO_CLOUDWATCH_POLICY,
            }
        },
        "aws_api_gateway_account": {addresses["aws_api_gateway_account"]: {"cloudwatch_role_arn": f"${{{role}.arn}}"}},
    }


@pytest.fixture(scope="module")
def legacy_bravo(account) -> Workspace:
    """bravo as an earlier version deployed it: today's stack plus the account logging resources."""
    workspace = account.workspace("bravo")
    workspace.synthesize()
    configuration = json.loads((workspace.stack_dir / "cdk.tf.json").read_text())
    configuration["removed"] = [b for b in configuration["removed"] if b["from"] not in ACCOUNT_LOGGING_ADDRESSES]
    for resource_type, resources in legacy_account_logging("bravo").items():
        configuration["resource"].setdefault(resource_type, {}).update(resources)
    (workspace.stack_dir / "cdk.tf.json").write_text(json.dumps(configuration))
    start_emulator(account.local("bravo"))  # reused; its state bucket and key as deploys make them
    workspace.initialize()
    with workspace.terraform_session() as stack:
        stack.run("apply", "-auto-approve", "-input=false", "-no-color", log_name="legacy-apply")
    return workspace


def test_an_environment_of_an_earlier_version_owns_the_accounts_api_logging(legacy_bravo, account):
    assert account.logging_role() == f"arn:aws:iam::{ACCOUNT}:role/ProductReviewsAPI-bravo-cloudwatch"


# --- 2. the first bootstrap of an account, interrupted, then again ----------------------------


@pytest.fixture(scope="module")
def interrupted(legacy_bravo, account) -> subprocess.CompletedProcess:
    """The first bootstrap of alpha, stopped (Ctrl-C) while the provider waits for the state
    bucket's lifecycle rule."""
    process = subprocess.Popen(
        deploy_command("bootstrap", "alpha"),
        cwd=account.project,
        env=account.settings("alpha"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed = []
    assert process.stdout is not None
    for line in process.stdout:
        printed.append(line)
        if "aws_s3_bucket_lifecycle_configuration" in line and "Creating..." in line:
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=DEPLOY_TIMEOUT_SECONDS)
    run = subprocess.CompletedProcess(process.args, process.returncode, "".join(printed) + stdout, stderr)
    account.runs.append(run)
    return run


@pytest.fixture(scope="module")
def bootstrapped(interrupted, account) -> subprocess.CompletedProcess:
    return account.deploy("bootstrap", "alpha")


def local_state(account: Account) -> Path:
    return account.project / LOCAL_STATE_DIR / HOME / "terraform.tfstate"


def test_an_interrupted_first_bootstrap_stops_safely_with_its_state_on_disk(interrupted, account):
    assert interrupted.returncode == 130, interrupted.stdout[-3000:] + interrupted.stderr
    assert "Run it again to carry on" in interrupted.stderr
    created = {r["type"] for r in json.loads(local_state(account).read_text())["resources"]}
    assert "aws_s3_bucket" in created  # the bucket exists, but does not hold the state yet


def test_running_it_again_finishes_and_moves_the_state_into_the_bucket_it_created(bootstrapped, account):
    ok(bootstrapped)
    assert not local_state(account).exists()
    s3 = account.client("s3")
    state = s3.head_object(Bucket=STATE_BUCKET, Key=f"bootstrap/account/{REGION}/terraform.tfstate")
    state_key = account.client("kms").describe_key(KeyId=STATE_KEY_ALIAS)["KeyMetadata"]["Arn"]
    assert (state["ServerSideEncryption"], state["SSEKMSKeyId"]) == ("aws:kms", state_key)  # the bucket's default
    assert s3.get_bucket_versioning(Bucket=STATE_BUCKET)["Status"] == "Enabled"
    assert f"AWS_PLAN_ROLE_ARN_ALPHA = arn:aws:iam::{ACCOUNT}:role/ProductReviews-alpha-plan" in bootstrapped.stdout
    assert f"AWS_DEPLOY_ROLE_ARN = arn:aws:iam::{ACCOUNT}:role/ProductReviews-alpha-deploy" in bootstrapped.stdout


def test_the_bootstrap_takes_over_the_accounts_api_logging(bootstrapped, account):
    assert account.logging_role() == LOGGING_ROLE


def test_running_the_bootstrap_again_changes_nothing(bootstrapped, account):
    again = ok(account.deploy("bootstrap", "alpha"))
    for stack in (HOME, "product-reviews-bootstrap-alpha-local"):
        assert f"{stack}: 0 to add, 0 to change, 0 to destroy" in again.stdout
    assert "Apply complete" not in again.stdout


# --- 3. a second environment in the account ---------------------------------------------------


@pytest.fixture(scope="module")
def bravo_bootstrapped(bootstrapped, account) -> subprocess.CompletedProcess:
    return account.deploy("bootstrap", "bravo")


def test_a_second_environment_shares_the_account_stack_and_gets_its_own(bravo_bootstrapped, account):
    ok(bravo_bootstrapped)
    assert f"{HOME}: 0 to add, 0 to change, 0 to destroy" in bravo_bootstrapped.stdout
    assert "product-reviews-bootstrap-bravo-local: 7 to add, 0 to change, 0 to destroy" in bravo_bootstrapped.stdout
    roles = {role["RoleName"] for role in account.client("iam").list_roles()["Roles"]}
    assert {f"ProductReviews-{env}-{kind}" for env in ("alpha", "bravo") for kind in ("plan", "deploy")} <= roles


# --- 4. both environments deployed; bravo upgraded through a sealed plan ----------------------


@pytest.fixture(scope="module")
def alpha_deployed(bravo_bootstrapped, account) -> str:
    return printed_by(make_up.deploy, account.local("alpha"))


@pytest.fixture(scope="module")
def bravo_planned(alpha_deployed, account) -> Path:
    out = account.project / "build" / "plan" / "bravo"
    ok(account.deploy("plan", "bravo", "--out", str(out)))
    output = account.project / "github-output"
    ok(account.deploy("seal", "bravo", "--plan", str(out / "plan.bin"), GITHUB_OUTPUT=str(output)))
    assert output.read_text() == "retention-days=7\n"
    return out


def uploaded_files(project: Path, environment: str) -> list[Path]:
    """Every file the workflows upload as an artifact, where the commands they run wrote it."""
    found = []
    for workflow in (PROJECT_ROOT / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/upload-artifact@"):
                    for path in step["with"]["path"].splitlines():
                        path = path.replace("${{ inputs.environment }}", environment)
                        found.append(project / path.replace("${{ matrix.environment }}", environment))
    return [path for path in found if path.exists()]


def test_the_upgrade_plan_forgets_the_old_logging_role_and_destroys_nothing(bravo_planned):
    changes = json.loads((bravo_planned / "plan.json").read_text())["resource_changes"]
    actions = {change["address"]: change["change"]["actions"] for change in changes}
    assert {address: actions.get(address) for address in ACCOUNT_LOGGING_ADDRESSES} == dict.fromkeys(
        ACCOUNT_LOGGING_ADDRESSES, ["forget"]
    )
    assert not [address for address, action in actions.items() if "delete" in action]


def test_nothing_ci_uploads_reveals_the_api_key_or_the_state(bravo_planned, account):
    api_key = account.api_key("bravo").encode()
    with zipfile.ZipFile(bravo_planned / "plan.bin") as plan:  # what the seal protects
        assert any(api_key in plan.read(name) for name in plan.namelist())
    uploaded = uploaded_files(account.project, "bravo")
    assert sorted(path.name for path in uploaded) == ["plan.sealed", "review.md"]
    for path in uploaded:
        content = path.read_bytes()
        assert api_key not in content and b"PK\x03\x04" not in content and b'"lineage"' not in content, path


@pytest.fixture(scope="module")
def bravo_upgraded(bravo_planned, account) -> subprocess.CompletedProcess:
    """The apply job: a fresh directory holding only the downloaded artifact."""
    downloaded = account.project / "build" / "download" / "bravo" / "plan.sealed"
    downloaded.parent.mkdir(parents=True)
    downloaded.write_bytes((bravo_planned / "plan.sealed").read_bytes())
    return account.deploy("apply", "bravo", "--plan", str(downloaded))


def test_the_unsealed_plan_applies_and_keeps_the_old_logging_role(bravo_upgraded, account):
    ok(bravo_upgraded)
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in bravo_upgraded.stdout
    assert account.client("iam").get_role(RoleName="ProductReviewsAPI-bravo-cloudwatch")
    assert account.logging_role() == LOGGING_ROLE


def test_an_environment_plans_clean_after_the_other_environments_apply(bravo_upgraded, account):
    drift = account.deploy("drift", "alpha")
    assert drift.returncode == 0, drift.stdout[-3000:] + drift.stderr
    assert "No drift" in drift.stderr


# --- 5. one environment destroyed -------------------------------------------------------------


@pytest.fixture(scope="module")
def alpha_destroyed(bravo_upgraded, account) -> str:
    return printed_by(make_up.destroy, account.local("alpha"))


def printed_by(command, target) -> str:
    """What `command(target)` printed, for the test that greps it for the API key."""
    printed = StringIO()
    with redirect_stdout(printed):
        command(target)
    return printed.getvalue()


def test_destroying_an_environment_leaves_the_others_api_logging_intact(alpha_destroyed, account):
    assert "Destroy complete" in alpha_destroyed
    assert account.logging_role() == LOGGING_ROLE
    assert account.client("iam").get_role(RoleName=cloudwatch_role_name(REGION))
    drift = account.deploy("drift", "bravo")
    assert drift.returncode == 0, drift.stdout[-3000:] + drift.stderr


def test_the_api_key_is_in_nothing_the_commands_printed(alpha_destroyed, account):
    api_key = account.api_key("bravo")
    assert account.runs
    for run in account.runs:
        assert api_key not in run.stdout + run.stderr, run.args
