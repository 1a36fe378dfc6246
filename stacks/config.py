"""The stack's configuration: small typed objects, one per concern, built from the settings.

`load_config` reads every setting (stacks/settings.py), checks the rules that involve more
than one setting, and reports every problem at once in a ConfigError.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.reviews import contract

from .settings import ENVIRONMENTS_DIR, LOCAL_STATE_BUCKET, LOCAL_STATE_KEY_ALIAS, read_settings

# moto's account: the local target pins Terraform to it, as the aws target pins the real one.
EMULATOR_ACCOUNT_ID = "123456789012"


class ConfigError(ValueError):
    """One or more settings are invalid; the message lists every problem."""


@dataclass(frozen=True)
class TableConfig:
    name: str
    billing_mode: str  # provisioned | on-demand
    min_capacity: int
    max_capacity: int
    target_utilization: int
    deletion_protection: bool


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None  # None: use the account's unreserved pool
    permissions_boundary_arn: str  # the bootstrap's boundary: the most the function's role may ever do
    log_retention_days: int
    cors_origins: tuple[str, ...]


@dataclass(frozen=True)
class ApiConfig:
    name: str
    stage_name: str
    throttle_rate: int
    throttle_burst: int
    api_key_quota_per_day: int
    log_retention_days: int
    cors_origins: tuple[str, ...]


@dataclass(frozen=True)
class IdentityConfig:
    """The reviewers' user pool and the storefront's app client."""

    user_pool_name: str
    client_name: str
    user_password_auth: bool  # USER_PASSWORD_AUTH besides SRP (docs/api.md)
    id_token_minutes: int
    access_token_minutes: int
    refresh_token_days: int
    password_min_length: int
    password_characters: tuple[str, ...]  # of settings.PASSWORD_CHARACTER_CLASSES
    deletion_protection: bool


@dataclass(frozen=True)
class MonitoringConfig:
    name_prefix: str  # of the alarms, the dashboard, the alarm topic and its key alias
    alarm_email: str | None

    @property
    def alarm_topic_name(self) -> str:
        return f"{self.name_prefix}-alarms"


@dataclass(frozen=True)
class CiConfig:
    """What the bootstrap and the CI jobs need beyond the stack: who may deploy, and for how long
    a reviewed plan stays valid."""

    repository: str  # owner/name on GitHub
    github_oidc_provider: str  # create | existing
    plan_retention_days: int
    state_version_retention_days: int


@dataclass(frozen=True)
class BackendConfig:
    bucket: str
    key: str
    region: str
    kms_key_id: str  # the state is written SSE-KMS with this key (an ARN; an alias on the local target)


@dataclass(frozen=True)
class TargetConfig:
    """Where Terraform deploys: a real AWS account, or the emulator on this machine."""

    kind: str  # local | aws
    region: str
    account_id: str
    emulator_port: int
    gateway_port: int
    storefront_port: int

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def endpoint(self) -> str:
        """The emulator's URL (local target)."""
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def local_api_url(self) -> str:
        """Where the local gateway serves the API (local target)."""
        return f"http://127.0.0.1:{self.gateway_port}/{contract.STAGE_NAME}"

    @property
    def storefront_origin(self) -> str:
        """Where `make up` serves the storefront demo page (local target): a second origin, which
        calls the API cross-origin."""
        return f"http://localhost:{self.storefront_port}"


@dataclass(frozen=True)
class StackConfig:
    environment: str
    tags: Mapping[str, str]
    target: TargetConfig
    backend: BackendConfig
    table: TableConfig
    function: FunctionConfig
    api: ApiConfig
    identity: IdentityConfig
    monitoring: MonitoringConfig
    ci: CiConfig

    @property
    def stack_name(self) -> str:
        """Each environment and target has its own stack, and so its own cdktf.out directory."""
        suffix = "-local" if self.target.is_local else ""
        return f"product-reviews-{self.environment}{suffix}"

    @property
    def parameter_prefix(self) -> str:
        return f"/productreviews/{self.environment}/"


def permissions_boundary_name(environment: str) -> str:
    """The managed policy the bootstrap creates as the boundary of every role an environment's
    deploy role creates (docs/bootstrap.md)."""
    return f"ProductReviews-{environment}-boundary"


# Settings whose value the bootstrap creates: required of every plan, never of the bootstrap.
MADE_BY_THE_BOOTSTRAP = ("REVIEWS_STATE_KMS_KEY",)


def load_config(
    context: Mapping[str, object],
    environ: Mapping[str, str],
    environments_dir: Path = ENVIRONMENTS_DIR,
    *,
    bootstrapping: bool = False,
) -> StackConfig:
    """Builds the StackConfig from the settings, or raises ConfigError listing every problem.
    `bootstrapping`: for the bootstrap, which creates what MADE_BY_THE_BOOTSTRAP names."""
    values, problems = read_settings(context, environ, environments_dir)
    problems += _cross_setting_problems(values, bootstrapping)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return _assemble(values)


def _cross_setting_problems(v: Mapping[str, Any], bootstrapping: bool = False) -> list[str]:
    """Rules between settings, checked where each involved setting is valid on its own."""

    def valid(*names: str) -> bool:
        return all(name in v for name in names)

    problems = []
    if valid("REVIEWS_MIN_CAPACITY", "REVIEWS_MAX_CAPACITY") and v["REVIEWS_MIN_CAPACITY"] > v["REVIEWS_MAX_CAPACITY"]:
        problems.append(
            f"REVIEWS_MIN_CAPACITY={v['REVIEWS_MIN_CAPACITY']} is invalid: allowed values are "
            f"at most REVIEWS_MAX_CAPACITY ({v['REVIEWS_MAX_CAPACITY']})"
        )
    if valid("REVIEWS_THROTTLE_RATE", "REVIEWS_THROTTLE_BURST") and (
        v["REVIEWS_THROTTLE_BURST"] < v["REVIEWS_THROTTLE_RATE"]
    ):
        problems.append(
            f"REVIEWS_THROTTLE_BURST={v['REVIEWS_THROTTLE_BURST']} is invalid: allowed values are at least "
            f"REVIEWS_THROTTLE_RATE ({v['REVIEWS_THROTTLE_RATE']}): a bucket smaller than one second of "
            "traffic rejects steady load"
        )
    if v.get("REVIEWS_TARGET") == "aws":
        for name, what in (
            ("REVIEWS_ACCOUNT_ID", "the account id"),
            ("REVIEWS_STATE_BUCKET", "the state bucket"),
            ("REVIEWS_STATE_KMS_KEY", "the ARN of the state's KMS key (the bootstrap prints it)"),
        ):
            if valid(name) and not v[name] and not (bootstrapping and name in MADE_BY_THE_BOOTSTRAP):
                problems.append(f"{name}='' is invalid: allowed values are {what}; required when REVIEWS_TARGET=aws")
    return problems


def _assemble(v: Mapping[str, Any]) -> StackConfig:
    environment = v["ENVIRONMENT_SUFFIX"]
    local = v["REVIEWS_TARGET"] == "local"
    account_id = EMULATOR_ACCOUNT_ID if local else v["REVIEWS_ACCOUNT_ID"]
    return StackConfig(
        environment=environment,
        # Only values that are the same for every deploy of this environment: a tag naming who
        # deployed would change every resource on every deploy by someone else.
        tags={"Environment": environment, "Project": "ProductReviews", "Repository": v["REVIEWS_REPOSITORY"]},
        target=TargetConfig(
            kind=v["REVIEWS_TARGET"],
            region=v["REVIEWS_REGION"],
            account_id=account_id,
            emulator_port=v["REVIEWS_EMULATOR_PORT"],
            gateway_port=v["REVIEWS_GATEWAY_PORT"],
            storefront_port=v["REVIEWS_STOREFRONT_PORT"],
        ),
        backend=BackendConfig(
            bucket=LOCAL_STATE_BUCKET if local else v["REVIEWS_STATE_BUCKET"],
            key=v["REVIEWS_STATE_KEY"],
            region=v["REVIEWS_STATE_REGION"],
            kms_key_id=LOCAL_STATE_KEY_ALIAS if local else v["REVIEWS_STATE_KMS_KEY"],
        ),
        table=TableConfig(
            name=f"ProductReviews-{environment}",
            billing_mode=v["REVIEWS_BILLING_MODE"],
            min_capacity=v["REVIEWS_MIN_CAPACITY"],
            max_capacity=v["REVIEWS_MAX_CAPACITY"],
            target_utilization=v["REVIEWS_TARGET_UTILIZATION"],
            deletion_protection=v["REVIEWS_DELETION_PROTECTION"],
        ),
        function=FunctionConfig(
            name=f"ReviewProcessor-{environment}",
            memory_mb=v["REVIEWS_LAMBDA_MEMORY_MB"],
            timeout_seconds=v["REVIEWS_LAMBDA_TIMEOUT_SECONDS"],
            reserved_concurrency=v["REVIEWS_RESERVED_CONCURRENCY"],
            permissions_boundary_arn=f"arn:aws:iam::{account_id}:policy/{permissions_boundary_name(environment)}",
            log_retention_days=v["REVIEWS_LOG_RETENTION_DAYS"],
            cors_origins=v["REVIEWS_CORS_ORIGINS"],
        ),
        api=ApiConfig(
            name=f"ProductReviewsAPI-{environment}",
            stage_name=contract.STAGE_NAME,
            throttle_rate=v["REVIEWS_THROTTLE_RATE"],
            throttle_burst=v["REVIEWS_THROTTLE_BURST"],
            api_key_quota_per_day=v["REVIEWS_API_KEY_QUOTA_PER_DAY"],
            log_retention_days=v["REVIEWS_LOG_RETENTION_DAYS"],
            cors_origins=v["REVIEWS_CORS_ORIGINS"],
        ),
        identity=_identity(v),
        monitoring=MonitoringConfig(name_prefix=f"ProductReviews-{environment}", alarm_email=v["REVIEWS_ALARM_EMAIL"]),
        ci=CiConfig(
            repository=v["REVIEWS_REPOSITORY"],
            github_oidc_provider=v["REVIEWS_GITHUB_OIDC_PROVIDER"],
            plan_retention_days=v["REVIEWS_PLAN_RETENTION_DAYS"],
            state_version_retention_days=v["REVIEWS_STATE_VERSION_RETENTION_DAYS"],
        ),
    )


def _identity(v: Mapping[str, Any]) -> IdentityConfig:
    return IdentityConfig(
        user_pool_name=f"ProductReviews-{v['ENVIRONMENT_SUFFIX']}",
        client_name="storefront",
        user_password_auth=v["REVIEWS_USER_PASSWORD_AUTH"],
        id_token_minutes=v["REVIEWS_ID_TOKEN_MINUTES"],
        access_token_minutes=v["REVIEWS_ACCESS_TOKEN_MINUTES"],
        refresh_token_days=v["REVIEWS_REFRESH_TOKEN_DAYS"],
        password_min_length=v["REVIEWS_PASSWORD_MIN_LENGTH"],
        password_characters=v["REVIEWS_PASSWORD_CHARACTERS"],
        deletion_protection=v["REVIEWS_DELETION_PROTECTION"],
    )
