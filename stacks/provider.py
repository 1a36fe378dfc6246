"""The AWS provider and the S3 state backend: the only part that differs between targets."""

from cdktf import S3Backend, TerraformStack
from constructs import Construct

from .aws import provider
from .config import StackConfig

# Every service the stack touches; the local target points each at the emulator.
EMULATED_SERVICES = (
    "apigateway", "applicationautoscaling", "cloudwatch", "dynamodb", "iam", "kms", "lambda_",
    "logs", "s3", "sns", "ssm", "sts",
)
# Emulator credentials: moto accepts any, and they must never be real ones.
EMULATOR_CREDENTIALS = {"access_key": "test", "secret_key": "test"}


class ProviderAndBackend(Construct):
    def __init__(self, scope: Construct, id: str, config: StackConfig):
        super().__init__(scope, id)
        target = config.target
        local = target.is_local

        provider.AwsProvider(
            self,
            "aws",
            region=target.region,
            default_tags=[provider.AwsProviderDefaultTags(tags=dict(config.tags))],
            **(
                dict(
                    endpoints=[provider.AwsProviderEndpoints(
                        **{service: target.endpoint for service in EMULATED_SERVICES}
                    )],
                    # The provider's 25 default retries turn an emulator gap into a long hang.
                    max_retries=2,
                    s3_use_path_style=True,
                    skip_credentials_validation=True,
                    skip_metadata_api_check="true",
                    skip_region_validation=True,
                    **EMULATOR_CREDENTIALS,
                )
                if local
                else {}
            ),
        )

        backend = config.backend
        S3Backend(
            TerraformStack.of(self),
            bucket=backend.bucket,
            key=backend.key,
            region=backend.region,
            encrypt=True,
            **(
                dict(
                    endpoints={"s3": target.endpoint},
                    use_path_style=True,
                    skip_credentials_validation=True,
                    skip_metadata_api_check=True,
                    skip_region_validation=True,
                    skip_requesting_account_id=True,
                    **EMULATOR_CREDENTIALS,
                )
                if local
                else {}
            ),
        )
        # cdktf 0.21's S3Backend has no use_lockfile; Terraform >= 1.10 honours the override.
        TerraformStack.of(self).add_override("terraform.backend.s3.use_lockfile", True)
