"""The alarm e-mail subscription, kept outside Terraform: `python -m deploy apply` and `make up`
subscribe the configured address after Terraform has run, and every plan review and drift
report says where the subscription stands.

Why not a Terraform resource: SNS mails a confirmation link to a new e-mail subscription and
deletes the subscription when nobody follows the link within 48 hours (AWS What's New,
2023-05-10; it was 72 hours before). The AWS provider then reads "not found", drops the
subscription from the state and plans to create it again, in every plan from then on: a
change in every review, and a drift issue every day, for something a reviewer cannot act on.
Nothing in Terraform can tell "SNS deleted it because nobody confirmed" from "someone deleted
it", so the subscription lives here, where the difference is a sentence in the review.

- After an apply: the configured address is subscribed when the topic has no subscription
  for it (SNS mails the link); one waiting for confirmation is left alone (subscribing again
  would mail a new link on every deploy). Confirmed e-mail subscriptions of other addresses
  are unsubscribed: the setting is the list of recipients. Pending ones cannot be (SNS
  refuses), and expire. Other protocols (HTTPS, SQS, Lambda, chat) are never touched.
- In a plan or drift review: confirmed, **waiting for confirmation**, or what the next apply
  will do. None of it makes a plan show a change or the drift check report drift.

The configured address is also the stack's `alarm_email` output, so the configuration a plan
is reviewed with (and an apply is checked against) includes it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stacks.config import StackConfig

PROTOCOL = "email"
PENDING_CONFIRMATION = "PendingConfirmation"  # the SubscriptionArn SNS lists for one waiting
DOCS = "docs/deploying.md#the-alarm-e-mail"


@dataclass(frozen=True)
class AlarmEmail:
    """The alarm topic's e-mail subscriptions, against the configured address."""

    wanted: str | None
    topic_exists: bool = True
    confirmed: Mapping[str, str] = field(default_factory=dict)  # address -> subscription ARN
    pending: frozenset[str] = frozenset()

    @property
    def needs_subscribing(self) -> bool:
        return bool(self.wanted) and self.wanted not in self.confirmed and self.wanted not in self.pending

    @property
    def unwanted(self) -> list[str]:
        """Confirmed addresses that are not the configured one: the next apply unsubscribes them."""
        return sorted(address for address in self.confirmed if address != self.wanted)

    @property
    def expiring(self) -> list[str]:
        """Addresses waiting for confirmation that are not the configured one."""
        return sorted(address for address in self.pending if address != self.wanted)


def topic_arn(config: StackConfig) -> str:
    target = config.target
    return f"arn:aws:sns:{target.region}:{target.account_id}:{config.monitoring.alarm_topic_name}"


def read(sns: Any, config: StackConfig) -> AlarmEmail:
    """Where the subscriptions stand (sns:ListSubscriptionsByTopic, read-only)."""
    wanted = config.monitoring.alarm_email
    try:
        pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn(config))
        emails = [found for page in pages for found in page["Subscriptions"] if found["Protocol"] == PROTOCOL]
    except sns.exceptions.NotFoundException:  # not created yet
        return AlarmEmail(wanted, topic_exists=False)
    return AlarmEmail(
        wanted,
        confirmed={s["Endpoint"]: s["SubscriptionArn"] for s in emails if s["SubscriptionArn"] != PENDING_CONFIRMATION},
        pending=frozenset(s["Endpoint"] for s in emails if s["SubscriptionArn"] == PENDING_CONFIRMATION),
    )


def keep_subscribed(sns: Any, config: StackConfig) -> None:
    """After an apply: subscribes the configured address if it has no subscription, and
    unsubscribes confirmed e-mail subscriptions of other addresses. Prints what it did and
    where the subscriptions stand (nothing when the topic has none and none is configured)."""
    found = read(sns, config)
    done = []
    if found.needs_subscribing:
        sns.subscribe(TopicArn=topic_arn(config), Protocol=PROTOCOL, Endpoint=found.wanted)
        done.append(f"subscribed `{found.wanted}`: SNS e-mailed it a confirmation link")
    for address in found.unwanted:
        sns.unsubscribe(SubscriptionArn=found.confirmed[address])
        done.append(f"unsubscribed `{address}`: not the configured address")
    lines = [*done, *describe(read(sns, config))]
    if lines:
        print(f"--> Alarm e-mail subscription (kept outside Terraform: {DOCS})", flush=True)
        for line in lines:
            print(f"    {line}", flush=True)


def review_section(state: AlarmEmail) -> list[str]:
    """The review's lines about the subscription (none when there is nothing to say)."""
    lines = describe(state)
    if not lines:
        return []
    note = (
        f"Kept outside Terraform ({DOCS}): the next apply (`python -m deploy apply`, `make up`) "
        "subscribes the configured address. None of this is drift."
    )
    return ["### Alarm e-mail", "", *lines, "", note]


def describe(state: AlarmEmail) -> list[str]:
    """A Markdown list item for each address: confirmed, waiting for confirmation, or what the
    next apply does with it."""
    wanted = state.wanted
    lines = []
    if wanted and not state.topic_exists:
        lines.append(
            f"- `{wanted}`: the apply creates the alarm topic, then subscribes this address and SNS e-mails it "
            "a confirmation link. Until the link is followed, alarms reach nobody: **waiting for confirmation**."
        )
    elif wanted in state.confirmed:
        lines.append(f"- `{wanted}`: subscribed and confirmed.")
    elif wanted in state.pending:
        lines.append(
            f"- `{wanted}`: **waiting for confirmation**: alarms reach it once the link SNS e-mailed is followed. "
            "SNS deletes a subscription left unconfirmed for 48 hours; the next apply then subscribes the "
            "address again, with a new link."
        )
    elif wanted:
        lines.append(
            f"- `{wanted}`: not subscribed (SNS deletes a subscription left unconfirmed for 48 hours): the next "
            "apply subscribes it and SNS e-mails a confirmation link; until it is followed, **waiting for "
            "confirmation**."
        )
    lines += [
        f"- `{address}`: subscribed, but not the configured address: the next apply unsubscribes it."
        for address in state.unwanted
    ]
    lines += [
        f"- `{address}`: waiting for confirmation, but not the configured address: SNS cannot unsubscribe it "
        "and deletes it after 48 hours unless it is confirmed (the next apply then unsubscribes it)."
        for address in state.expiring
    ]
    return lines
