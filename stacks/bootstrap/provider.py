"""The AWS provider and the backend of a bootstrap stack: its own state starts in a local file
(the bucket it creates does not exist yet) and then lives in that bucket."""

from constructs import Construct

from stacks.aws import provider
from stacks.config import TargetConfig
from stacks.framework import LocalBackend, TerraformStack
from stacks.provider import aws_provider, s3_backend

from .config import BootstrapBackend


class BootstrapProvider(Construct):
    """The provider of the stack's region; `in_region(region)` adds one for another region."""

    def __init__(
        self, scope: Construct, id: str, target: TargetConfig, tags: dict[str, str], backend: BootstrapBackend
    ):
        super().__init__(scope, id)
        self.target, self.tags = target, tags
        self._regional: dict[str, provider.AwsProvider] = {target.region: aws_provider(self, "aws", target, tags)}
        if backend.local_path:
            LocalBackend(TerraformStack.of(self), path=str(backend.local_path))
        else:
            # No `encrypt`: the bucket's default encryption, the state key, applies (encrypt =
            # true would ask S3 for SSE-S3 instead).
            s3_backend(self, target, bucket=backend.bucket, key=backend.key, region=backend.region)

    def in_region(self, region: str) -> provider.AwsProvider:
        if region not in self._regional:
            self._regional[region] = aws_provider(self, region, self.target, self.tags, region=region, alias=region)
        return self._regional[region]
