"""The AWS provider and the S3 state backend: the only part that differs between targets."""

from collections.abc import Mapping
from typing import Any

from constructs import Construct

from .aws import provider
from .config import StackConfig, TargetConfig
from .framework import S3Backend, TerraformStack

# Every service the stack touches; the local target points each at the emulator.
EMULATED_SERVICES = (
    "apigateway",
    "applicationautoscaling",
    "cloudwatch",
    "cognitoidp",
    "dynamodb",
    "iam",
    "kms",
    "lambda_",
    "logs",
    "s3",
    "sns",
    "ssm",
    "sts",
)
# Emulator credentials: moto accepts any, and they must never be real ones.
EMULATOR_CREDENTIALS = {"access_key": "test", "secret_key": "test"}


def emulator_provider_settings(target: TargetConfig) -> dict:
    """AwsProvider arguments for the local emulator; a real account needs none of them."""
    if not target.is_local:
        return {}
    return {
        "endpoints": [provider.AwsProviderEndpoints(**{service: target.endpoint for service in EMULATED_SERVICES})],
        # The provider's 25 default retries turn an emulator gap into a long hang.
        "max_retries": 2,
        "s3_use_path_style": True,
        # Credentials are validated (sts:GetCallerIdentity) as on AWS, which also gives the
        # account id: skipping it makes the provider ask iam:GetUser instead, a call no CI
        # role makes on AWS (the IAM evidence records what the emulator is asked).
        "skip_metadata_api_check": "true",
        "skip_region_validation": True,
        **EMULATOR_CREDENTIALS,
    }


def emulator_backend_settings(target: TargetConfig) -> dict:
    """S3Backend arguments for state kept in the emulator's S3."""
    if not target.is_local:
        return {}
    return {
        "endpoints": {"s3": target.endpoint},
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "skip_requesting_account_id": True,
        **EMULATOR_CREDENTIALS,
    }


def aws_provider(
    scope: Construct,
    id: str,
    target: TargetConfig,
    tags: Mapping[str, str],
    *,
    region: str | None = None,
    alias: str | None = None,
) -> provider.AwsProvider:
    """The AWS provider for `target` (in `region`, default the target's), tagging what it creates."""
    return provider.AwsProvider(
        scope,
        id,
        region=region or target.region,
        alias=alias,
        # Refuses any other account's credentials before touching anything.
        allowed_account_ids=[target.account_id],
        default_tags=[provider.AwsProviderDefaultTags(tags=dict(tags))],
        **emulator_provider_settings(target),
    )


def s3_backend(scope: Construct, target: TargetConfig, *, bucket: str, key: str, region: str, **settings: Any) -> None:
    """The stack's state in S3, locked with a lock file beside it."""
    stack = TerraformStack.of(scope)
    S3Backend(stack, bucket=bucket, key=key, region=region, **settings, **emulator_backend_settings(target))
    # cdktf 0.21's S3Backend has no use_lockfile; Terraform >= 1.10 honours the override.
    stack.add_override("terraform.backend.s3.use_lockfile", True)


class ProviderAndBackend(Construct):
    def __init__(self, scope: Construct, id: str, config: StackConfig):
        super().__init__(scope, id)
        aws_provider(self, "aws", config.target, config.tags)
        backend = config.backend
        s3_backend(
            self,
            config.target,
            bucket=backend.bucket,
            key=backend.key,
            region=backend.region,
            encrypt=True,
            kms_key_id=backend.kms_key_id,
        )
