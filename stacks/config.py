"""The stack's configuration: small typed objects, one per concern, built from the settings.

`load_config` reads every setting (stacks/settings.py), checks the rules that involve more
than one setting, and reports every problem at once in a ConfigError.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from handlers.reviews import contract

from .settings import ENVIRONMENTS_DIR, LOCAL_STATE_BUCKET, LOCAL_STATE_KEY_ALIAS, Settings, read_settings

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


def load_config(
    context: Mapping[str, object],
    environ: Mapping[str, str],
    environments_dir: Path = ENVIRONMENTS_DIR,
    *,
    bootstrapping: bool = False,
) -> StackConfig:
    """Builds the StackConfig from the settings, or raises ConfigError listing every problem.
    `bootstrapping`: for the bootstrap, which creates the state key (BOOTSTRAP_RULES)."""
    settings, problems = read_settings(context, environ, environments_dir)
    problems += _cross_setting_problems(settings, bootstrapping)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return _assemble(settings)


# Rules between settings: each returns a problem, or None. One that reads an invalid setting
# (AttributeError, see Settings.of_valid) is skipped: that setting's problem is reported already.
Rule = Callable[[Settings], str | None]


def _capacity_range(s: Settings) -> str | None:
    if s.min_capacity <= s.max_capacity:
        return None
    return (
        f"REVIEWS_MIN_CAPACITY={s.min_capacity} is invalid: allowed values are "
        f"at most REVIEWS_MAX_CAPACITY ({s.max_capacity})"
    )


def _burst_holds_the_rate(s: Settings) -> str | None:
    if s.throttle_burst >= s.throttle_rate:
        return None
    return (
        f"REVIEWS_THROTTLE_BURST={s.throttle_burst} is invalid: allowed values are at least "
        f"REVIEWS_THROTTLE_RATE ({s.throttle_rate}): a bucket smaller than one second of traffic rejects steady load"
    )


def _required_on_aws(name: str, read: Callable[[Settings], str | None], what: str) -> Rule:
    def rule(s: Settings) -> str | None:
        if s.target != "aws" or read(s):
            return None
        return f"{name}='' is invalid: allowed values are {what}; required when REVIEWS_TARGET=aws"

    return rule


STATE_KMS_KEY_REQUIRED = _required_on_aws(
    "REVIEWS_STATE_KMS_KEY", lambda s: s.state_kms_key, "the ARN of the state's KMS key (the bootstrap prints it)"
)
RULES: tuple[Rule, ...] = (
    _capacity_range,
    _burst_holds_the_rate,
    _required_on_aws("REVIEWS_ACCOUNT_ID", lambda s: s.account_id, "the account id"),
    _required_on_aws("REVIEWS_STATE_BUCKET", lambda s: s.state_bucket, "the state bucket"),
    STATE_KMS_KEY_REQUIRED,
)
# The bootstrap creates the state key: required of every plan, never of the bootstrap.
BOOTSTRAP_RULES = tuple(rule for rule in RULES if rule is not STATE_KMS_KEY_REQUIRED)


def _cross_setting_problems(settings: Settings, bootstrapping: bool = False) -> list[str]:
    problems = []
    for rule in RULES if not bootstrapping else BOOTSTRAP_RULES:
        try:
            problem = rule(settings)
        except AttributeError:
            continue
        if problem:
            problems.append(problem)
    return problems


def _on_aws(value: str | None) -> str:
    """A setting required on the aws target (RULES have checked it is there)."""
    return value or ""


def _assemble(s: Settings) -> StackConfig:
    environment = s.environment_suffix
    local = s.target == "local"
    account_id = EMULATOR_ACCOUNT_ID if local else _on_aws(s.account_id)
    return StackConfig(
        environment=environment,
        # Only values that are the same for every deploy of this environment: a tag naming who
        # deployed would change every resource on every deploy by someone else.
        tags={"Environment": environment, "Project": "ProductReviews", "Repository": s.repository},
        target=TargetConfig(
            kind=s.target,
            region=s.region,
            account_id=account_id,
            emulator_port=s.emulator_port,
            gateway_port=s.gateway_port,
            storefront_port=s.storefront_port,
        ),
        backend=BackendConfig(
            bucket=LOCAL_STATE_BUCKET if local else _on_aws(s.state_bucket),
            key=s.state_key,
            region=s.state_region,
            kms_key_id=LOCAL_STATE_KEY_ALIAS if local else _on_aws(s.state_kms_key),
        ),
        table=TableConfig(
            name=f"ProductReviews-{environment}",
            billing_mode=s.billing_mode,
            min_capacity=s.min_capacity,
            max_capacity=s.max_capacity,
            target_utilization=s.target_utilization,
            deletion_protection=s.deletion_protection,
        ),
        function=FunctionConfig(
            name=f"ReviewProcessor-{environment}",
            memory_mb=s.lambda_memory_mb,
            timeout_seconds=s.lambda_timeout_seconds,
            reserved_concurrency=s.reserved_concurrency,
            permissions_boundary_arn=f"arn:aws:iam::{account_id}:policy/{permissions_boundary_name(environment)}",
            log_retention_days=s.log_retention_days,
            cors_origins=s.cors_origins,
        ),
        api=ApiConfig(
            name=f"ProductReviewsAPI-{environment}",
            stage_name=contract.STAGE_NAME,
            throttle_rate=s.throttle_rate,
            throttle_burst=s.throttle_burst,
            api_key_quota_per_day=s.api_key_quota_per_day,
            log_retention_days=s.log_retention_days,
            cors_origins=s.cors_origins,
        ),
        identity=_identity(s),
        monitoring=MonitoringConfig(name_prefix=f"ProductReviews-{environment}", alarm_email=s.alarm_email),
        ci=CiConfig(
            repository=s.repository,
            github_oidc_provider=s.github_oidc_provider,
            plan_retention_days=s.plan_retention_days,
            state_version_retention_days=s.state_version_retention_days,
        ),
    )


def _identity(s: Settings) -> IdentityConfig:
    return IdentityConfig(
        user_pool_name=f"ProductReviews-{s.environment_suffix}",
        client_name="storefront",
        user_password_auth=s.user_password_auth,
        id_token_minutes=s.id_token_minutes,
        access_token_minutes=s.access_token_minutes,
        refresh_token_days=s.refresh_token_days,
        password_min_length=s.password_min_length,
        password_characters=s.password_characters,
        deletion_protection=s.deletion_protection,
    )
