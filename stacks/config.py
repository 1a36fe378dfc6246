"""Every setting of the stack, read and validated in one place.

Each setting comes from an environment variable (REVIEWS_*), else from the cdktf context
(cdktf.json "context"), else from its default. Invalid values fail synth with a ConfigError
that names each bad setting and the values it accepts.
"""

import re
from dataclasses import dataclass
from typing import Mapping, Optional

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # the only values CloudWatch Logs accepts
TARGETS = ("local", "aws")
BILLING_MODES = ("provisioned", "on-demand")
DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_STATE_BUCKET = "product-reviews-tfstate-local"


class ConfigError(ValueError):
    """One or more settings are invalid; the message lists every problem."""


@dataclass(frozen=True)
class TableConfig:
    name: str
    billing_mode: str
    min_capacity: int
    max_capacity: int
    target_utilization: int
    deletion_protection: bool


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: Optional[int]  # None: use the account's unreserved pool
    log_retention_days: int
    cors_origins: tuple[str, ...]


@dataclass(frozen=True)
class ApiConfig:
    name: str
    stage_name: str
    throttle_rate: int
    throttle_burst: int
    api_key_quota_per_day: int
    manage_account_logging_role: bool
    log_retention_days: int


@dataclass(frozen=True)
class MonitoringConfig:
    alarm_email: Optional[str]


@dataclass(frozen=True)
class BackendConfig:
    bucket: str
    key: str
    region: str


@dataclass(frozen=True)
class TargetConfig:
    """Where Terraform deploys: a real AWS account, or the local emulator at `endpoint`."""

    kind: str
    region: str
    endpoint: Optional[str]

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


@dataclass(frozen=True)
class StackConfig:
    environment: str
    tags: Mapping[str, str]
    target: TargetConfig
    backend: BackendConfig
    table: TableConfig
    function: FunctionConfig
    api: ApiConfig
    monitoring: MonitoringConfig

    @property
    def stack_name(self) -> str:
        return f"product-reviews-{self.environment}"

    @property
    def parameter_prefix(self) -> str:
        return f"/productreviews/{self.environment}/"


class _Settings:
    """Reads raw values and records every validation problem, so one synth reports all."""

    def __init__(self, context: Mapping[str, object], environ: Mapping[str, str]):
        self._context = context
        self._environ = environ
        self.errors: list[str] = []

    def raw(self, env_var: str, context_key: str, default: str) -> str:
        if self._environ.get(env_var, "").strip():
            return self._environ[env_var].strip()
        value = self._context.get(context_key)
        return default if value is None else str(value).strip()

    def check(self, ok: bool, env_var: str, value: object, allowed: str) -> None:
        if not ok:
            self.errors.append(f"{env_var}={value!r} is invalid: allowed values are {allowed}")

    def integer(self, env_var: str, context_key: str, default: int, low: int, high: int) -> int:
        raw = self.raw(env_var, context_key, str(default))
        value = int(raw) if re.fullmatch(r"-?\d+", raw) else None
        self.check(value is not None and low <= value <= high, env_var, raw, f"integers {low}..{high}")
        return default if value is None else value

    def boolean(self, env_var: str, context_key: str, default: bool) -> bool:
        raw = self.raw(env_var, context_key, str(default).lower()).lower()
        self.check(raw in ("true", "false"), env_var, raw, "true or false")
        return raw == "true" if raw in ("true", "false") else default

    def choice(self, env_var: str, context_key: str, default: str, choices: tuple) -> str:
        raw = self.raw(env_var, context_key, default)
        self.check(raw in choices, env_var, raw, " or ".join(map(str, choices)))
        return raw

    def pattern(self, env_var: str, context_key: str, default: str, regex: str, allowed: str) -> str:
        raw = self.raw(env_var, context_key, default)
        self.check(bool(re.fullmatch(regex, raw)), env_var, raw, allowed)
        return raw


def load_config(context: Mapping[str, object], environ: Mapping[str, str]) -> StackConfig:
    """Builds the StackConfig from cdktf context and environment variables, or raises ConfigError."""
    s = _Settings(context, environ)
    environment = s.pattern(
        "ENVIRONMENT_SUFFIX", "environmentSuffix", "dev", r"[A-Za-z0-9][A-Za-z0-9-]{0,23}",
        "1-24 letters, digits or hyphens, starting with a letter or digit",
    )
    region = s.pattern(
        "REVIEWS_REGION", "region", "us-east-2", r"[a-z]{2}-[a-z]+-\d",
        "an AWS commercial region name such as us-east-2",
    )
    target_kind = s.choice("REVIEWS_TARGET", "target", "local", TARGETS)
    endpoint = s.pattern(
        "REVIEWS_EMULATOR_ENDPOINT", "emulatorEndpoint", DEFAULT_EMULATOR_ENDPOINT,
        r"http://(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d{1,5}",
        "an http:// URL on the loopback interface with a port",
    )

    billing_mode = s.choice("REVIEWS_BILLING_MODE", "billingMode", "provisioned", BILLING_MODES)
    min_capacity = s.integer("REVIEWS_MIN_CAPACITY", "minCapacity", 5, 1, 40000)
    max_capacity = s.integer("REVIEWS_MAX_CAPACITY", "maxCapacity", 100, 1, 40000)
    s.check(
        min_capacity <= max_capacity, "REVIEWS_MIN_CAPACITY", min_capacity,
        f"at most REVIEWS_MAX_CAPACITY ({max_capacity})",
    )
    target_utilization = s.integer("REVIEWS_TARGET_UTILIZATION", "targetUtilization", 70, 20, 90)
    deletion_protection = s.boolean(
        "REVIEWS_DELETION_PROTECTION", "deletionProtection", environment != "dev"
    )

    throttle_rate = s.integer("REVIEWS_THROTTLE_RATE", "throttleRate", 10, 1, 10000)
    throttle_burst = s.integer("REVIEWS_THROTTLE_BURST", "throttleBurst", 20, 1, 5000)
    s.check(
        throttle_burst >= throttle_rate, "REVIEWS_THROTTLE_BURST", throttle_burst,
        f"at least REVIEWS_THROTTLE_RATE ({throttle_rate}): a bucket smaller than one "
        "second of traffic rejects steady load",
    )
    api_key_quota = s.integer("REVIEWS_API_KEY_QUOTA_PER_DAY", "apiKeyQuotaPerDay", 500000, 1, 10**9)
    manage_account_role = s.boolean(
        "REVIEWS_MANAGE_API_GATEWAY_ACCOUNT", "manageApiGatewayAccount", True
    )

    memory_mb = s.integer("REVIEWS_LAMBDA_MEMORY_MB", "lambdaMemoryMb", 256, 128, 10240)
    timeout_seconds = s.integer("REVIEWS_LAMBDA_TIMEOUT_SECONDS", "lambdaTimeoutSeconds", 30, 1, 900)
    concurrency_raw = s.raw("REVIEWS_RESERVED_CONCURRENCY", "reservedConcurrency", "50").lower()
    reserved_concurrency = None
    if concurrency_raw != "off":
        reserved_concurrency = s.integer(
            "REVIEWS_RESERVED_CONCURRENCY", "reservedConcurrency", 50, 1, 10000
        )
    retention_raw = s.raw("REVIEWS_LOG_RETENTION_DAYS", "logRetentionDays", "30")
    s.check(
        retention_raw.isdigit() and int(retention_raw) in LOG_RETENTION_DAYS,
        "REVIEWS_LOG_RETENTION_DAYS", retention_raw, ", ".join(map(str, LOG_RETENTION_DAYS)),
    )
    log_retention_days = int(retention_raw) if retention_raw.isdigit() else 30

    cors_raw = s.raw("REVIEWS_CORS_ORIGINS", "corsOrigins", "*")
    cors_origins = tuple(origin.strip() for origin in cors_raw.split(",") if origin.strip())
    s.check(
        cors_origins == ("*",)
        or (cors_origins and all(re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", o) for o in cors_origins)),
        "REVIEWS_CORS_ORIGINS", cors_raw,
        "* or a comma-separated list of origins like https://shop.example.com (no path, no trailing slash)",
    )

    alarm_email = s.raw("REVIEWS_ALARM_EMAIL", "alarmEmail", "") or None
    if alarm_email:
        s.check(
            bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", alarm_email)),
            "REVIEWS_ALARM_EMAIL", alarm_email, "an e-mail address, or empty for none",
        )

    is_local = target_kind == "local"
    state_bucket = s.raw("REVIEWS_STATE_BUCKET", "stateBucket", LOCAL_STATE_BUCKET if is_local else "")
    s.check(
        bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", state_bucket)),
        "REVIEWS_STATE_BUCKET", state_bucket,
        "an existing S3 bucket name (3-63 lowercase letters, digits, dots, hyphens); "
        "required when REVIEWS_TARGET=aws",
    )
    state_key = s.pattern(
        "REVIEWS_STATE_KEY", "stateKey", f"product-reviews/{environment}/terraform.tfstate",
        r"[A-Za-z0-9!_.*'()/-]{1,1024}", "an S3 object key",
    )
    state_region = s.pattern(
        "REVIEWS_STATE_REGION", "stateRegion", region, r"[a-z]{2}-[a-z]+-\d",
        "an AWS commercial region name such as us-east-2",
    )

    if s.errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(s.errors))

    return StackConfig(
        environment=environment,
        tags={
            "Environment": environment,
            "Repository": environ.get("REPOSITORY", "unknown"),
            "Author": environ.get("COMMIT_AUTHOR", "unknown"),
            "Project": "ProductReviews",
        },
        target=TargetConfig(kind=target_kind, region=region, endpoint=endpoint if is_local else None),
        backend=BackendConfig(bucket=state_bucket, key=state_key, region=state_region),
        table=TableConfig(
            name=f"ProductReviews-{environment}",
            billing_mode=billing_mode,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            target_utilization=target_utilization,
            deletion_protection=deletion_protection,
        ),
        function=FunctionConfig(
            name=f"ReviewProcessor-{environment}",
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            reserved_concurrency=reserved_concurrency,
            log_retention_days=log_retention_days,
            cors_origins=cors_origins,
        ),
        api=ApiConfig(
            name=f"ProductReviewsAPI-{environment}",
            stage_name="v1",
            throttle_rate=throttle_rate,
            throttle_burst=throttle_burst,
            api_key_quota_per_day=api_key_quota,
            manage_account_logging_role=manage_account_role,
            log_retention_days=log_retention_days,
        ),
        monitoring=MonitoringConfig(alarm_email=alarm_email),
    )
