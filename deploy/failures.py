"""What a failed Terraform run means, in words a user can act on."""

import re

from . import locks
from .terraform import TerraformFailed
from .workspace import Workspace


def explain(failure: TerraformFailed, workspace: Workspace) -> str:
    output = failure.output
    locked = locks.lock_error_message(output, workspace.stack_dir)
    if locked:
        return locked
    account = re.search(r"AWS account ID not allowed: (\d+)", output)
    if account:
        config = workspace.config
        return (
            f"the AWS credentials belong to account {account[1]}, but {config.stack_name} deploys only to "
            f"account {config.target.account_id} (REVIEWS_ACCOUNT_ID, or accountId in "
            f"environments/{config.environment}.json). Nothing was changed. Use credentials for that "
            "account, or correct the setting."
        )
    errors = [line.strip("│ ").strip() for line in output.splitlines() if line.lstrip("│ ").startswith("Error")]
    summary = "; ".join(errors[:3]) or f"exit {failure.returncode}"
    return f"terraform {failure.command} failed: {summary}. Full log in {workspace.log_dir}/"
