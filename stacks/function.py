"""ReviewsFunction: the handler's code package, execution role, log group and Lambda function."""

from constructs import Construct

from handlers.reviews import contract

from .aws import cloudwatch_log_group, iam_role, iam_role_policy_attachment, lambda_function
from .config import FunctionConfig
from .framework import AssetType, TerraformAsset
from .handler_package import package_handler, source_code_hash
from .iam import assume_role_policy
from .lifecycle import replaced_with

HANDLER = "reviews.app.handler"
# Supported by AWS until mid-2029 and accepted by provider 5.100.0.
RUNTIME = "python3.13"

MANAGED_POLICIES = {
    "basic_execution": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "xray_write": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class ReviewsFunction(Construct):
    """Exposes `name`, `arn`, `role` and `function` for the table's grant, the API, monitoring
    and parameters. The handler learns the table's and index's names from its environment."""

    def __init__(self, scope: Construct, id: str, config: FunctionConfig, table_name: str):
        super().__init__(scope, id)
        package = package_handler()
        asset = TerraformAsset(self, "code", path=str(package), type=AssetType.FILE)

        self.role = role = iam_role.IamRole(
            self,
            "role",
            name=f"{config.name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            # The deploy role may create roles only under this boundary (stacks/bootstrap).
            permissions_boundary=config.permissions_boundary_arn,
        )
        for label, policy_arn in MANAGED_POLICIES.items():
            iam_role_policy_attachment.IamRolePolicyAttachment(
                self, label, role=role.name, policy_arn=policy_arn, lifecycle=replaced_with(role)
            )

        # Created before the function so Lambda never makes one without retention.
        self.log_group = cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "logs",
            name=f"/aws/lambda/{config.name}",
            retention_in_days=config.log_retention_days,
        )

        self.function = lambda_function.LambdaFunction(
            self,
            "function",
            function_name=config.name,
            description="Product Reviews API handler (handlers/reviews)",
            role=role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            filename=asset.path,
            source_code_hash=source_code_hash(package),
            memory_size=config.memory_mb,
            timeout=config.timeout_seconds,
            reserved_concurrent_executions=(-1 if config.reserved_concurrency is None else config.reserved_concurrency),
            tracing_config=lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            environment=lambda_function.LambdaFunctionEnvironment(
                variables={
                    contract.TABLE_NAME_VARIABLE: table_name,
                    contract.REVIEWER_INDEX_VARIABLE: contract.REVIEWER_INDEX.name,
                    contract.ALLOWED_ORIGINS_VARIABLE: ",".join(config.cors_origins),
                }
            ),
            depends_on=[self.log_group],
        )
        self.name = config.name
        self.arn = self.function.arn
