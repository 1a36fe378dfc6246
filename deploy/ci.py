"""Plan, apply and drift check of one environment, as CI runs them (docs/ci.md): the plan a
reviewer approves is exactly what gets applied.

    python -m deploy plan  --environment prod --target aws --out build/plan/prod [--no-lock]
    python -m deploy apply --environment prod --target aws --plan build/plan/prod/plan.bin
    python -m deploy drift --environment prod --target aws --out build/drift/prod [--no-lock]

- `plan` synthesizes, plans into plan.bin and writes its review (deploy/review/make_plan.py),
  and records beside plan.bin which configuration it was planned from (PLAN_RECORD).
- `apply` synthesizes again and refuses unless the configuration is byte for byte the one
  planned; then runs `terraform apply plan.bin` and nothing else. Terraform itself refuses
  a plan made against an older state ("stale"): plan again. The deployment (commit, time,
  run) is then recorded in an SSM parameter, outside the Terraform state, so that who
  deployed never changes a plan.
- `drift` plans what is deployed against the code: True (exit 2) when they differ.

What no plan shows is handled around Terraform: each first checks the credentials' account,
and `plan` and `apply` that the account's Lambda concurrency limit can hold the reservation
(deploy/account_limits.py); the alarm e-mail subscription is kept outside Terraform: `apply`
subscribes it, the plan and drift reviews say where it stands (deploy/alarm_email.py).

On the local target each starts the emulator if it is not running, as `make up` does, and
stops it again afterwards.
"""

import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from stacks.bootstrap.config import plan_key_alias

from . import alarm_email, sealed_plan
from .account_limits import check_account
from .emulator_lifecycle import emulator_running
from .errors import DeployError
from .failures import explain
from .live_code import reconcile_pushed_code
from .local_target import LocalTarget
from .private_files import private_directory, write_private
from .progress import step
from .review.make_plan import Planned, run_plan
from .review.render import RunInfo
from .skip_cache import refresh_needed
from .terraform import NON_INTERACTIVE, TerraformFailed
from .workspace import Workspace, file_sha256

PLAN_FILE = "plan.bin"
PLAN_RECORD = "plan-record.json"  # beside plan.bin: the configuration it was planned from


@dataclass(frozen=True)
class PlanRecord:
    """Which configuration a plan.bin was made from, and which plan.bin it is."""

    stack: str
    configuration_sha256: str  # Workspace.configuration_sha256() right after synth
    plan_sha256: str

    @classmethod
    def read(cls, plan_file: Path) -> "PlanRecord":
        path = plan_file.parent / PLAN_RECORD
        if not path.exists():
            raise DeployError(
                f"{path} is missing: apply only a plan.bin that `python -m deploy plan` wrote, "
                "with the record it keeps beside it"
            )
        return cls(**json.loads(path.read_text()))


def synthesize(workspace: Workspace) -> str:
    """Synthesizes the workspace's stack; returns its configuration's sha256."""
    with step(f"Synthesizing {workspace.config.stack_name}"):
        workspace.synthesize()
        configuration = workspace.configuration_sha256()
        print(f"    configuration sha256 {configuration}")
    return configuration


def plan(
    workspace: Workspace, out_dir: Path, *, lock: bool = True, replace: Sequence[str] = (), run: RunInfo
) -> Planned:
    """Plans the workspace into out_dir/plan.bin with its review, and records beside it the
    configuration planned (written last: a failed plan leaves no plan to apply)."""
    out_dir = private_directory(out_dir)
    for name in (PLAN_FILE, PLAN_RECORD):
        (out_dir / name).unlink(missing_ok=True)
    with _target_ready(workspace):
        check_account(workspace)
        configuration = synthesize(workspace)
        _initialize(workspace)
        with step(f"Planning {workspace.config.stack_name} (terraform plan) and reviewing the plan"):
            # On the local target, make up's proof that nothing else touched the deployment.
            target = LocalTarget(workspace)
            local = workspace.config.target.is_local
            refresh = not local or refresh_needed(target, reconcile_pushed_code(target, target.state()))
            notes = _alarm_email_review(workspace)
            with workspace.terraform_session() as stack:
                planned = run_plan(stack, out_dir, lock=lock, replace=replace, refresh=refresh, run=run, notes=notes)
    record = PlanRecord(workspace.config.stack_name, configuration, file_sha256(out_dir / PLAN_FILE))
    write_private(out_dir / PLAN_RECORD, json.dumps(asdict(record), indent=1) + "\n")
    return planned


def seal(workspace: Workspace, plan_file: Path, *, run: RunInfo) -> Path:
    """Seals `plan_file` and its record for the apply job (deploy/sealed_plan.py)."""
    PlanRecord.read(plan_file)
    with _target_ready(workspace), step(f"Sealing {plan_file} with {plan_key_alias(workspace.config.environment)}"):
        return sealed_plan.seal(
            workspace, plan_file.parent, sealed_plan.Seal.of(workspace, current_commit(workspace, run))
        )


def apply(workspace: Workspace, plan_file: Path, *, run: RunInfo) -> None:
    """Applies exactly `plan_file` (a plan.bin, or the plan.sealed made of it), if the
    configuration synthesized now is the one planned."""
    with _target_ready(workspace):
        if plan_file.suffix == Path(sealed_plan.SEALED_FILE).suffix:
            with step(f"Unsealing {plan_file}"):
                bound = sealed_plan.Seal.of(workspace, current_commit(workspace, run))
                plan_file = sealed_plan.unseal(workspace, plan_file, bound, plan_file.parent / "unsealed")
        record = PlanRecord.read(plan_file)
        if file_sha256(plan_file) != record.plan_sha256:
            raise DeployError(
                f"{plan_file} is not the plan recorded beside it in {PLAN_RECORD}: "
                "plan again, and apply the plan.bin that plan writes"
            )
        configuration = synthesize(workspace)
        if (workspace.config.stack_name, configuration) != (record.stack, record.configuration_sha256):
            raise DeployError(
                f"the configuration synthesized now ({workspace.config.stack_name}, sha256 {configuration}) "
                f"differs from the one {plan_file} was planned from ({record.stack}, sha256 "
                f"{record.configuration_sha256}): the code, environments/{workspace.config.environment}.json "
                "or a setting changed since the plan. Nothing was applied: plan again and review the new plan."
            )
        check_account(workspace)
        _initialize(workspace)
        with step(f"Applying {plan_file} to {workspace.config.stack_name} (terraform apply)"):
            _apply_saved_plan(workspace, plan_file)
        alarm_email.keep_subscribed(workspace.client("sns"), workspace.config)
        with step("Recording the deployment"):
            _record_deployment(workspace, run)


def drift(workspace: Workspace, out_dir: Path, *, lock: bool = True, run: RunInfo) -> bool:
    """Plans the deployed environment against the code, writing the review into out_dir;
    True when they differ. No security scan: drift is about what is deployed. The alarm
    e-mail's subscription is reported, never drift."""
    with _target_ready(workspace):
        check_account(workspace, concurrency=False)  # drift plans, but changes nothing
        synthesize(workspace)
        _initialize(workspace)
        with step(f"Planning {workspace.config.stack_name} against what is deployed (terraform plan)"):
            notes = _alarm_email_review(workspace)
            with workspace.terraform_session() as stack:
                return run_plan(stack, out_dir, lock=lock, run=run, scan_security=False, notes=notes).has_changes


def _alarm_email_review(workspace: Workspace) -> list[str]:
    return alarm_email.review_section(alarm_email.read(workspace.client("sns"), workspace.config))


def _initialize(workspace: Workspace) -> None:
    with step("Preparing Terraform (init when needed)"):
        workspace.initialize()


def _apply_saved_plan(workspace: Workspace, plan_file: Path) -> None:
    with workspace.terraform_session(workspace.redaction()) as stack:
        stack.run("apply", *NON_INTERACTIVE, str(plan_file.resolve()), log_name="apply", echo=print)


def _record_deployment(workspace: Workspace, run: RunInfo) -> None:
    """What was deployed last, when and by which run, in the SSM parameter
    /productreviews/<env>/deployment. Kept out of the Terraform state on purpose: a tag or
    output naming the commit or the person would make every deploy by someone else change
    every resource."""
    deployment = {
        "commit": current_commit(workspace, run),
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_url": run.run_url,
    }
    name = f"{workspace.config.parameter_prefix}deployment"
    workspace.client("ssm").put_parameter(Name=name, Value=json.dumps(deployment), Type="String", Overwrite=True)
    print(f"    {name} = {json.dumps(deployment)}")


def current_commit(workspace: Workspace, run: RunInfo) -> str:
    """The commit this run builds: GitHub's, else the one checked out."""
    return run.commit or _checked_out_commit(workspace.project_dir) or "unknown"


def _checked_out_commit(project_dir: Path) -> str | None:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


@contextmanager
def _target_ready(workspace: Workspace) -> Iterator[None]:
    """The local target's state lives in the emulator: it runs while Terraform does. A failed
    Terraform run is explained in words a user can act on (deploy/failures.py)."""
    with emulator_running(LocalTarget(workspace)) if workspace.config.target.is_local else nullcontext():
        try:
            yield
        except TerraformFailed as failure:
            raise DeployError(explain(failure, workspace)) from None
