"""The bootstrap's configuration: small typed objects derived from the app's own StackConfig
(stacks/config.py), so that the roles, keys and names the bootstrap creates always match what
the app deploys and what CI assumes. Every name the bootstrap gives is defined here, once.

What an account needs is split by who owns it (docs/bootstrap.md):
- the **account stack**, one per account and region, shared by every environment there: the
  API Gateway CloudWatch role (one per account and region); in the region of the state
  bucket also the state bucket, its key and the GitHub OIDC provider;
- the **environment stack**, one per environment: its plan and deploy roles, its plan key and
  the permissions boundary of the roles its deploy role creates.
Each has a state of its own in the state bucket, so bootstrapping a second environment into an
account plans no change to the first's, and destroying one environment's leaves the account's.
"""

import re
from dataclasses import dataclass, replace
from pathlib import Path

from stacks.config import ConfigError, StackConfig, TargetConfig

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# The audience configure-aws-credentials asks GitHub to put in its token.
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
STATE_KEY_ALIAS = "alias/product-reviews-tfstate"
BOOTSTRAP_STATE_PREFIX = "bootstrap"  # in the state bucket, beside the app's product-reviews/


def plan_key_alias(environment: str) -> str:
    """The KMS key that encrypts an environment's saved plans between CI's plan and apply jobs."""
    return f"alias/product-reviews-{environment}-plans"


def plan_role_name(environment: str) -> str:
    return f"ProductReviews-{environment}-plan"


def deploy_role_name(environment: str) -> str:
    return f"ProductReviews-{environment}-deploy"


def role_arn(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{name}"


@dataclass(frozen=True)
class GitHubConfig:
    repository: str  # owner/name
    account_id: str
    create_oidc_provider: bool  # False: the account already has one (REVIEWS_GITHUB_OIDC_PROVIDER=existing)

    @property
    def oidc_provider_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


@dataclass(frozen=True)
class StateStorage:
    """The account's state bucket and the key that encrypts it."""

    bucket: str
    region: str
    version_retention_days: int
    # Deny every request not made over TLS. Not on the local target: its emulator speaks plain
    # HTTP, so the policy would lock everyone out of the bucket.
    tls_only: bool


@dataclass(frozen=True)
class BootstrapBackend:
    """Where a bootstrap stack keeps its own state: a local file until the state bucket exists,
    then an object in it."""

    bucket: str
    key: str
    region: str
    local_path: Path | None = None  # set: the local file, not the bucket

    def moved_to_bucket(self) -> "BootstrapBackend":
        return BootstrapBackend(self.bucket, self.key, self.region)


@dataclass(frozen=True)
class AccountConfig:
    target: TargetConfig  # its region is this account stack's region
    tags: dict[str, str]
    github: GitHubConfig
    state: StateStorage
    backend: BootstrapBackend

    @property
    def stack_name(self) -> str:
        return account_stack_name(self.target)

    @property
    def owns_state_storage(self) -> bool:
        """The stack in the state bucket's region also owns the bucket, its key and the OIDC provider."""
        return self.target.region == self.state.region


@dataclass(frozen=True)
class EnvironmentCiConfig:
    app: StackConfig  # the environment's own configuration, which the role policies are scoped to
    github: GitHubConfig
    state: StateStorage
    backend: BootstrapBackend

    @property
    def stack_name(self) -> str:
        suffix = "-local" if self.app.target.is_local else ""
        return f"product-reviews-bootstrap-{self.app.environment}{suffix}"

    @property
    def environment(self) -> str:
        return self.app.environment


def account_stack_name(target: TargetConfig) -> str:
    suffix = "-local" if target.is_local else ""
    return f"product-reviews-bootstrap-account-{target.region}{suffix}"


def local_state_bucket(account_id: str) -> str:
    """The local target's state bucket: named as on AWS, and never the one `make up` uses."""
    return f"product-reviews-tfstate-{account_id}"


def state_storage(app: StackConfig) -> StateStorage:
    bucket = local_state_bucket(app.target.account_id) if app.target.is_local else app.backend.bucket
    region = app.target.region if app.target.is_local else app.backend.region
    return StateStorage(bucket, region, app.ci.state_version_retention_days, tls_only=not app.target.is_local)


def github_config(app: StackConfig) -> GitHubConfig:
    """The repository whose workflows the roles trust; fails unless it is owner/name."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", app.ci.repository):
        raise ConfigError(
            f"invalid configuration:\n  REVIEWS_REPOSITORY={app.ci.repository!r} is invalid: allowed values are "
            "the GitHub repository as owner/name (the bootstrap's roles trust only its workflows)"
        )
    return GitHubConfig(app.ci.repository, app.target.account_id, app.ci.github_oidc_provider == "create")


def account_backend(target: TargetConfig, state: StateStorage, local_dir: Path | None) -> BootstrapBackend:
    key = f"{BOOTSTRAP_STATE_PREFIX}/account/{target.region}/terraform.tfstate"
    local_path = local_dir / account_stack_name(target) / "terraform.tfstate" if local_dir else None
    return BootstrapBackend(state.bucket, key, state.region, local_path)


def environment_backend(app: StackConfig, state: StateStorage) -> BootstrapBackend:
    key = f"{BOOTSTRAP_STATE_PREFIX}/environments/{app.environment}/terraform.tfstate"
    return BootstrapBackend(state.bucket, key, state.region)


def bootstrap_tags(app: StackConfig) -> dict[str, str]:
    """The app's tags without the environment: account resources are shared by every environment."""
    return {name: value for name, value in app.tags.items() if name != "Environment"}


def account_configs(app: StackConfig, local_state_dir: Path | None) -> list[AccountConfig]:
    """The account stacks an environment needs, the state bucket's region first: its state starts
    in `local_state_dir` when given (the bucket does not hold it yet)."""
    state, github = state_storage(app), github_config(app)
    regions = [state.region] + ([app.target.region] if app.target.region != state.region else [])
    configs = []
    for region in regions:
        target = replace(app.target, region=region)
        local_dir = local_state_dir if region == state.region else None
        configs.append(
            AccountConfig(target, bootstrap_tags(app), github, state, account_backend(target, state, local_dir))
        )
    return configs


def environment_config(app: StackConfig) -> EnvironmentCiConfig:
    state = state_storage(app)
    return EnvironmentCiConfig(app, github_config(app), state, environment_backend(app, state))
