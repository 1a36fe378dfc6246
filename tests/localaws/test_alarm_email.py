"""The alarm e-mail subscription, kept outside Terraform (deploy/alarm_email.py), on the emulator.

The emulator behaves as SNS does where it matters (localaws/moto_fixes.py): an e-mail
subscription waits for confirmation and is listed as "PendingConfirmation", cannot be
unsubscribed while it waits, and SNS deletes it after 48 hours unconfirmed. The tests follow
the recipient (confirming, or never doing so) and SNS (deleting) with the emulator's hooks.
Each test has its own environment, and so its own alarm topic.
"""

from contextlib import redirect_stdout
from io import StringIO

import pytest

from deploy import alarm_email
from localaws import emulator
from stacks.config import StackConfig, load_config

pytestmark = pytest.mark.emulator

REGION = "us-east-2"


@pytest.fixture
def topic_of(running_emulator, tmp_path):
    """topic_of(environment, alarm_email) -> (config, sns): the environment's alarm topic made."""

    def make(environment: str, address: str | None) -> tuple[StackConfig, object]:
        settings = {"ENVIRONMENT_SUFFIX": environment, "REVIEWS_EMULATOR_PORT": str(running_emulator.port)}
        config = load_config({}, {**settings, "REVIEWS_ALARM_EMAIL": address or ""}, tmp_path)
        sns = emulator.client("sns", running_emulator.endpoint, REGION)
        sns.create_topic(Name=config.monitoring.alarm_topic_name)
        return config, sns

    return make


def keep_subscribed(sns, config: StackConfig) -> str:
    """What an apply does after Terraform, and what it prints."""
    printed = StringIO()
    with redirect_stdout(printed):
        alarm_email.keep_subscribed(sns, config)
    return printed.getvalue()


def emails(sns, config: StackConfig) -> dict[str, str]:
    listed = sns.list_subscriptions_by_topic(TopicArn=alarm_email.topic_arn(config))["Subscriptions"]
    return {s["Endpoint"]: s["SubscriptionArn"] for s in listed if s["Protocol"] == "email"}


def review(sns, config: StackConfig) -> str:
    return "\n".join(alarm_email.review_section(alarm_email.read(sns, config)))


def test_an_apply_subscribes_the_address_once_and_reviews_say_it_waits_for_confirmation(topic_of):
    config, sns = topic_of("mail-new", "oncall@example.com")
    assert "the next apply (`python -m deploy apply`, `make up`) subscribes" in review(sns, config)

    printed = keep_subscribed(sns, config)

    assert "subscribed `oncall@example.com`: SNS e-mailed it a confirmation link" in printed
    assert emails(sns, config) == {"oncall@example.com": "PendingConfirmation"}
    assert "- `oncall@example.com`: **waiting for confirmation**" in review(sns, config)
    assert "None of this is drift." in review(sns, config)
    # A second deploy mails no second link: the waiting subscription is left alone.
    assert "subscribed `" not in keep_subscribed(sns, config)
    assert emails(sns, config) == {"oncall@example.com": "PendingConfirmation"}


def test_once_sns_deletes_the_unconfirmed_subscription_the_review_says_so_and_an_apply_subscribes_again(topic_of):
    config, sns = topic_of("mail-expired", "oncall@example.com")
    keep_subscribed(sns, config)
    assert emulator.expire_unconfirmed_subscriptions(emulator.endpoint_for(config.target.emulator_port), REGION) >= 1
    assert emails(sns, config) == {}

    said = review(sns, config)
    assert "- `oncall@example.com`: not subscribed (SNS deletes a subscription left unconfirmed for 48 hours)" in said
    assert "until it is followed, **waiting for confirmation**" in said

    assert "subscribed `oncall@example.com`" in keep_subscribed(sns, config)
    assert emails(sns, config) == {"oncall@example.com": "PendingConfirmation"}


def test_a_confirmed_subscription_is_reported_and_kept(topic_of):
    config, sns = topic_of("mail-confirmed", "oncall@example.com")
    keep_subscribed(sns, config)
    endpoint = emulator.endpoint_for(config.target.emulator_port)
    assert emulator.confirm_subscription(endpoint, REGION, alarm_email.topic_arn(config), "oncall@example.com")
    confirmed = emails(sns, config)["oncall@example.com"]
    assert confirmed.startswith("arn:aws:sns:")

    assert "- `oncall@example.com`: subscribed and confirmed." in review(sns, config)
    keep_subscribed(sns, config)
    assert emails(sns, config) == {"oncall@example.com": confirmed}


def test_a_new_address_replaces_the_old_one_and_other_protocols_are_left_alone(topic_of):
    config, sns = topic_of("mail-changed", "new-oncall@example.com")
    topic, endpoint = alarm_email.topic_arn(config), emulator.endpoint_for(config.target.emulator_port)
    for address in ("old-oncall@example.com", "never-confirmed@example.com"):
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)
    assert emulator.confirm_subscription(endpoint, REGION, topic, "old-oncall@example.com")
    pager = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://pager.example.com/alarms")

    said = review(sns, config)
    assert "- `old-oncall@example.com`: subscribed, but not the configured address: the next apply unsubscribes it" in (
        said
    )
    assert "- `never-confirmed@example.com`: waiting for confirmation, but not the configured address" in said

    printed = keep_subscribed(sns, config)  # SNS refuses to unsubscribe a pending one: never asked to

    assert "unsubscribed `old-oncall@example.com`" in printed
    assert emails(sns, config) == {
        "new-oncall@example.com": "PendingConfirmation",
        "never-confirmed@example.com": "PendingConfirmation",
    }
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pager["SubscriptionArn"] in {s["SubscriptionArn"] for s in listed}


def test_before_the_topic_exists_the_review_says_what_the_first_apply_does(running_emulator, tmp_path):
    settings = {"ENVIRONMENT_SUFFIX": "mail-first", "REVIEWS_EMULATOR_PORT": str(running_emulator.port)}
    config = load_config({}, {**settings, "REVIEWS_ALARM_EMAIL": "oncall@example.com"}, tmp_path)
    sns = emulator.client("sns", running_emulator.endpoint, REGION)
    said = review(sns, config)
    assert "the apply creates the alarm topic, then subscribes this address" in said
    assert "**waiting for confirmation**" in said


def test_without_an_address_or_subscriptions_nothing_is_said_or_printed(topic_of):
    config, sns = topic_of("mail-none", None)
    assert alarm_email.review_section(alarm_email.read(sns, config)) == []
    assert keep_subscribed(sns, config) == ""


def test_unsubscribing_a_pending_subscription_fails_in_the_emulator_as_in_sns(topic_of):
    config, sns = topic_of("mail-refused", None)
    created = sns.subscribe(
        TopicArn=alarm_email.topic_arn(config), Protocol="email", Endpoint="x@example.com", ReturnSubscriptionArn=True
    )
    with pytest.raises(sns.exceptions.InvalidParameterException, match="pending confirmation"):
        sns.unsubscribe(SubscriptionArn=created["SubscriptionArn"])
