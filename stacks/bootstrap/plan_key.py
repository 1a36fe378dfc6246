"""PlanKey: the KMS key that encrypts an environment's saved plans between CI's plan job and
its apply job (deploy/sealed_plan.py); who may use it: key_policies.plan_key_policy."""

import json

from constructs import Construct

from stacks.aws import iam_role, kms_alias, kms_key

from .config import EnvironmentCiConfig, plan_key_alias
from .key_policies import plan_key_policy


class PlanKey(Construct):
    """Exposes `arn`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        config: EnvironmentCiConfig,
        plan_role: iam_role.IamRole,
        deploy_role: iam_role.IamRole,
    ):
        super().__init__(scope, id)
        key = kms_key.KmsKey(
            self,
            "key",
            description=f"Encrypts the saved plans of {config.environment} between CI's plan and apply jobs",
            enable_key_rotation=True,
            # Naming the roles' ARNs (not strings) makes Terraform create them first: KMS refuses
            # a policy naming principals that do not exist.
            policy=json.dumps(plan_key_policy(config, plan_role.arn, deploy_role.arn)),
        )
        kms_alias.KmsAlias(self, "alias", name=plan_key_alias(config.environment), target_key_id=key.key_id)
        self.arn = key.arn
