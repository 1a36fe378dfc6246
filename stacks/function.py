"""ReviewsFunction: the handler's code package, execution role, log group and Lambda function."""

import base64
import hashlib
import zipfile
from pathlib import Path

from constructs import Construct

from handlers.reviews import contract

from .aws import cloudwatch_log_group, iam_role, iam_role_policy_attachment, lambda_function
from .config import FunctionConfig
from .framework import AssetType, TerraformAsset
from .iam import assume_role_policy
from .lifecycle import replaced_with

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLER_SOURCE = PROJECT_ROOT / "handlers"
HANDLER_PACKAGE = PROJECT_ROOT / "build" / "reviews-handler.zip"
HANDLER = "reviews.app.handler"
# Supported by AWS until mid-2029 and accepted by provider 5.100.0.
RUNTIME = "python3.13"

MANAGED_POLICIES = {
    "basic_execution": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "xray_write": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}
# A zip entry's timestamp is part of its bytes: a fixed one makes the package, its hash
# and therefore the synthesized JSON depend on the code alone.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def package_handler(source: Path = HANDLER_SOURCE, destination: Path = HANDLER_PACKAGE) -> Path:
    """Zips the handler's .py files reproducibly: same code, same bytes, same hash."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), ZIP_TIMESTAMP)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    return destination


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
            source_code_hash=base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode(),
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
