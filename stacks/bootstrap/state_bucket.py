"""StateBucket: the account's Terraform state bucket and the customer-managed key encrypting it."""

import json

from constructs import Construct

from stacks.aws import (
    kms_alias,
    kms_key,
    s3_bucket,
    s3_bucket_lifecycle_configuration,
    s3_bucket_ownership_controls,
    s3_bucket_policy,
    s3_bucket_public_access_block,
    s3_bucket_server_side_encryption_configuration,
    s3_bucket_versioning,
)
from stacks.framework import TerraformResourceLifecycle
from stacks.iam import policy

from .config import STATE_KEY_ALIAS, StateStorage
from .key_policies import state_key_policy

# The state holds every secret of a deployment: never destroyed with the stack by mistake.
KEEP = TerraformResourceLifecycle(prevent_destroy=True)


class StateBucket(Construct):
    """Versioned, SSE-KMS with its own key, private, TLS only. Exposes `bucket` and `key`."""

    def __init__(self, scope: Construct, id: str, state: StateStorage, account_id: str):
        super().__init__(scope, id)
        self.key = kms_key.KmsKey(
            self,
            "key",
            description=f"Encrypts the Terraform states in {state.bucket}",
            enable_key_rotation=True,
            policy=json.dumps(state_key_policy(account_id)),
            lifecycle=KEEP,
        )
        kms_alias.KmsAlias(self, "key_alias", name=STATE_KEY_ALIAS, target_key_id=self.key.key_id)
        self.bucket = s3_bucket.S3Bucket(self, "bucket", bucket=state.bucket, lifecycle=KEEP)
        self._protect(self.bucket.id, state.tls_only)
        self._keep_versions(self.bucket.id, state.version_retention_days)

    def _protect(self, bucket: str, tls_only: bool) -> None:
        """Encrypted with the key, never public, owned by the account, reached over TLS only."""
        s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket,
            rule=[
                s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        public_access = s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public_access",
            bucket=bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket,
            rule=s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        if tls_only:
            self._tls_only(bucket, public_access)

    def _tls_only(self, bucket: str, public_access: s3_bucket_public_access_block.S3BucketPublicAccessBlock) -> None:
        s3_bucket_policy.S3BucketPolicy(
            self,
            "tls_only",
            bucket=bucket,
            policy=json.dumps(
                policy(
                    {
                        "Sid": "TLSOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
            # S3 refuses a bucket policy while the public access block is being changed.
            depends_on=[public_access],
        )

    def _keep_versions(self, bucket: str, days: int) -> None:
        """Every earlier state stays recoverable for `days` after it was replaced."""
        versioning = s3_bucket_versioning.S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket,
            versioning_configuration=s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        lifecycle = s3_bucket_lifecycle_configuration
        lifecycle.S3BucketLifecycleConfiguration(
            self,
            "old_versions",
            bucket=bucket,
            depends_on=[versioning],
            rule=[
                lifecycle.S3BucketLifecycleConfigurationRule(
                    id="expire-replaced-states",
                    status="Enabled",
                    filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=days)
                    ],
                    abort_incomplete_multipart_upload=[
                        lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=7
                        )
                    ],
                )
            ],
        )
