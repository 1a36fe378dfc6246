"""What an environment's CI roles may do, and the most any role its deploy role creates may do.

Three functions, each taking one PolicyScope (everything a policy names, derived from the
environment's own configuration) and returning an IAM policy document:

- plan_role_policy: the read-only plan role (pull requests, the deploy's plan jobs, drift);
- deploy_role_policy: the deploy role (the apply job, only after approval);
- permissions_boundary: the boundary the deploy role must put on every role it creates.

The environment stack (stacks/bootstrap/ci_roles.py) attaches them, and docs/bootstrap.md
shows them rendered for an example environment (`make docs`; a test fails when it is stale).
"""

from dataclasses import dataclass

from handlers.reviews import contract
from stacks.config import StackConfig
from stacks.iam import Policy, allow, policy


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


READ_ONLY_ACTIONS = [
    "apigateway:GET",
    "application-autoscaling:Describe*",
    "application-autoscaling:ListTagsForResource",
    "cloudwatch:Describe*",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListTagsForResource",
    "dynamodb:Describe*",
    "dynamodb:List*",
    "iam:Get*",
    "iam:List*",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "lambda:Get*",
    "lambda:List*",
    "logs:Describe*",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "sns:Get*",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "ssm:DescribeParameters",
    "ssm:GetParameter*",
    "ssm:ListTagsForResource",
    "sts:GetCallerIdentity",
]


def plan_role_policy(scope: PolicyScope) -> Policy:
    """Reads the stack and its state; writes nothing but encrypted plans (plans run -lock=false)."""
    return policy(
        allow(READ_ONLY_ACTIONS, "*", sid="ReadTheStack"),
        allow(["s3:ListBucket"], f"arn:aws:s3:::{scope.state_bucket}", sid="ListTheStateBucket"),
        allow(["s3:GetObject"], scope.state_object_arns[0], sid="ReadTheState"),
        allow(["kms:Decrypt"], scope.state_kms_key_arn, sid="DecryptTheState"),
        allow(
            ["kms:GenerateDataKey"],
            scope.plan_kms_key_arn,
            sid="EncryptPlansOfThisEnvironment",
            Condition={"StringEquals": {"kms:EncryptionContext:environment": scope.environment}},
        ),
    )


def deploy_role_policy(scope: PolicyScope) -> Policy:
    """Creates, changes and deletes the stack's resources; reads and writes its state; decrypts
    the reviewed plan. Roles it creates carry the permissions boundary, which it cannot remove."""
    return policy(
        allow(["s3:ListBucket"], f"arn:aws:s3:::{scope.state_bucket}", sid="ListTheStateBucket"),
        allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], scope.state_object_arns, sid="ReadAndWriteTheState"),
        allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], scope.state_kms_key_arn, sid="UseTheStateKey"),
        allow(
            ["kms:Decrypt"],
            scope.plan_kms_key_arn,
            sid="DecryptPlansOfThisEnvironment",
            Condition={"StringEquals": {"kms:EncryptionContext:environment": scope.environment}},
        ),
        allow(["apigateway:*"], scope.arn("apigateway", "/*", account=False), sid="ManageTheApi"),
        allow(["dynamodb:*"], scope.table_arns, sid="ManageTheTable"),
        allow(["application-autoscaling:*"], "*", sid="ManageTheScaling"),
        allow(["lambda:*"], scope.arn("lambda", f"function:{scope.function_name}"), sid="ManageTheFunction"),
        allow(["lambda:GetAccountSettings"], "*", sid="ReadTheConcurrencyLimit"),
        allow(["logs:*"], scope.log_group_arns, sid="ManageTheLogs"),
        allow(
            ["cloudwatch:*"],
            [
                scope.arn("cloudwatch", f"alarm:{scope.monitoring_prefix}-*"),
                scope.arn("cloudwatch", f"dashboard/{scope.monitoring_prefix}", region=False),
            ],
            sid="ManageTheAlarmsAndDashboard",
        ),
        allow(["sns:*"], scope.arn("sns", f"{scope.monitoring_prefix}-*"), sid="ManageTheTopic"),
        allow(["ssm:*"], scope.arn("ssm", f"parameter{scope.parameter_prefix}*"), sid="ManageTheParameters"),
        *_alarm_topic_key_statements(scope),
        *_function_role_statements(scope),
        allow(["sts:GetCallerIdentity"], "*", sid="WhoAmI"),
    )


def _alarm_topic_key_statements(scope: PolicyScope) -> list[Policy]:
    """The alarm topic's key: created before it has a tag or alias to scope by, then managed
    only while tagged as this project's."""
    return [
        allow(
            ["kms:CreateKey", "kms:CreateAlias", "kms:TagResource", "kms:ListAliases"],
            "*",
            sid="CreateTheAlarmTopicKey",
        ),
        allow(
            [
                "kms:DeleteAlias",
                "kms:DescribeKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:UntagResource",
                "kms:UpdateAlias",
            ],
            "*",
            sid="ManageTheAlarmTopicKey",
            Condition={"StringEquals": {"aws:ResourceTag/Project": "ProductReviews"}},
        ),
    ]


def _function_role_statements(scope: PolicyScope) -> list[Policy]:
    """The function's role: created only with the boundary, which no statement lets it remove."""
    role = scope.function_role_arn
    return [
        allow(
            ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            role,
            sid="CreateRolesOnlyWithTheBoundary",
            Condition={"StringEquals": {"iam:PermissionsBoundary": scope.permissions_boundary_arn}},
        ),
        allow(
            [
                "iam:AttachRolePolicy",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateRole",
            ],
            role,
            sid="ManageTheFunctionRole",
        ),
        allow(
            ["iam:PassRole"],
            role,
            sid="PassTheFunctionRoleToLambda",
            Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
        allow(
            ["iam:CreateServiceLinkedRole"],
            "*",
            sid="LetAutoscalingCreateItsRole",
            Condition={"StringEquals": {"iam:AWSServiceName": "dynamodb.application-autoscaling.amazonaws.com"}},
        ),
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
