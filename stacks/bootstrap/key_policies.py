"""Who may use the bootstrap's KMS keys: their key policies.

- The state key (state_bucket.py): the account administers it and IAM policies say who uses
  it (the CI roles' policies, an administrator's).
- An environment's plan key (plan_key.py): the plan role may only generate data keys and the
  deploy role only decrypt, both only for this repository's and environment's plans, and no
  one else decrypts, whatever their IAM policies allow.
"""

from stacks.iam import Policy, policy

from .config import EnvironmentCiConfig


def _account_administers(account_id: str) -> Policy:
    return {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def state_key_policy(account_id: str) -> Policy:
    return policy(_account_administers(account_id))


def plan_key_policy(config: EnvironmentCiConfig, plan_role_arn: str, deploy_role_arn: str) -> Policy:
    """The account administers the key; the encryption context must name this repository and
    environment; no one but the deploy role decrypts, whatever their IAM policies allow."""
    context = {
        "StringEquals": {
            "kms:EncryptionContext:repository": config.github.repository,
            "kms:EncryptionContext:environment": config.environment,
        }
    }
    role = {"Effect": "Allow", "Resource": "*", "Condition": context}
    return policy(
        _account_administers(config.app.target.account_id),
        {"Sid": "PlanRoleEncryptsPlans", "Principal": {"AWS": plan_role_arn}, "Action": "kms:GenerateDataKey", **role},
        {"Sid": "DeployRoleDecryptsPlans", "Principal": {"AWS": deploy_role_arn}, "Action": "kms:Decrypt", **role},
        {
            "Sid": "NoOneElseDecryptsPlans",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": deploy_role_arn}},
        },
    )
