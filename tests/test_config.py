"""Configuration: defaults, environment files, overrides, and invalid settings failing synth
with a message naming the setting."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config import ConfigError, load_config
from stacks.settings import SETTINGS, markdown_table

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROD_STATE_KEY = "arn:aws:kms:eu-west-1:444455556666:key/2dab8c74-9e30-4f5c-b14d-708e9fab1c23"
AWS = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_ACCOUNT_ID": "111122223333",
    "REVIEWS_STATE_BUCKET": "example-terraform-state",
    "REVIEWS_STATE_KMS_KEY": "arn:aws:kms:us-east-2:111122223333:key/0b8f6a52-7c1e-4d3a-9f2b-5e6c7d8a9b01",
}


@pytest.fixture
def environments(tmp_path) -> Path:
    """An environments/ folder of the test's own."""
    return tmp_path


def load(environ: dict, environments_dir: Path, context: dict | None = None):
    return load_config(context or {}, environ, environments_dir)


def test_defaults_match_the_documented_production_shape(environments):
    config = load(AWS, environments)
    assert config.environment == "dev" and config.target.region == "us-east-2"
    assert (config.table.min_capacity, config.table.max_capacity, config.table.target_utilization) == (5, 100, 70)
    assert config.table.billing_mode == "provisioned"
    assert (config.api.throttle_rate, config.api.throttle_burst) == (10, 20)
    fn = config.function
    assert (fn.memory_mb, fn.timeout_seconds, fn.reserved_concurrency) == (256, 30, 50)
    assert config.monitoring.alarm_email is None
    assert config.backend.key == "product-reviews/dev/terraform.tfstate"
    assert config.target.account_id == "111122223333"
    assert config.stack_name == "product-reviews-dev"


def test_the_default_target_is_the_local_emulator_with_a_stack_of_its_own(environments):
    config = load({}, environments)
    assert config.target.is_local and config.target.endpoint == "http://127.0.0.1:4566"
    assert config.target.account_id == "123456789012"  # the emulator's account
    assert config.backend.bucket == "product-reviews-tfstate-local"
    assert config.stack_name == "product-reviews-dev-local"


def test_one_port_setting_places_the_emulator_everywhere(environments):
    config = load({"REVIEWS_EMULATOR_PORT": "4600", "REVIEWS_GATEWAY_PORT": "8100"}, environments)
    assert config.target.endpoint == "http://127.0.0.1:4600"
    assert config.target.local_api_url == "http://127.0.0.1:8100/v1"


def test_the_dev_environment_lets_make_ups_storefront_call_the_api():
    config = load_config({}, {}, PROJECT_ROOT / "environments")
    assert config.target.storefront_origin == "http://localhost:8081"
    assert config.target.storefront_origin in config.api.cors_origins
    moved = load_config({}, {"REVIEWS_STOREFRONT_PORT": "9000"}, PROJECT_ROOT / "environments")
    assert moved.target.storefront_origin == "http://localhost:9000"


def test_identity_defaults_protect_every_environment_but_dev(environments):
    dev = load(AWS, environments).identity
    assert (dev.deletion_protection, dev.user_password_auth) == (False, True)
    assert (dev.id_token_minutes, dev.access_token_minutes, dev.refresh_token_days) == (60, 60, 30)
    assert (dev.password_min_length, dev.password_characters) == (12, ("lowercase", "uppercase", "numbers"))
    for environment in ("staging", "prod", "pr42"):
        other = load({**AWS, "ENVIRONMENT_SUFFIX": environment}, environments).identity
        assert (other.deletion_protection, other.user_password_auth) == (True, False), environment
        assert other.user_pool_name == f"ProductReviews-{environment}"


def test_identity_settings_are_read_and_password_classes_kept_in_a_fixed_order(environments):
    identity = load(
        {
            **AWS,
            "ENVIRONMENT_SUFFIX": "prod",
            "REVIEWS_USER_PASSWORD_AUTH": "true",
            "REVIEWS_ID_TOKEN_MINUTES": "5",
            "REVIEWS_REFRESH_TOKEN_DAYS": "3650",
            "REVIEWS_PASSWORD_MIN_LENGTH": "99",
            "REVIEWS_PASSWORD_CHARACTERS": " symbols, lowercase ",
        },
        environments,
    ).identity
    assert identity.user_password_auth is True
    assert (identity.id_token_minutes, identity.refresh_token_days, identity.password_min_length) == (5, 3650, 99)
    assert identity.password_characters == ("lowercase", "symbols")
    assert load({**AWS, "REVIEWS_PASSWORD_CHARACTERS": "none"}, environments).identity.password_characters == ()


def test_an_environment_file_is_the_environments_one_source_of_settings(environments):
    (environments / "prod.json").write_text(
        json.dumps(
            {
                "region": "eu-west-1",
                "accountId": "444455556666",
                "stateBucket": "prod-state",
                "stateKmsKey": PROD_STATE_KEY,
                "throttleRate": 50,
                "throttleBurst": 100,
                "deletionProtection": True,
                "corsOrigins": "https://shop.example.com",
            }
        )
    )
    config = load({"ENVIRONMENT_SUFFIX": "prod", "REVIEWS_TARGET": "aws"}, environments)
    assert config.target.region == config.backend.region == "eu-west-1"
    assert (config.target.account_id, config.backend.bucket) == ("444455556666", "prod-state")
    assert config.backend.kms_key_id == PROD_STATE_KEY
    assert (config.api.throttle_rate, config.api.throttle_burst) == (50, 100)
    assert config.function.cors_origins == ("https://shop.example.com",)
    # The file wins over the cdktf context, and an environment variable over the file.
    context = {"throttleRate": 5, "alarmEmail": "team@example.com"}
    overridden = load(
        {"ENVIRONMENT_SUFFIX": "prod", "REVIEWS_TARGET": "aws", "REVIEWS_THROTTLE_RATE": "60"}, environments, context
    )
    assert overridden.api.throttle_rate == 60 and overridden.monitoring.alarm_email == "team@example.com"


def test_the_local_target_keeps_state_and_account_in_the_emulator(environments):
    (environments / "prod.json").write_text(
        json.dumps({"accountId": "444455556666", "stateBucket": "prod-state", "stateKmsKey": PROD_STATE_KEY})
    )
    config = load({"ENVIRONMENT_SUFFIX": "prod"}, environments)
    assert (config.target.account_id, config.backend.bucket) == ("123456789012", "product-reviews-tfstate-local")
    assert config.backend.kms_key_id == "alias/product-reviews-tfstate-local"  # the emulator's state key


def test_a_bad_value_in_an_environment_file_names_the_file_and_key(environments):
    (environments / "staging.json").write_text(json.dumps({"throttleRate": "fast", "colour": "blue"}))
    with pytest.raises(ConfigError) as error:
        load({"ENVIRONMENT_SUFFIX": "staging"}, environments)
    message = str(error.value)
    assert "unknown settings colour" in message and "staging.json" in message
    (environments / "staging.json").write_text(json.dumps({"throttleRate": "fast"}))
    with pytest.raises(ConfigError) as error:
        load({"ENVIRONMENT_SUFFIX": "staging"}, environments)
    assert "REVIEWS_THROTTLE_RATE='fast' (from " in str(error.value)
    assert "staging.json throttleRate) is invalid: allowed values are integers 1..10000" in str(error.value)


def test_context_sets_the_environment_and_environment_variables_override_context(environments):
    assert load(AWS, environments, {"environmentSuffix": "staging"}).environment == "staging"
    pull_request = {**AWS, "ENVIRONMENT_SUFFIX": "pr42"}
    assert load(pull_request, environments, {"environmentSuffix": "staging"}).environment == "pr42"
    assert load(AWS, environments, {"throttleRate": 5, "throttleBurst": 5}).api.throttle_rate == 5


def test_who_deploys_never_reaches_the_configuration(environments):
    base = load(AWS, environments)
    someone_else = load({**AWS, "COMMIT_AUTHOR": "mallory", "GITHUB_ACTOR": "mallory", "USER": "mallory"}, environments)
    assert someone_else == base
    assert set(base.tags) == {"Environment", "Project", "Repository"}


@pytest.mark.parametrize(
    ("settings", "named", "allowed"),
    [
        (
            {"REVIEWS_THROTTLE_RATE": "20", "REVIEWS_THROTTLE_BURST": "10"},
            "REVIEWS_THROTTLE_BURST",
            "at least REVIEWS_THROTTLE_RATE (20)",
        ),
        ({"REVIEWS_MIN_CAPACITY": "200"}, "REVIEWS_MIN_CAPACITY", "at most REVIEWS_MAX_CAPACITY (100)"),
        ({"REVIEWS_LOG_RETENTION_DAYS": "10"}, "REVIEWS_LOG_RETENTION_DAYS", "1, 3, 5, 7, 14, 30"),
        ({"REVIEWS_STATE_BUCKET": ""}, "REVIEWS_STATE_BUCKET", "required when REVIEWS_TARGET=aws"),
        ({"REVIEWS_STATE_KMS_KEY": ""}, "REVIEWS_STATE_KMS_KEY", "the bootstrap prints it); required when"),
        (
            {"REVIEWS_STATE_KMS_KEY": "alias/terraform-state"},
            "REVIEWS_STATE_KMS_KEY",
            "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)",
        ),
        ({"REVIEWS_ACCOUNT_ID": ""}, "REVIEWS_ACCOUNT_ID", "required when REVIEWS_TARGET=aws"),
        ({"REVIEWS_ACCOUNT_ID": "1234"}, "REVIEWS_ACCOUNT_ID", "a 12-digit AWS account id"),
        ({"REVIEWS_BILLING_MODE": "serverless"}, "REVIEWS_BILLING_MODE", "provisioned or on-demand"),
        ({"REVIEWS_TARGET": "gcp"}, "REVIEWS_TARGET", "local or aws"),
        ({"REVIEWS_TARGET_UTILIZATION": "95"}, "REVIEWS_TARGET_UTILIZATION", "integers 20..90"),
        ({"REVIEWS_LAMBDA_MEMORY_MB": "lots"}, "REVIEWS_LAMBDA_MEMORY_MB", "integers 128..10240"),
        ({"REVIEWS_RESERVED_CONCURRENCY": "0"}, "REVIEWS_RESERVED_CONCURRENCY", "off or integers 1..10000"),
        ({"REVIEWS_CORS_ORIGINS": "https://shop.example.com/"}, "REVIEWS_CORS_ORIGINS", "no trailing slash"),
        ({"REVIEWS_ALARM_EMAIL": "not-an-address"}, "REVIEWS_ALARM_EMAIL", "an e-mail address"),
        ({"REVIEWS_DELETION_PROTECTION": "yes"}, "REVIEWS_DELETION_PROTECTION", "true or false"),
        ({"ENVIRONMENT_SUFFIX": "prod env"}, "ENVIRONMENT_SUFFIX", "letters, digits or hyphens"),
        ({"REVIEWS_REGION": "mars-1"}, "REVIEWS_REGION", "us-east-2"),
        ({"REVIEWS_EMULATOR_PORT": "70000"}, "REVIEWS_EMULATOR_PORT", "integers 1..65535"),
        ({"REVIEWS_USER_PASSWORD_AUTH": "on"}, "REVIEWS_USER_PASSWORD_AUTH", "true or false"),
        ({"REVIEWS_ID_TOKEN_MINUTES": "2"}, "REVIEWS_ID_TOKEN_MINUTES", "integers 5..1440"),
        ({"REVIEWS_ACCESS_TOKEN_MINUTES": "1441"}, "REVIEWS_ACCESS_TOKEN_MINUTES", "integers 5..1440"),
        ({"REVIEWS_REFRESH_TOKEN_DAYS": "0"}, "REVIEWS_REFRESH_TOKEN_DAYS", "integers 1..3650"),
        ({"REVIEWS_PASSWORD_MIN_LENGTH": "6"}, "REVIEWS_PASSWORD_MIN_LENGTH", "integers 8..99"),
        (
            {"REVIEWS_PASSWORD_CHARACTERS": "digits"},
            "REVIEWS_PASSWORD_CHARACTERS",
            "none, or a comma-separated list of lowercase, uppercase, numbers, symbols",
        ),
        ({"REVIEWS_PASSWORD_CHARACTERS": "numbers,numbers"}, "REVIEWS_PASSWORD_CHARACTERS", "comma-separated"),
    ],
)
def test_invalid_settings_name_the_setting_and_the_allowed_values(environments, settings, named, allowed):
    with pytest.raises(ConfigError) as error:
        load({**AWS, **settings}, environments)
    assert f"{named}=" in str(error.value) and allowed in str(error.value)


def test_every_invalid_setting_is_reported_at_once(environments):
    with pytest.raises(ConfigError) as error:
        load(
            {**AWS, "REVIEWS_THROTTLE_RATE": "0", "REVIEWS_LOG_RETENTION_DAYS": "2", "REVIEWS_MIN_CAPACITY": "500"},
            environments,
        )
    for name in ("REVIEWS_THROTTLE_RATE", "REVIEWS_LOG_RETENTION_DAYS", "REVIEWS_MIN_CAPACITY"):
        assert f"{name}=" in str(error.value)


def test_an_invalid_region_is_reported_once_not_again_for_the_settings_derived_from_it(environments):
    with pytest.raises(ConfigError) as error:
        load({**AWS, "REVIEWS_REGION": "mars-1"}, environments)
    assert "REVIEWS_REGION=" in str(error.value) and "REVIEWS_STATE_REGION" not in str(error.value)


def test_every_committed_environment_synthesizes(environments):
    for path in sorted((PROJECT_ROOT / "environments").glob("*.json")):
        for target in ("local", "aws"):
            config = load_config({}, {"ENVIRONMENT_SUFFIX": path.stem, "REVIEWS_TARGET": target})
            assert config.environment == path.stem


def test_the_readme_configuration_table_is_the_settings_table():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README.md is stale: paste `python -m stacks.settings` into it"
    assert len(SETTINGS) == len({s.name for s in SETTINGS}) == len({s.key for s in SETTINGS})


def test_synth_fails_with_the_message():
    environ = {**os.environ, **AWS, "REVIEWS_THROTTLE_BURST": "5"}
    result = subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True)
    assert result.returncode != 0
    assert "synth failed" in result.stderr
    assert "REVIEWS_THROTTLE_BURST=5 is invalid" in result.stderr
