"""What earlier versions of the stack managed and this one no longer does, and what becomes of
it in the deployments they made: Terraform `removed` blocks, which a fresh deployment ignores.

The alarm e-mail subscription was an `aws_sns_topic_subscription` until SNS's deletion of
unconfirmed subscriptions made it a create in every plan (deploy/alarm_email.py manages it
now, outside Terraform). A deployment made before forgets it without unsubscribing: a
confirmed address stays subscribed, and needs no new confirmation e-mail.
"""

from .framework import TerraformStack

FORGOTTEN_ADDRESSES = ("aws_sns_topic_subscription.monitoring_alarm_email_49646F11",)


def forget_retired_resources(stack: TerraformStack) -> None:
    stack.add_override(
        "removed", [{"from": address, "lifecycle": {"destroy": False}} for address in FORGOTTEN_ADDRESSES]
    )
