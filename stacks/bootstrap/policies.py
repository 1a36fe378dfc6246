"""What an environment's CI roles may do, and the most any role its deploy role creates may do.

Three functions, each taking one PolicyScope (everything a policy names, derived from the
environment's own configuration) and returning an IAM policy document:

- plan_role_policy: the read-only plan role (pull requests, the deploy's plan jobs, drift);
- deploy_role_policy: the deploy role (the apply job, only after approval);
- permissions_boundary: the boundary the deploy role must put on every role it creates.

The CI roles' statements are derived from the evidence, not written here: every AWS call the
stack's lifecycle made on the emulator, mapped to IAM permissions (iam_evidence/recorded/,
docs/iam.md), renamed from the recording's scope to this one (iam_evidence/roles.py).
tests/test_iam_roles.py proves each role allows every recorded call and no write it did not need.

The environment stack (stacks/bootstrap/ci_roles.py) attaches them, and docs/bootstrap.md
shows them rendered for an example environment (`make docs`; a test fails when it is stale).
"""

import functools
from dataclasses import dataclass

from handlers.reviews import contract
from iam_evidence import roles
from stacks.config import StackConfig
from stacks.iam import Policy, allow, deny, policy

from .config import deploy_role_name, plan_role_name


@dataclass(frozen=True)
class PolicyScope:
    """The account, region and names of one environment's resources, as the app deploys them."""

    account_id: str
    region: str
    environment: str
    table_name: str
    function_name: str  # also the prefix of the function's role: <function_name>-role
    api_name: str
    api_stage_name: str
    parameter_prefix: str  # /productreviews/<env>/
    monitoring_prefix: str  # alarms, dashboard, alarm topic and its key alias: ProductReviews-<env>
    state_bucket: str
    state_key: str  # the app's state object in the bucket
    state_kms_key_arn: str  # encrypts the state bucket
    plan_kms_key_arn: str  # encrypts saved plans between CI's plan and apply jobs
    permissions_boundary_arn: str

    @classmethod
    def of(cls, config: StackConfig, *, state_kms_key_arn: str, plan_kms_key_arn: str) -> "PolicyScope":
        return cls(
            account_id=config.target.account_id,
            region=config.target.region,
            environment=config.environment,
            table_name=config.table.name,
            function_name=config.function.name,
            api_name=config.api.name,
            api_stage_name=config.api.stage_name,
            parameter_prefix=config.parameter_prefix,
            monitoring_prefix=config.monitoring.name_prefix,
            state_bucket=config.backend.bucket,
            state_key=config.backend.key,
            state_kms_key_arn=state_kms_key_arn,
            plan_kms_key_arn=plan_kms_key_arn,
            permissions_boundary_arn=config.function.permissions_boundary_arn,
        )

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"

    @property
    def table_arns(self) -> list[str]:
        table = self.arn("dynamodb", f"table/{self.table_name}")
        return [table, f"{table}/index/*"]

    @property
    def log_group_arns(self) -> list[str]:
        """The function's, the API's access and execution log groups (the API id is not known
        before it exists), with their streams."""
        names = [
            f"/aws/lambda/{self.function_name}",
            f"/aws/apigateway/{self.api_name}/access",
            f"API-Gateway-Execution-Logs_*/{self.api_stage_name}",
        ]
        return [self.arn("logs", f"log-group:{name}{streams}") for name in names for streams in ("", ":*")]

    @property
    def state_object_arns(self) -> list[str]:
        """The state and its lock file (use_lockfile)."""
        return [
            f"arn:aws:s3:::{self.state_bucket}/{self.state_key}",
            f"arn:aws:s3:::{self.state_bucket}/{self.state_key}.tflock",
        ]

    @property
    def function_role_arn(self) -> str:
        return self.arn("iam", f"role/{self.function_name}-*", region=False)


# S3 encrypts and decrypts the state with the state key (SSE-KMS) in the caller's name: no
# request to the emulator shows it when the bucket's default encryption picks the key, so it is
# granted here, and only through S3 (kms:ViaService).
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
STATE_KEY_ACTIONS = {"plan": ["kms:Decrypt"], "deploy": ["kms:Decrypt", "kms:GenerateDataKey"]}
# What the deploy role may never do, whatever a statement allows: change the boundary, create
# or widen a role without it, or touch the CI roles.
BOUNDARY_CHANGES = [
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
]
ROLE_CHANGES = ["iam:AttachRolePolicy", "iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]
# Nor disable, delete or re-grant the bootstrap's keys: the alarm topic's key is created before
# its id is known, so the recorded key administration is allowed on every key of the region.
KEY_ADMINISTRATION = [
    "kms:CreateGrant",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
]


def plan_role_policy(scope: PolicyScope) -> Policy:
    """What the recorded plans, seals and drift checks needed (iam_evidence/recorded/,
    docs/iam.md), and S3 decrypting the state. Its one write, a sealed plan's data key from the
    plan key, is in the evidence too."""
    return _with_state_key("plan", scope, _recorded("plan", scope))


def deploy_role_policy(scope: PolicyScope) -> Policy:
    """What the recorded applies and destroy needed (iam_evidence/recorded/), S3 using the state
    key, and denials that hold whatever is allowed."""
    return _with_state_key("deploy", scope, [*_recorded("deploy", scope), *_deploy_role_denials(scope)])


@functools.cache
def recording_scope() -> PolicyScope:
    """The scope the evidence was recorded in: the local target's names, and the keys it used."""
    return PolicyScope.of(roles.recording_config(), **roles.recorded_keys())


def _recorded(role: str, scope: PolicyScope) -> list[Policy]:
    return roles.role_statements(role, recording_scope(), scope)


def _with_state_key(role: str, scope: PolicyScope, statements: list[Policy]) -> Policy:
    """`statements`, and S3 using the state key for what they do not already allow (a recording
    whose backend names the key shows S3 using it; the bucket's default encryption does not)."""
    on_key = [s["Action"] for s in statements if s["Resource"] == scope.state_kms_key_arn]
    granted = {action for actions in on_key if isinstance(actions, list) for action in actions}
    missing = [action for action in STATE_KEY_ACTIONS[role] if action not in granted]
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}}
    state_key = [allow(missing, scope.state_kms_key_arn, sid="StateKeyThroughS3", Condition=via_s3)] if missing else []
    return policy(*statements, *state_key)


def _deploy_role_denials(scope: PolicyScope) -> list[Policy]:
    ci_roles = [
        scope.arn("iam", f"role/{name(scope.environment)}", region=False) for name in (plan_role_name, deploy_role_name)
    ]
    return [
        deny(BOUNDARY_CHANGES, scope.permissions_boundary_arn, sid="NoChangeToTheBoundary"),
        deny(
            ROLE_CHANGES,
            "*",
            sid="NoRoleWithoutTheBoundary",
            Condition={"ArnNotEquals": {"iam:PermissionsBoundary": scope.permissions_boundary_arn}},
        ),
        deny(["iam:DeleteRolePermissionsBoundary"], "*", sid="NoBoundaryRemoved"),
        deny(["iam:*"], ci_roles, sid="NoChangeToTheCiRoles"),
        deny(KEY_ADMINISTRATION, [scope.state_kms_key_arn, scope.plan_kms_key_arn], sid="NoChangeToTheBootstrapKeys"),
    ]


def permissions_boundary(scope: PolicyScope) -> Policy:
    """The most a role the deploy role creates may ever do: the function's table, its logs,
    X-Ray. Whatever policy such a role is given, it gets no more than this."""
    return policy(
        allow(sorted({*contract.TABLE_ACTIONS, *contract.INDEX_ACTIONS}), scope.table_arns, sid="TheTable"),
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            scope.arn("logs", f"log-group:/aws/lambda/{scope.function_name}:*"),
            sid="TheFunctionLogs",
        ),
        allow(
            [
                "xray:GetSamplingRules",
                "xray:GetSamplingStatisticSummaries",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ],
            "*",
            sid="Tracing",
        ),
    )
