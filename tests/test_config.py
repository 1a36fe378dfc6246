"""Configuration: defaults, overrides, and invalid settings failing synth with a clear message."""

import os
import subprocess
import sys

import pytest

from stacks.config import ConfigError, load_config
from tests.conftest import PROJECT_ROOT

AWS = {"REVIEWS_TARGET": "aws", "REVIEWS_STATE_BUCKET": "example-terraform-state"}


def test_defaults_match_the_documented_production_shape():
    config = load_config({}, AWS)
    assert config.environment == "dev" and config.target.region == "us-east-2"
    assert (config.table.min_capacity, config.table.max_capacity, config.table.target_utilization) == (5, 100, 70)
    assert config.table.billing_mode == "provisioned"
    assert (config.api.throttle_rate, config.api.throttle_burst) == (10, 20)
    fn = config.function
    assert (fn.memory_mb, fn.timeout_seconds, fn.reserved_concurrency) == (256, 30, 50)
    assert config.monitoring.alarm_email is None
    assert config.backend.key == "product-reviews/dev/terraform.tfstate"


def test_the_default_target_is_the_local_emulator():
    config = load_config({}, {})
    assert config.target.is_local and config.target.endpoint == "http://127.0.0.1:4566"
    assert config.backend.bucket == "product-reviews-tfstate-local"


def test_context_sets_the_environment_and_environment_variables_override_context():
    assert load_config({"environmentSuffix": "staging"}, AWS).environment == "staging"
    assert load_config({"environmentSuffix": "staging"}, {**AWS, "ENVIRONMENT_SUFFIX": "pr42"}).environment == "pr42"
    assert load_config({"throttleRate": 5, "throttleBurst": 5}, AWS).api.throttle_rate == 5


@pytest.mark.parametrize(
    ("settings", "named", "allowed"),
    [
        ({"REVIEWS_THROTTLE_RATE": "20", "REVIEWS_THROTTLE_BURST": "10"}, "REVIEWS_THROTTLE_BURST", "at least REVIEWS_THROTTLE_RATE (20)"),
        ({"REVIEWS_MIN_CAPACITY": "200"}, "REVIEWS_MIN_CAPACITY", "at most REVIEWS_MAX_CAPACITY (100)"),
        ({"REVIEWS_LOG_RETENTION_DAYS": "10"}, "REVIEWS_LOG_RETENTION_DAYS", "1, 3, 5, 7, 14, 30"),
        ({"REVIEWS_STATE_BUCKET": ""}, "REVIEWS_STATE_BUCKET", "required when REVIEWS_TARGET=aws"),
        ({"REVIEWS_BILLING_MODE": "serverless"}, "REVIEWS_BILLING_MODE", "provisioned or on-demand"),
        ({"REVIEWS_TARGET": "gcp"}, "REVIEWS_TARGET", "local or aws"),
        ({"REVIEWS_TARGET_UTILIZATION": "95"}, "REVIEWS_TARGET_UTILIZATION", "integers 20..90"),
        ({"REVIEWS_LAMBDA_MEMORY_MB": "lots"}, "REVIEWS_LAMBDA_MEMORY_MB", "integers 128..10240"),
        ({"REVIEWS_RESERVED_CONCURRENCY": "0"}, "REVIEWS_RESERVED_CONCURRENCY", "integers 1..10000"),
        ({"REVIEWS_CORS_ORIGINS": "https://shop.example.com/"}, "REVIEWS_CORS_ORIGINS", "no trailing slash"),
        ({"REVIEWS_ALARM_EMAIL": "not-an-address"}, "REVIEWS_ALARM_EMAIL", "an e-mail address"),
        ({"REVIEWS_DELETION_PROTECTION": "yes"}, "REVIEWS_DELETION_PROTECTION", "true or false"),
        ({"ENVIRONMENT_SUFFIX": "prod env"}, "ENVIRONMENT_SUFFIX", "letters, digits or hyphens"),
        ({"REVIEWS_REGION": "mars-1"}, "REVIEWS_REGION", "us-east-2"),
        ({"REVIEWS_TARGET": "local", "REVIEWS_EMULATOR_ENDPOINT": "http://10.0.0.5:4566"}, "REVIEWS_EMULATOR_ENDPOINT", "loopback"),
    ],
)
def test_invalid_settings_name_the_setting_and_the_allowed_values(settings, named, allowed):
    with pytest.raises(ConfigError) as error:
        load_config({}, {**AWS, **settings})
    assert f"{named}=" in str(error.value) and allowed in str(error.value)


def test_every_invalid_setting_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        load_config({}, {**AWS, "REVIEWS_THROTTLE_RATE": "0", "REVIEWS_LOG_RETENTION_DAYS": "2"})
    assert "REVIEWS_THROTTLE_RATE" in str(error.value) and "REVIEWS_LOG_RETENTION_DAYS" in str(error.value)


def test_synth_fails_with_the_message():
    environ = {**os.environ, **AWS, "REVIEWS_THROTTLE_BURST": "5"}
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "synth failed" in result.stderr
    assert "REVIEWS_THROTTLE_BURST=5 is invalid" in result.stderr
