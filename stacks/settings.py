"""Every setting of the stack as data: one row each drives loading, validation and the README.

A setting's value comes from, in order: its environment variable (REVIEWS_*), the
environment's file (environments/<name>.json, keyed like the cdktf context), the cdktf
context (cdktf.json "context"), its default. Each row's parser turns the text into a value
or raises ValueError naming the values it accepts; `stacks.config.load_config` reports
every problem at once.

Code reads the values through `Settings`, one typed field per row (the variable's name
without `REVIEWS_`, lowercased): `settings.min_capacity`, never `values["REVIEWS_MIN_CAPACITY"]`,
so a misspelt setting fails type checking. tests/test_settings.py holds the two lists together.

`python -m stacks.settings` prints the README's configuration table.
"""

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent / "environments"
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)  # the only values CloudWatch Logs accepts
REGION_PATTERN = r"[a-z]{2}-[a-z]+-\d"
LOCAL_STATE_BUCKET = "product-reviews-tfstate-local"
# The local target's state key in the emulator, by alias: its id changes whenever the emulator
# starts afresh, and synth runs before (or while) it starts.
LOCAL_STATE_KEY_ALIAS = "alias/product-reviews-tfstate-local"
# A KMS key ARN as Terraform's S3 backend accepts it for kms_key_id (a key id, or a multi-Region
# key's); an alias ARN would be resolved in the caller's account, not the bucket's.
KMS_KEY_ARN_PATTERN = (
    r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
)

Parser = Callable[[str], Any]
# A default computed from settings read before it (earlier rows), e.g. the state key.
Derived = Callable[["Settings"], str]


@dataclass(frozen=True)
class Setting:
    name: str  # environment variable
    key: str  # key in environments/<name>.json and in the cdktf context
    default: str | Derived
    parse: Parser
    doc: str
    default_doc: str = ""  # how a derived default is shown in the README

    @property
    def attribute(self) -> str:
        """Its field in `Settings`: REVIEWS_MIN_CAPACITY -> min_capacity."""
        return self.name.removeprefix("REVIEWS_").lower()

    def default_text(self, earlier: "Settings") -> str:
        """The default, derived from the settings of earlier rows where it depends on them."""
        return self.default(earlier) if callable(self.default) else self.default

    def shown_default(self) -> str:
        if self.default_doc:
            return self.default_doc
        return f"`{self.default}`" if isinstance(self.default, str) and self.default else "none"


# --- parsers: text -> value, or ValueError("<the values it accepts>") -----------------------


def integer(low: int, high: int) -> Parser:
    def parse(text: str) -> int:
        if not re.fullmatch(r"-?\d{1,9}", text) or not low <= int(text) <= high:
            raise ValueError(f"integers {low}..{high}")
        return int(text)

    return parse


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("true or false")
    return text.lower() == "true"


def choice(*options: str) -> Parser:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(" or ".join(options))
        return text

    return parse


def matching(regex: str, allowed: str) -> Parser:
    def parse(text: str) -> str:
        if not re.fullmatch(regex, text):
            raise ValueError(allowed)
        return text

    return parse


def optional(parser: Parser, allowed: str) -> Parser:
    """Empty means none (None); anything else must satisfy `parser`."""

    def parse(text: str) -> Any:
        if not text:
            return None
        try:
            return parser(text)
        except ValueError:
            raise ValueError(allowed) from None

    return parse


def off_or(parser: Parser) -> Parser:
    """`off` means none (None)."""

    def parse(text: str) -> Any:
        if text.lower() == "off":
            return None
        try:
            return parser(text)
        except ValueError as error:
            raise ValueError(f"off or {error}") from None

    return parse


def retention_days(text: str) -> int:
    if not text.isdigit() or int(text) not in LOG_RETENTION_DAYS:
        raise ValueError(", ".join(map(str, LOG_RETENTION_DAYS)))
    return int(text)


def origins(text: str) -> tuple[str, ...]:
    found = tuple(origin.strip() for origin in text.split(",") if origin.strip())
    origin = r"https?://[A-Za-z0-9.-]+(:\d{1,5})?"
    if found != ("*",) and not (found and all(re.fullmatch(origin, o) for o in found)):
        raise ValueError(
            "* or a comma-separated list of origins like https://shop.example.com (no path, no trailing slash)"
        )
    return found


PASSWORD_CHARACTER_CLASSES = ("lowercase", "uppercase", "numbers", "symbols")  # Cognito's Require* flags


def character_classes(text: str) -> tuple[str, ...]:
    found = tuple(part.strip() for part in text.split(",") if part.strip())
    if text.strip() == "none":
        return ()
    if not found or not set(found) <= set(PASSWORD_CHARACTER_CLASSES) or len(set(found)) != len(found):
        raise ValueError(f"none, or a comma-separated list of {', '.join(PASSWORD_CHARACTER_CLASSES)}")
    return tuple(c for c in PASSWORD_CHARACTER_CLASSES if c in found)


region = matching(REGION_PATTERN, "an AWS commercial region name such as us-east-2")
port = integer(1, 65535)


# --- the table ------------------------------------------------------------------------------

# Read first: its value selects the environment's file, where the later rows may be set;
# `python -m deploy --environment` sets it.
ENVIRONMENT_SUFFIX = Setting(
    "ENVIRONMENT_SUFFIX",
    "environmentSuffix",
    "dev",
    matching(r"[A-Za-z0-9][A-Za-z0-9-]{0,23}", "1-24 letters, digits or hyphens, starting with a letter or digit"),
    "environment name: resource names, state key, SSM prefix; selects environments/<name>.json",
)
# What is deployed where: `python -m deploy --target` sets it.
TARGET = Setting(
    "REVIEWS_TARGET",
    "target",
    "local",
    choice("local", "aws"),
    "`local`: the emulator on this machine; `aws`: a real account",
)
SETTINGS: tuple[Setting, ...] = (
    ENVIRONMENT_SUFFIX,
    TARGET,
    Setting("REVIEWS_REGION", "region", "us-east-2", region, "AWS region"),
    Setting(
        "REVIEWS_ACCOUNT_ID",
        "accountId",
        "",
        optional(matching(r"\d{12}", ""), "a 12-digit AWS account id"),
        "`aws`: the only account Terraform may touch (`allowed_account_ids`); **required**. "
        "`local` always uses the emulator's account",
    ),
    Setting(
        "REVIEWS_STATE_BUCKET",
        "stateBucket",
        "",
        optional(
            matching(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", ""),
            "an existing S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        ),
        f"`aws`: the S3 bucket holding the Terraform state; **required**. `local` always uses "
        f"`{LOCAL_STATE_BUCKET}` in the emulator",
    ),
    Setting(
        "REVIEWS_STATE_KEY",
        "stateKey",
        lambda settings: f"product-reviews/{settings.environment_suffix}/terraform.tfstate",
        matching(r"[A-Za-z0-9!_.*'()/-]{1,1024}", "an S3 object key"),
        "state object key",
        default_doc="`product-reviews/<env>/terraform.tfstate`",
    ),
    Setting(
        "REVIEWS_STATE_REGION",
        "stateRegion",
        lambda settings: settings.region,
        region,
        "`aws`: state bucket region",
        default_doc="the region",
    ),
    Setting(
        "REVIEWS_STATE_KMS_KEY",
        "stateKmsKey",
        "",
        optional(matching(KMS_KEY_ARN_PATTERN, ""), "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)"),
        "`aws`: ARN of the KMS key the state is encrypted with (SSE-KMS; the bootstrap prints it); **required**. "
        f"`local` always uses `{LOCAL_STATE_KEY_ALIAS}` in the emulator",
    ),
    Setting("REVIEWS_EMULATOR_PORT", "emulatorPort", "4566", port, "local: the emulator's port on 127.0.0.1"),
    Setting(
        "REVIEWS_GATEWAY_PORT",
        "gatewayPort",
        "8080",
        port,
        "local: the local API gateway's port on 127.0.0.1 (`api_url` output)",
    ),
    Setting(
        "REVIEWS_STOREFRONT_PORT",
        "storefrontPort",
        "8081",
        port,
        "local: the storefront demo page's port; it is served at `http://localhost:<port>`, an origin "
        "`REVIEWS_CORS_ORIGINS` must allow (docs/storefront.md)",
    ),
    Setting(
        "REVIEWS_REPOSITORY",
        "repository",
        "product-reviews-api",
        matching(r"[\w./-]{1,256}", "owner/name"),
        "the GitHub repository (`owner/name`): `Repository` tag on every resource; the bootstrap's roles trust "
        "only its workflows",
    ),
    Setting(
        "REVIEWS_BILLING_MODE",
        "billingMode",
        "provisioned",
        choice("provisioned", "on-demand"),
        "`provisioned` (with autoscaling) or `on-demand` (no capacity, no autoscaling)",
    ),
    Setting(
        "REVIEWS_MIN_CAPACITY",
        "minCapacity",
        "5",
        integer(1, 40000),
        "autoscaling minimum (and initial capacity) of table and index reads and writes",
    ),
    Setting(
        "REVIEWS_MAX_CAPACITY",
        "maxCapacity",
        "100",
        integer(1, 40000),
        "autoscaling maximum of table and index reads and writes",
    ),
    Setting(
        "REVIEWS_TARGET_UTILIZATION", "targetUtilization", "70", integer(20, 90), "target-tracking utilization, percent"
    ),
    Setting(
        "REVIEWS_DELETION_PROTECTION",
        "deletionProtection",
        lambda settings: str(settings.environment_suffix != "dev").lower(),
        boolean,
        "deletion protection of the table and the reviewers' user pool",
        default_doc="`false` for `dev`, else `true`",
    ),
    Setting(
        "REVIEWS_USER_PASSWORD_AUTH",
        "userPasswordAuth",
        lambda settings: str(settings.environment_suffix == "dev").lower(),
        boolean,
        "let the storefront's app client sign in with USER_PASSWORD_AUTH (the password travels to Cognito "
        "over TLS) besides SRP; docs/api.md says why `dev` needs it",
        default_doc="`true` for `dev`, else `false`",
    ),
    Setting(
        "REVIEWS_ID_TOKEN_MINUTES",
        "idTokenMinutes",
        "60",
        integer(5, 1440),
        "lifetime of a reviewer's ID token, the one the API accepts",
    ),
    Setting(
        "REVIEWS_ACCESS_TOKEN_MINUTES", "accessTokenMinutes", "60", integer(5, 1440), "lifetime of an access token"
    ),
    Setting(
        "REVIEWS_REFRESH_TOKEN_DAYS",
        "refreshTokenDays",
        "30",
        integer(1, 3650),
        "how long a reviewer stays signed in (refreshing tokens) without the password",
    ),
    Setting(
        "REVIEWS_PASSWORD_MIN_LENGTH",
        "passwordMinLength",
        "12",
        integer(8, 99),
        "shortest password the user pool accepts",
    ),
    Setting(
        "REVIEWS_PASSWORD_CHARACTERS",
        "passwordCharacters",
        "lowercase,uppercase,numbers",
        character_classes,
        "character classes every password must contain (of `lowercase,uppercase,numbers,symbols`), or `none`",
    ),
    Setting(
        "REVIEWS_THROTTLE_RATE",
        "throttleRate",
        "10",
        integer(1, 10000),
        "stage and usage-plan throttling, requests per second",
    ),
    Setting(
        "REVIEWS_THROTTLE_BURST",
        "throttleBurst",
        "20",
        integer(1, 5000),
        "stage and usage-plan burst (at least the rate)",
    ),
    Setting(
        "REVIEWS_API_KEY_QUOTA_PER_DAY",
        "apiKeyQuotaPerDay",
        "500000",
        integer(1, 10**9),
        "usage-plan quota for the storefront key",
    ),
    Setting("REVIEWS_LAMBDA_MEMORY_MB", "lambdaMemoryMb", "256", integer(128, 10240), "function memory"),
    Setting(
        "REVIEWS_LAMBDA_TIMEOUT_SECONDS",
        "lambdaTimeoutSeconds",
        "30",
        integer(1, 900),
        "function timeout (API Gateway itself gives up after 29 s)",
    ),
    Setting(
        "REVIEWS_RESERVED_CONCURRENCY",
        "reservedConcurrency",
        "50",
        off_or(integer(1, 10000)),
        "reserved concurrency, or `off`. Plan, apply and `make up` stop first when the account's concurrency "
        "limit cannot hold it plus the 100 that Lambda keeps unreserved (new accounts start with a lower limit)",
    ),
    Setting(
        "REVIEWS_LOG_RETENTION_DAYS",
        "logRetentionDays",
        "30",
        retention_days,
        "retention of every log group (a value CloudWatch accepts: 1, 3, 5, 7, 14, 30, ...)",
    ),
    Setting(
        "REVIEWS_CORS_ORIGINS",
        "corsOrigins",
        "*",
        origins,
        "allowed browser origins, comma-separated (`https://shop.example.com`), or `*`",
    ),
    Setting(
        "REVIEWS_GITHUB_OIDC_PROVIDER",
        "githubOidcProvider",
        "create",
        choice("create", "existing"),
        "bootstrap: `create` the account's GitHub OIDC provider, or use the `existing` one another tool made",
    ),
    Setting(
        "REVIEWS_PLAN_RETENTION_DAYS",
        "planRetentionDays",
        "7",
        integer(1, 90),
        "CI: days a reviewed plan may wait for approval (its encrypted artifact's lifetime); older: plan again",
    ),
    Setting(
        "REVIEWS_STATE_VERSION_RETENTION_DAYS",
        "stateVersionRetentionDays",
        "90",
        integer(1, 3650),
        "bootstrap: days the state bucket keeps a state's earlier versions",
    ),
    Setting(
        "REVIEWS_ALARM_EMAIL",
        "alarmEmail",
        "",
        optional(matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", ""), "an e-mail address, or empty for none"),
        "e-mail subscribed to the alarm topic by `python -m deploy apply` and `make up`, outside Terraform: "
        "an unconfirmed subscription is no drift (docs/deploying.md#the-alarm-e-mail)",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Every setting's value, typed: one field per row of SETTINGS, in the same order."""

    environment_suffix: str
    target: str  # local | aws
    region: str
    account_id: str | None
    state_bucket: str | None
    state_key: str
    state_region: str
    state_kms_key: str | None
    emulator_port: int
    gateway_port: int
    storefront_port: int
    repository: str
    billing_mode: str  # provisioned | on-demand
    min_capacity: int
    max_capacity: int
    target_utilization: int
    deletion_protection: bool
    user_password_auth: bool
    id_token_minutes: int
    access_token_minutes: int
    refresh_token_days: int
    password_min_length: int
    password_characters: tuple[str, ...]  # of PASSWORD_CHARACTER_CLASSES
    throttle_rate: int
    throttle_burst: int
    api_key_quota_per_day: int
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    reserved_concurrency: int | None  # None: off
    log_retention_days: int
    cors_origins: tuple[str, ...]
    github_oidc_provider: str  # create | existing
    plan_retention_days: int
    state_version_retention_days: int
    alarm_email: str | None

    @classmethod
    def of_valid(cls, values: Mapping[str, Any]) -> "Settings":
        """The settings in `values` (by field), missing those that are invalid: reading one of
        those raises AttributeError, so whatever depends on it is skipped (its problem is
        already reported)."""
        settings = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(settings, name, value)
        return settings

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))


class SettingsError(ValueError):
    """One or more settings are invalid; the message lists every problem."""


def environment_file(environment: str, environments_dir: Path = ENVIRONMENTS_DIR) -> Path:
    return environments_dir / f"{environment}.json"


def read_environment_file(path: Path) -> dict[str, object]:
    """The environment's settings, keyed like the context; {} if the file does not exist."""
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text())
    except ValueError as error:
        raise SettingsError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise SettingsError(f"{path} must hold one JSON object of settings")
    known = {setting.key for setting in SETTINGS}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dict(values)


class Sources:
    """Where raw values come from: environment variables, then the environment's file, then context."""

    def __init__(self, context: Mapping[str, object], environ: Mapping[str, str], environments_dir: Path):
        self.context = context
        self.environ = environ
        self.environments_dir = environments_dir
        self.file: dict[str, object] = {}
        self.file_path: Path | None = None

    def load_environment_file(self, environment: str) -> None:
        self.file_path = environment_file(environment, self.environments_dir)
        self.file = read_environment_file(self.file_path)

    def raw(self, setting: Setting, valid: "Settings") -> tuple[str, str]:
        """(text, where it came from). A derived default raises AttributeError when an input is invalid."""
        if self.environ.get(setting.name, "").strip():
            return self.environ[setting.name].strip(), "environment variable"
        for found, origin in ((self.file, str(self.file_path)), (self.context, "cdktf context")):
            if found.get(setting.key) is not None:
                value = found[setting.key]
                text = json.dumps(value) if isinstance(value, bool) else str(value)
                return text.strip(), f"{origin} {setting.key}"
        return setting.default_text(valid), "default"


def read_settings(
    context: Mapping[str, object], environ: Mapping[str, str], environments_dir: Path = ENVIRONMENTS_DIR
) -> tuple[Settings, list[str]]:
    """The settings, and a line for each problem found. With problems, the settings hold only
    the valid values (`Settings.of_valid`)."""
    sources = Sources(context, environ, environments_dir)
    valid: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        try:
            text, origin = sources.raw(setting, Settings.of_valid(valid))
        except AttributeError:  # derived from an invalid setting, whose problem is already reported
            continue
        try:
            valid[setting.attribute] = setting.parse(text)
        except ValueError as error:
            source = f" (from {origin})" if origin not in ("environment variable", "default") else ""
            problems.append(f"{setting.name}={text!r}{source} is invalid: allowed values are {error}")
            continue
        if setting is ENVIRONMENT_SUFFIX:
            try:
                sources.load_environment_file(valid[setting.attribute])
            except SettingsError as error:  # unknown keys, or not JSON
                problems.append(str(error))
    return (Settings.of_valid(valid) if problems else Settings(**valid)), problems


def defaults() -> Settings:
    """Every setting's default (derived ones from the defaults before them)."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        values[setting.attribute] = setting.parse(setting.default_text(Settings.of_valid(values)))
    return Settings(**values)


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| Environment variable (file / context key) | Default | Meaning |", "| --- | --- | --- |"]
    lines += [f"| `{s.name}` (`{s.key}`) | {s.shown_default()} | {s.doc} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
