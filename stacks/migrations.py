"""What earlier versions of the stack managed and this one no longer does, and what becomes of
it in the deployments they made: Terraform `removed` blocks, which a fresh deployment ignores.

- The alarm e-mail subscription was an `aws_sns_topic_subscription` until SNS's deletion of
  unconfirmed subscriptions made it a create in every plan (deploy/alarm_email.py manages it
  now, outside Terraform). A deployment made before forgets it without unsubscribing: a
  confirmed address stays subscribed, and needs no new confirmation e-mail.
- Every environment managed the account-wide API Gateway CloudWatch role
  (`aws_api_gateway_account`, one per account and region) until the bootstrap existed: two
  environments in one account overwrote each other's on every apply, and destroying one broke
  the other's execution logs. The bootstrap's account stack owns it now
  (stacks/bootstrap/api_gateway_logging.py). A deployment made before forgets the old role, its
  policy attachment and the account setting without destroying anything, so API logging keeps
  working whether the bootstrap or this deploy runs first. The old role,
  `ProductReviewsAPI-<env>-cloudwatch`, stays until someone deletes it (docs/bootstrap.md).
"""

from .framework import TerraformStack

ALARM_EMAIL_ADDRESSES = ("aws_sns_topic_subscription.monitoring_alarm_email_49646F11",)
ACCOUNT_LOGGING_ADDRESSES = (
    "aws_api_gateway_account.api_account_3AA7F073",
    "aws_iam_role_policy_attachment.api_cloudwatch_role_policy_87D9B747",
    "aws_iam_role.api_cloudwatch_role_95B1387C",
)
FORGOTTEN_ADDRESSES = ALARM_EMAIL_ADDRESSES + ACCOUNT_LOGGING_ADDRESSES


def forget_retired_resources(stack: TerraformStack) -> None:
    stack.add_override(
        "removed", [{"from": address, "lifecycle": {"destroy": False}} for address in FORGOTTEN_ADDRESSES]
    )
