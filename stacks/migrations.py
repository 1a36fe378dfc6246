"""What earlier versions of the stack managed and this one no longer does, and what becomes of
it in the deployments they made: Terraform `removed` blocks, which a fresh deployment ignores.

Until the bootstrap existed, every environment managed the account-wide API Gateway CloudWatch
role (`aws_api_gateway_account`, one per account and region): two environments in one account
overwrote each other's on every apply, and destroying one broke the other's execution logs.
The bootstrap's account stack owns it now (stacks/bootstrap/api_gateway_logging.py). A
deployment made before forgets the old role, its policy attachment and the account setting
without destroying anything, so API logging keeps working whether the bootstrap or this
deploy runs first. The old role, `ProductReviewsAPI-<env>-cloudwatch`, stays in the account
until someone deletes it (docs/bootstrap.md says how).
"""

import json
from pathlib import Path

MIGRATIONS_FILE = "migrations.tf.json"  # beside cdk.tf.json; Terraform reads both
FORGOTTEN_ADDRESSES = (
    "aws_api_gateway_account.api_account_3AA7F073",
    "aws_iam_role_policy_attachment.api_cloudwatch_role_policy_87D9B747",
    "aws_iam_role.api_cloudwatch_role_95B1387C",
)


def write_removed_blocks(stack_dir: Path) -> None:
    """The `removed` blocks go into a file of their own: checkov's terraform_json parser cannot
    read them, and would skip the whole of cdk.tf.json."""
    removed = [{"from": address, "lifecycle": {"destroy": False}} for address in FORGOTTEN_ADDRESSES]
    (stack_dir / MIGRATIONS_FILE).write_text(json.dumps({"removed": removed}, indent=2) + "\n")
