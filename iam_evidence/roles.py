"""The CI roles' statements for one environment, derived from the evidence
(stacks/bootstrap/policies.py builds the role policies from them).

A role's statements grant exactly what its recorded calls needed (iam_evidence/derive.py),
renamed from the recording's scope to the environment's: `recorded_scope()` gives the names
the recording used, with the KMS keys it found in the evidence (the plan key the plan role
encrypted with, the state key S3 used), so that the environment's keys take their place.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from stacks.config import ENVIRONMENTS_DIR, StackConfig, load_config

from . import derive
from .grants import Grant, recorded_grants

ENVIRONMENT = "iamevidence"  # a name no other word contains: the policies find it in ARNs
# Settings that give the stack every resource it can have: an alarm subscription, provisioned
# capacity with autoscaling.
SETTINGS = {
    "REVIEWS_REPOSITORY": "example-org/product-reviews-api",  # the bootstrap's roles trust its workflows
    "REVIEWS_ALARM_EMAIL": "alarms@example.com",
    "REVIEWS_BILLING_MODE": "provisioned",
    "REVIEWS_DELETION_PROTECTION": "false",
}
# Stands for a key the recording did not use: no ARN contains it.
UNUSED_KEY = "arn:aws:kms:none:000000000000:key/not-recorded"


def recording_config() -> StackConfig:
    """The configuration the evidence was recorded with (the local target, `record.SETTINGS`)."""
    settings = {**SETTINGS, "ENVIRONMENT_SUFFIX": ENVIRONMENT, "REVIEWS_TARGET": "local"}
    return load_config({}, settings, ENVIRONMENTS_DIR)


def recorded_keys(grants: list[Grant] | None = None) -> dict[str, str]:
    """The KMS keys the recording used: the plan key (whose data keys carry an encryption
    context naming the environment) and the state key (used for S3's SSE-KMS)."""
    grants = recorded_grants() if grants is None else grants
    plan = {
        g.permission.resource
        for g in grants
        if g.permission.action == "kms:GenerateDataKey"
        and "kms:EncryptionContext:environment" in dict(g.permission.context)
    }
    state = {
        g.permission.resource
        for g in grants
        if g.permission.action.startswith("kms:") and "s3:" in " ".join(g.operations)
    }
    return {"plan_kms_key_arn": min(plan, default=UNUSED_KEY), "state_kms_key_arn": min(state, default=UNUSED_KEY)}


def role_statements(role: str, recorded: Any, wanted: Any) -> list[dict[str, Any]]:
    """`role`'s statements for the scope `wanted`; `recorded` is the same kind of scope (a
    dataclass of names) for the recording. Every string field of `recorded` is renamed to the
    field of `wanted`."""
    grants = [grant for grant in recorded_grants() if grant.role == role]
    return derive.statements(grants, renaming(recorded, wanted))


def renaming(recorded: Any, wanted: Any) -> Mapping[str, str]:
    pairs = zip(dataclasses.astuple(recorded), dataclasses.astuple(wanted), strict=True)
    return {old: new for old, new in pairs if isinstance(old, str) and isinstance(new, str) and old != new}
