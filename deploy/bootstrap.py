"""`python -m deploy bootstrap --environment ENV [--target local|aws]`: everything an account needs
before the environment's first plan (stacks/bootstrap, docs/bootstrap.md), synthesized and
applied, then what to set in GitHub.

In order: the account stack of the state bucket's region (the bucket, its key, the GitHub OIDC
provider, API Gateway's logging role), the account stack of the environment's region if that
differs, then the environment's stack (its plan and deploy roles, plan key, permissions
boundary). Each stack is planned and the plan applied; a stack that matches the code says
"0 to add, 0 to change, 0 to destroy" and is left alone, so running it again changes nothing.

The first account stack cannot keep its state in a bucket it has yet to create: its state
starts in a file under .bootstrap/ and, once the bucket exists, moves into it (`terraform init
-migrate-state`); the file is removed only after the bucket holds the same state. A run that
was interrupted anywhere carries on when run again: a state file still under .bootstrap/ is
applied and moved again, and Terraform itself stops safely on Ctrl-C. Run the first bootstrap
of an account where .bootstrap/ survives until it finishes (not a throwaway CI machine).

On the local target it starts the emulator unless it runs, and leaves it running, as `make up`
does (`make down` stops it).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.bootstrap.config import (
    AccountConfig,
    BootstrapBackend,
    EnvironmentCiConfig,
    account_configs,
    environment_config,
)
from stacks.config import StackConfig
from stacks.remembered_backend import initialized

from .emulator_lifecycle import start_emulator
from .failures import explain
from .local_target import LocalTarget
from .private_files import private_directory
from .progress import step, terraform_progress
from .provider_server import shared_provider
from .terraform import NON_INTERACTIVE, Stack, TerraformFailed
from .workspace import DeployError, Workspace

LOCAL_STATE_DIR = ".bootstrap"  # under the project: the first account stack's state, until it moves
PLAN_FILE = "bootstrap.tfplan"


@dataclass(frozen=True)
class BootstrapStack:
    """One synthesized bootstrap stack, and Terraform in it."""

    workspace: Workspace
    name: str
    backend: BootstrapBackend

    @property
    def directory(self) -> Path:
        return self.workspace.project_dir / "cdktf.out" / "stacks" / self.name

    def terraform(self) -> Stack:
        log_dir = self.workspace.log_dir.parent / self.name  # beside the app's (.local/ or build/logs/)
        return Stack(self.directory, log_dir, self.workspace.process_environment())

    @contextmanager
    def session(self) -> Iterator[Stack]:
        """Terraform here for a block of runs (one provider process on the local target)."""
        stack = self.terraform()
        with shared_provider(stack) if self.workspace.config.target.is_local else nullcontext(stack) as session:
            yield session

    def outputs(self) -> dict[str, Any]:
        printed = self.terraform().run("output", "-json")
        return {name: output["value"] for name, output in json.loads(printed).items()}


@dataclass(frozen=True)
class Bootstrapped:
    account: dict[str, Any]  # the outputs of the account stack of the state bucket's region
    environment: dict[str, Any]  # the outputs of the environment's stack


def bootstrap(workspace: Workspace) -> Bootstrapped:
    """Applies the environment's bootstrap stacks in order; returns their outputs."""
    app = workspace.config
    local_dir = workspace.project_dir / LOCAL_STATE_DIR
    if app.target.is_local:
        start_emulator(LocalTarget(workspace))  # and leave it running, as make up does: make down stops it
    home, *others = account_configs(app, local_dir)
    starts_local = _state_starts_local(workspace, home)
    if starts_local:
        assert home.backend.local_path is not None
        private_directory(home.backend.local_path.parent)
    _synthesize(workspace, local_dir if starts_local else None)
    _apply(_stack(workspace, home, starts_local))
    if starts_local:
        _move_state_into_bucket(workspace, home)
    for account in others:
        _apply(_stack(workspace, account))
    environment = environment_config(app)
    _apply(_stack(workspace, environment))
    return Bootstrapped(_stack(workspace, home).outputs(), _stack(workspace, environment).outputs())


def _stack(workspace: Workspace, config: AccountConfig | EnvironmentCiConfig, local: bool = False) -> BootstrapStack:
    backend = config.backend if local else config.backend.moved_to_bucket()
    return BootstrapStack(workspace, config.stack_name, backend)


def _state_starts_local(workspace: Workspace, home: AccountConfig) -> bool:
    """Local while a state file is still under .bootstrap/ (an earlier run stopped before moving
    it) or the bucket does not hold the state yet (the first run)."""
    assert home.backend.local_path is not None
    if home.backend.local_path.exists():
        return True
    s3 = workspace.client("s3")
    try:
        s3.head_object(Bucket=home.backend.bucket, Key=home.backend.key)
    except s3.exceptions.ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchKey", "NoSuchBucket"):
            return True
        raise DeployError(
            f"cannot read s3://{home.backend.bucket}/{home.backend.key} ({code}): if another account owns a "
            "bucket of that name, choose another stateBucket in the environment's file"
        ) from None
    return False


def _synthesize(workspace: Workspace, local_state_dir: Path | None) -> None:
    with step(f"Synthesizing the bootstrap stacks of {workspace.config.environment}"):
        arguments = ["--local-state-dir", str(local_state_dir)] if local_state_dir else []
        workspace.synthesize("-m", "stacks.bootstrap", *arguments)


def _apply(stack: BootstrapStack) -> None:
    """Plans the stack and applies that plan, unless it changes nothing."""
    with step(f"Bootstrapping {stack.name}: terraform init, plan, apply"), _explained(stack):
        if not initialized(stack.directory):
            stack.terraform().run("init", "-reconfigure", *NON_INTERACTIVE, log_name="init")
        with stack.session() as session:
            _keep_what_must_never_be_replaced(stack, session)
            printed: list[str] = []
            if not session.plan_has_changes("-out", PLAN_FILE, *NON_INTERACTIVE, log_name="plan", echo=printed.append):
                print(f"    {stack.name}: 0 to add, 0 to change, 0 to destroy (it matches the code)")
                return
            planned = next((line.removeprefix("Plan: ") for line in printed if line.startswith("Plan: ")), "changes")
            print(f"    {stack.name}: {planned.rstrip('.')}")
            session.run("apply", *NON_INTERACTIVE, PLAN_FILE, log_name="apply", echo=terraform_progress)


def _keep_what_must_never_be_replaced(stack: BootstrapStack, session: Stack) -> None:
    """Untaints the resources that refuse to be destroyed (the state bucket and its key). An
    interrupted creation taints what it created, and Terraform would replace it, which
    prevent_destroy forbids; yet the bucket or key exists, and the plan brings whatever the
    creation did not finish (rotation, tags) to the code in place."""
    configuration = json.loads((stack.directory / "cdk.tf.json").read_text())
    kept = {
        f"{resource_type}.{name}"
        for resource_type, resources in configuration.get("resource", {}).items()
        for name, resource in resources.items()
        if resource.get("lifecycle", {}).get("prevent_destroy")
    }
    pulled = session.run("state", "pull")
    state = json.loads(pulled) if pulled.strip() else {"resources": []}
    for resource in state["resources"]:
        address = f"{resource['type']}.{resource['name']}"
        if address in kept and any(instance.get("status") == "tainted" for instance in resource["instances"]):
            session.run("untaint", address, log_name="untaint")
            print(f"    {address}: its creation was interrupted; kept, not replaced")


def _move_state_into_bucket(workspace: Workspace, home: AccountConfig) -> None:
    """`terraform init -migrate-state` into the bucket the stack created; the local file goes
    only once the bucket holds the same resources and outputs (a migrated state starts a new
    lineage)."""
    local_path = home.backend.local_path
    assert local_path is not None
    stack = _stack(workspace, home)
    with step(f"Moving the state of {stack.name} into s3://{home.backend.bucket}/{home.backend.key}"):
        _synthesize(workspace, None)
        with _explained(stack):
            stack.terraform().run("init", "-migrate-state", "-force-copy", *NON_INTERACTIVE, log_name="init")
            moved = json.loads(stack.terraform().run("state", "pull"))
        if _content(moved) != _content(json.loads(local_path.read_text())):
            raise DeployError(
                f"the bucket's copy of the {stack.name} state differs from {local_path}, which was kept: "
                "run the bootstrap again"
            )
        for leftover in (local_path, local_path.with_name(f"{local_path.name}.backup")):
            leftover.unlink(missing_ok=True)
        print(f"    moved; {local_path} removed")


@contextmanager
def _explained(stack: BootstrapStack) -> Iterator[None]:
    try:
        yield
    except TerraformFailed as failure:
        raise DeployError(explain(failure, stack.workspace, stack.directory, stack.terraform().log_dir)) from None


def _content(state: dict[str, Any]) -> str:
    return json.dumps([state["resources"], state.get("outputs", {})], sort_keys=True)


def next_steps(workspace: Workspace, done: Bootstrapped) -> str:
    """What to set in GitHub (once per environment) for CI to use what the bootstrap created."""
    config = workspace.config
    environment = config.environment
    state_key_step = _state_key_step(config, done)
    return f"""
Bootstrapped {environment} in account {config.target.account_id} ({config.target.region}).

Next, in the GitHub repository {config.ci.repository} (docs/bootstrap.md):
  1. Repository variable (Settings > Secrets and variables > Actions > Variables):
       AWS_PLAN_ROLE_ARN_{environment.upper()} = {done.environment["plan_role_arn"]}
  2. GitHub environment "{environment}" (Settings > Environments > {environment}):
       environment variable AWS_DEPLOY_ROLE_ARN = {done.environment["deploy_role_arn"]}
       Deployment branches and tags: "Selected branches and tags", main only
       Required reviewers: who approves an apply of {environment} (and "Prevent self-review"){state_key_step}

For reference:
  state bucket key (KMS):  {done.account["state_kms_key_arn"]}
  plan key (KMS):          {done.environment["plan_key_arn"]} (CI uses {done.environment["plan_key_alias"]})
  permissions boundary:    {done.environment["permissions_boundary_arn"]}
  GitHub OIDC provider:    {done.account["github_oidc_provider_arn"]}
  API Gateway logging:     {done.account["api_gateway_cloudwatch_role_arn"]}"""


def _state_key_step(config: StackConfig, done: Bootstrapped) -> str:
    """On a real account, the app's state must be encrypted with the key the bootstrap made."""
    key = done.account["state_kms_key_arn"]
    if config.target.is_local or config.backend.kms_key_id == key:
        return ""
    return (
        f"\n  3. environments/{config.environment}.json (the app's state is encrypted with the state key):"
        f'\n       "stateKmsKey": "{key}"'
    )
