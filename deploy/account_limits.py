"""What a deploy needs of the account that no plan shows, checked before Terraform runs, so that
a deploy the account cannot hold fails before it changes anything.

First the credentials' account (sts:GetCallerIdentity): another account's numbers would
explain nothing, so credentials of another account stop here, with the message Terraform's
own refusal (allowed_account_ids) gets.

Reserved concurrency comes out of the account's concurrent-executions limit, and Lambda keeps
100 of it unreserved for the functions without a reservation: "You can reserve up to the
Unreserved account concurrency value minus 100" (Lambda developer guide, "Configuring reserved
concurrency"). New accounts start with reduced concurrency quotas ("Lambda quotas"), where the
default reservation of 50 cannot fit: Terraform would create the function, then fail to set
its concurrency halfway through the apply. The AWS provider 5.100.0 has no data source for
Lambda's account settings (its Service Quotas data source reports the quota, not what other
functions reserve), so the check is GetAccountSettings, here.
"""

from typing import Any

from stacks.config import StackConfig

from .errors import DeployError
from .failures import wrong_account
from .progress import step
from .workspace import Workspace

UNRESERVED_MINIMUM = 100  # what Lambda keeps unreserved in every account and Region
CONCURRENCY_QUOTA = "Service Quotas: AWS Lambda, Concurrent executions (L-B99A9384)"


def check_account(workspace: Workspace, *, concurrency: bool = True) -> None:
    """The step before Terraform changes anything: the credentials' account, and (unless only
    planning for drift) whether its Lambda concurrency limit holds the reservation."""
    with step("Checking the account: credentials, Lambda concurrency limit"):
        check_credentials_account(workspace)
        if concurrency:
            check_reserved_concurrency(workspace.client("lambda"), workspace.config)


def check_credentials_account(workspace: Workspace) -> None:
    """Raises DeployError when the credentials belong to another account than the workspace's."""
    account = workspace.client("sts").get_caller_identity()["Account"]
    if account != workspace.config.target.account_id:
        raise DeployError(wrong_account(account, workspace))


def check_reserved_concurrency(lambda_client: Any, config: StackConfig) -> None:
    """Raises DeployError, naming the setting and the account's limit, when the function's
    reservation does not fit in the account beside the other functions' reservations."""
    wanted = config.function.reserved_concurrency
    if wanted is None:
        return
    limits = lambda_client.get_account_settings()["AccountLimit"]
    limit, unreserved = limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]
    ours = _current_reservation(lambda_client, config.function.name)
    reservable = unreserved + ours - UNRESERVED_MINIMUM  # ours is given back when it changes
    if wanted <= reservable:
        return
    others = limit - unreserved - ours
    instead = f"`off`, or at most {reservable}" if reservable > 0 else "`off`"
    raise DeployError(
        f"REVIEWS_RESERVED_CONCURRENCY={wanted} does not fit in account {config.target.account_id} "
        f"({config.target.region}): its concurrent-executions limit is {limit}, other functions reserve "
        f"{others} and Lambda keeps {UNRESERVED_MINIMUM} unreserved, so {config.function.name} can reserve "
        f"at most {max(reservable, 0)}. Nothing was changed. Set REVIEWS_RESERVED_CONCURRENCY "
        f"(reservedConcurrency in environments/{config.environment}.json) to {instead}, or raise the "
        f"account's limit ({CONCURRENCY_QUOTA})."
    )


def _current_reservation(lambda_client: Any, function_name: str) -> int:
    try:
        found = lambda_client.get_function_concurrency(FunctionName=function_name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return 0
    return int(found.get("ReservedConcurrentExecutions") or 0)
