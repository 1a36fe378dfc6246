"""Permissions a call needs beyond its own action, which no request to the emulator shows:
AWS checks them on the caller's behalf. Each rule says where AWS documents it.

- passing a role to a service (iam:PassRole, with iam:PassedToService);
- S3 objects encrypted with a customer managed KMS key (SSE-KMS): writing one needs
  kms:GenerateDataKey on the key, reading it kms:Decrypt;
- a target-tracking scaling policy: Application Auto Scaling creates and deletes CloudWatch
  alarms named TargetTracking-<resource id>-... with the caller's permissions;
- the first scalable target of DynamoDB creates Application Auto Scaling's service-linked role.

`lifecycle_permissions` applies them over a whole recording, which also tells the permissions
boundary of every role a call touches (iam:PermissionsBoundary) from the call that created it,
and the key of every object from the call that wrote it.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from .mapping import PARTITION, Call, Permission, operation_permissions, resource_permissions
from .reference import privilege

PASS_ROLE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"
SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
TARGET_TRACKING_ALARMS = (
    "https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_id-based-policy-examples.html"
)
SERVICE_LINKED_ROLE = (
    "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html"
)
DYNAMODB_SCALING_SERVICE = "dynamodb.application-autoscaling.amazonaws.com"
DYNAMODB_SCALING_ROLE = (
    f"aws-service-role/{DYNAMODB_SCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"
)


@dataclass(frozen=True)
class Lifecycle:
    """What the whole recording tells about each of its calls, whichever role made them."""

    boundaries: dict[str, str]  # role name -> the permissions boundary it was created with
    # (bucket, key) -> the KMS key it is written with: its id or alias, and the key an alias names
    object_keys: dict[tuple[str, str], dict[str, str]]

    @classmethod
    def of(cls, calls: Iterable[Call]) -> "Lifecycle":
        calls = list(calls)
        return cls(
            boundaries={
                call.parameters["RoleName"]: call.parameters["PermissionsBoundary"]
                for call in calls
                if call.operation in ("CreateRole", "PutRolePermissionsBoundary")
                and "PermissionsBoundary" in call.parameters
            },
            object_keys={
                (call.parameters["Bucket"], call.parameters["Key"]): {
                    "KeyId": call.parameters["SSEKMSKeyId"],
                    **{name: call.parameters[name] for name in ("AliasTargetKeyArn",) if name in call.parameters},
                }
                for call in calls
                if (call.service, call.operation) == ("s3", "PutObject") and "SSEKMSKeyId" in call.parameters
            },
        )


def lifecycle_permissions(
    calls: Iterable[Call], lifecycle: Lifecycle | None = None
) -> Iterator[tuple[Call, Permission]]:
    """Every permission each call needs, its own and implied; `lifecycle` (default: of `calls`)
    tells the boundaries of roles and the keys of objects other calls created."""
    calls = list(calls)
    lifecycle = lifecycle or Lifecycle.of(calls)
    for call in calls:
        for permission in operation_permissions(call):
            yield call, _with_role_boundary(call, permission, lifecycle)
        for rule in IMPLIED:
            for permission in rule(call, lifecycle):
                yield call, permission


def _with_role_boundary(call: Call, permission: Permission, lifecycle: Lifecycle) -> Permission:
    """IAM sets iam:PermissionsBoundary to the boundary of the role acted on."""
    boundary = lifecycle.boundaries.get(call.parameters.get("RoleName", ""))
    context = dict(permission.context)
    if boundary and "iam:PermissionsBoundary" in privilege(permission.action).condition_keys:
        context.setdefault("iam:PermissionsBoundary", boundary)
    return replace(permission, context=tuple(sorted(context.items())))


def _passed_roles(call: Call, lifecycle: Lifecycle) -> list[Permission]:
    if call.service == "lambda" and call.operation in ("CreateFunction", "UpdateFunctionConfiguration"):
        roles, service = [call.parameters.get("Role")], "lambda.amazonaws.com"
    elif call.service == "apigateway" and call.operation == "UpdateAccount":
        patches = call.parameters.get("patchOperations", [])
        roles, service = (
            [p.get("value") for p in patches if p.get("path") == "/cloudwatchRoleArn"],
            "apigateway.amazonaws.com",
        )
    else:
        return []
    return [
        permission
        for role in roles
        if role
        for permission in resource_permissions(
            Call("iam", "PassRole", call.region, call.account, parameters={"RoleArn": role}),
            privilege("iam:PassRole"),
            source=PASS_ROLE,
            context={"iam:PassedToService": service},
        )
    ]


def _encryption_keys(call: Call, lifecycle: Lifecycle) -> list[Permission]:
    if call.service != "s3":
        return []
    target = (call.parameters.get("Bucket", ""), call.parameters.get("Key", ""))
    action = {"PutObject": "kms:GenerateDataKey", "GetObject": "kms:Decrypt"}.get(call.operation)
    if not action or target not in lifecycle.object_keys:
        return []
    key = Call("kms", action, call.region, call.account, parameters=lifecycle.object_keys[target])
    through_s3 = {"kms:ViaService": f"s3.{call.region}.amazonaws.com"}  # S3 asks KMS in the caller's name
    return resource_permissions(key, privilege(action), source=SSE_KMS, context=through_s3)


def _target_tracking_alarms(call: Call, lifecycle: Lifecycle) -> list[Permission]:
    if call.service != "application-autoscaling":
        return []
    actions = {
        "PutScalingPolicy": ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"),
        "DeleteScalingPolicy": ("cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"),
    }.get(call.operation, ())
    name = f"TargetTracking-{call.parameters.get('ResourceId')}-*"
    alarms = f"arn:{PARTITION}:cloudwatch:{call.region}:{call.account}:alarm:{name}"
    return [Permission(action, alarms, "alarm", source=TARGET_TRACKING_ALARMS) for action in actions]


def _scaling_service_role(call: Call, lifecycle: Lifecycle) -> list[Permission]:
    if (call.service, call.operation) != ("application-autoscaling", "RegisterScalableTarget"):
        return []
    if call.parameters.get("ServiceNamespace") != "dynamodb":
        return []
    role = f"arn:{PARTITION}:iam::{call.account}:role/{DYNAMODB_SCALING_ROLE}"
    context = (("iam:AWSServiceName", DYNAMODB_SCALING_SERVICE),)
    return [Permission("iam:CreateServiceLinkedRole", role, "role", context, SERVICE_LINKED_ROLE)]


IMPLIED: tuple[Callable[[Call, Lifecycle], list[Permission]], ...] = (
    _passed_roles,
    _encryption_keys,
    _target_tracking_alarms,
    _scaling_service_role,
)
