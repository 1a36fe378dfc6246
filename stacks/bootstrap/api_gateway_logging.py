"""ApiGatewayLogging: the role API Gateway writes execution logs with, an account-wide setting of
each region (`aws_api_gateway_account`). The account stack of the region is its one owner, so
environments sharing an account never overwrite it, and destroying one leaves it in place."""

from constructs import Construct

from stacks.aws import api_gateway_account, iam_role, iam_role_policy_attachment
from stacks.iam import assume_role_policy
from stacks.lifecycle import replaced_with

PUSH_TO_CLOUDWATCH_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def cloudwatch_role_name(region: str) -> str:
    return f"ProductReviews-ApiGatewayCloudWatch-{region}"


class ApiGatewayLogging(Construct):
    """Exposes `role_arn`."""

    def __init__(self, scope: Construct, id: str, region: str):
        super().__init__(scope, id)
        role = iam_role.IamRole(
            self,
            "role",
            name=cloudwatch_role_name(region),
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        )
        iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "role_policy", role=role.name, policy_arn=PUSH_TO_CLOUDWATCH_POLICY, lifecycle=replaced_with(role)
        )
        # No reset_on_delete: destroying the stack leaves the setting (and execution logging) as it is.
        api_gateway_account.ApiGatewayAccount(self, "account", cloudwatch_role_arn=role.arn)
        self.role_arn = role.arn
