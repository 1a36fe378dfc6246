"""What a failed Terraform run means, in words a user can act on."""

import re
from pathlib import Path

from . import locks
from .terraform import TerraformFailed
from .workspace import Workspace

# What Terraform says when a saved plan was made against another state than the current one.
STALE_PLAN_ERRORS = ("Saved plan is stale", "Saved plan does not match the given state")


def explain(
    failure: TerraformFailed, workspace: Workspace, stack_dir: Path | None = None, log_dir: Path | None = None
) -> str:
    """Terraform's failure in `stack_dir` (default: the workspace's stack), whose logs are in
    `log_dir`, in words a user can act on."""
    output = failure.output
    locked = locks.lock_error_message(output, stack_dir or workspace.stack_dir)
    if locked:
        return locked
    if any(error in output for error in STALE_PLAN_ERRORS):
        config = workspace.config
        return (
            f"the plan is stale: the state of {config.stack_name} changed after it was planned (another apply "
            "ran). Terraform applied nothing. Re-run the plan and review it again: `python -m deploy plan "
            f"--environment {config.environment} --target {config.target.kind}`, or in GitHub Actions re-run all "
            "jobs of the deploy run (re-running only the apply job would reuse this plan)."
        )
    account = re.search(r"AWS account ID not allowed: (\d+)", output)
    if account:
        return wrong_account(account[1], workspace)
    errors = [line.strip("│ ").strip() for line in output.splitlines() if line.lstrip("│ ").startswith("Error")]
    summary = "; ".join(errors[:3]) or f"exit {failure.returncode}"
    return f"terraform {failure.command} failed: {summary}. Full log in {log_dir or workspace.log_dir}/"


def wrong_account(account: str, workspace: Workspace) -> str:
    """Credentials of `account`, which is not the one the workspace's environment deploys to."""
    config = workspace.config
    return (
        f"the AWS credentials belong to account {account}, but {config.stack_name} deploys only to "
        f"account {config.target.account_id} (REVIEWS_ACCOUNT_ID, or accountId in "
        f"environments/{config.environment}.json). Nothing was changed. Use credentials for that "
        "account, or correct the setting."
    )
