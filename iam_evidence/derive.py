"""Policy statements derived from the evidence, for any environment.

The evidence names the recording's resources: its account, region and environment
(`record.ENVIRONMENT`), and the random ids the emulator gave what it created (a REST API, a
KMS key, a scalable target). `statements` turns a role's grants into IAM statements for
another environment:

- every name of the recording is replaced by the environment's (`replacements`: recorded
  value -> the environment's, from two scopes of the same shape, a key ARN included);
- every other id (renamed by the recording after its ARN part: RestApiId1, KeyId2) becomes
  `*`: ids are not known before the resources exist;
- condition keys that guard a permission (ENFORCED_CONDITIONS) become conditions with the
  values recorded, renamed the same way;
- a resource already covered by another of the same statement is dropped, and actions with
  the same resources and conditions share one statement.

An action the reference says cannot be scoped keeps `*`; nothing else does.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from .evaluate import resource_matches
from .grants import STABLE_ID, Grant

# Condition keys whose recorded values a policy must demand (any other context is informative).
ENFORCED_CONDITIONS = (
    "iam:PermissionsBoundary",
    "iam:PassedToService",
    "iam:AWSServiceName",
    "application-autoscaling:service-namespace",
    "kms:EncryptionContext:environment",
    "kms:ViaService",
)


def generalize(text: str, ids: Iterable[str], replacements: Mapping[str, str]) -> str:
    """`text` (an ARN, a condition value) for another environment: the recording's names are
    renamed (longest first: a key's whole ARN before the account in it), then what is left of
    its ids becomes `*`."""
    for recorded, wanted in sorted(replacements.items(), key=lambda item: len(item[0]), reverse=True):
        text = text.replace(recorded, wanted)
    for value in sorted(ids, key=len, reverse=True):
        text = text.replace(value, "*")
    return text


def statements(grants: Iterable[Grant], replacements: Mapping[str, str]) -> list[dict[str, Any]]:
    """IAM Allow statements granting exactly `grants`' actions on their resources, generalized.
    They carry no Sid: a role's inline policies share 10,240 characters, and what each
    statement is for is in the evidence (docs/iam.md)."""
    grants = list(grants)
    ids = {found for grant in grants for found in STABLE_ID.findall(grant.permission.resource)}
    wanted: dict[tuple[str, tuple[tuple[str, str], ...]], set[str]] = {}
    for grant in grants:
        permission = grant.permission
        conditions = tuple(
            (key, generalize(value, ids, replacements))
            for key, value in permission.context
            if key in ENFORCED_CONDITIONS
        )
        wanted.setdefault((permission.action, conditions), set()).add(
            generalize(permission.resource, ids, replacements)
        )
    grouped: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[str]] = {}
    for (action, conditions), resources in sorted(wanted.items()):
        grouped.setdefault((tuple(_minimal(resources)), conditions), []).append(action)
    return [
        _statement(actions, list(resources), conditions)
        for (resources, conditions), actions in sorted(grouped.items(), key=lambda item: item[1])
    ]


def _minimal(resources: set[str]) -> list[str]:
    """The resources no other one covers (`*` alone if any is `*`)."""
    return sorted(
        resource
        for resource in resources
        if not any(other != resource and resource_matches(other, resource) for other in resources)
    )


def _statement(actions: list[str], resources: list[str], conditions: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources[0] if len(resources) == 1 else resources,
    }
    if conditions:
        operators: dict[str, dict[str, str]] = {}
        for key, value in conditions:
            operator = "ArnEquals" if value.startswith("arn:") else "StringEquals"
            operators.setdefault(operator, {})[key] = value
        statement["Condition"] = operators
    return statement
