"""The CI roles and the permissions boundary (stacks/bootstrap/policies.py), checked against the
evidence (iam_evidence/recorded/) with the IAM evaluator (iam_evidence/evaluate.py):

- every recorded call is allowed to the role that made it, action and resource both;
- the plan role writes nothing but a sealed plan's data key with the plan key (and S3 decrypts
  the state with the state key: the documented exception);
- the deploy role writes nothing its recorded calls did not need, creates and changes roles
  only under the boundary, cannot change the boundary, the CI roles or the bootstrap's keys,
  passes roles to Lambda only;
- the boundary lets a role it bounds do what the function needs, and nothing with IAM;
- every policy fits IAM's size limits.

Each check is also shown to fail on a policy that is too broad or too narrow.
"""

import copy
import json
import re
from typing import Any

import pytest
from policy_sentry.querying.actions import get_actions_for_service

from iam_evidence.evaluate import Request, action_matches, allows
from iam_evidence.grants import recorded_grants
from iam_evidence.reference import WRITE_ACCESS_LEVELS, privilege
from stacks.bootstrap.config import deploy_role_name, plan_role_name
from stacks.bootstrap.policies import (
    STATE_KEY_ACTIONS,
    PolicyScope,
    deploy_role_policy,
    permissions_boundary,
    plan_role_policy,
    recording_scope,
)
from stacks.config import load_config
from tests.conftest import AWS_SETTINGS, NO_ENVIRONMENT_FILES

# IAM quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
INLINE_POLICIES_PER_ROLE = 10_240  # characters of all inline policies of a role, whitespace excluded
MANAGED_POLICY = 6_144
POLICIES = {"plan": plan_role_policy, "deploy": deploy_role_policy}
Document = dict[str, Any]


def example_scope() -> PolicyScope:
    config = load_config({}, {**AWS_SETTINGS, "ENVIRONMENT_SUFFIX": "prod"}, NO_ENVIRONMENT_FILES)
    region, account = config.target.region, config.target.account_id
    return PolicyScope.of(
        config,
        state_kms_key_arn=f"arn:aws:kms:{region}:{account}:key/11111111-2222-3333-4444-555555555555",
        plan_kms_key_arn=f"arn:aws:kms:{region}:{account}:key/66666666-7777-8888-9999-000000000000",
    )


def as_document(policy: dict[str, object]) -> Document:
    return dict(policy)


def document(role: str, scope: PolicyScope) -> Document:
    return as_document(POLICIES[role](scope))


def refused(role: str, policy: Document) -> list[str]:
    """The recorded permissions of `role` that `policy` does not allow."""
    return [
        f"{g.permission.action} on {g.permission.resource} {dict(g.permission.context)}"
        for g in recorded_grants()
        if g.role == role
        and not allows([policy], Request(g.permission.action, g.permission.resource, dict(g.permission.context)))
    ]


@pytest.mark.parametrize("role", sorted(POLICIES))
def test_every_recorded_call_is_allowed_to_the_role_that_made_it(role):
    assert refused(role, document(role, recording_scope())) == []


def test_a_role_missing_a_recorded_action_or_scoped_too_narrowly_is_caught():
    policy = document("deploy", recording_scope())
    narrowed = copy.deepcopy(policy)
    for statement in narrowed["Statement"]:
        if "lambda:UpdateFunctionCode" in statement["Action"]:
            statement["Action"].remove("lambda:UpdateFunctionCode")
    assert any(line.startswith("lambda:UpdateFunctionCode") for line in refused("deploy", narrowed))
    scoped = copy.deepcopy(policy)
    for statement in scoped["Statement"]:
        if statement["Resource"] == "*" and statement["Effect"] == "Allow":
            statement["Resource"] = "arn:aws:logs:us-east-2:123456789012:log-group:/aws/lambda/*"
    assert any(line.startswith("logs:DescribeLogGroups on *") for line in refused("deploy", scoped))


def write_actions_allowed(policy: Document) -> dict[str, list]:
    """Every write action (Write, Permissions management or Tagging in the IAM reference) an
    Allow statement of `policy` names, with that statement's resources and conditions."""
    allowed: dict[str, list] = {}
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        assert "NotAction" not in statement, "NotAction allows every other action"
        patterns = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        for pattern in patterns:
            for name in get_actions_for_service(pattern.partition(":")[0]):
                if action_matches(pattern, name) and privilege(name).access_level in WRITE_ACCESS_LEVELS:
                    allowed.setdefault(name, []).append((statement["Resource"], statement.get("Condition")))
    return allowed


def plan_role_writes(scope: PolicyScope) -> dict[str, list]:
    """A sealed plan's data key from the plan key, for this environment's plans only; S3
    decrypting the state with the state key (kms:Decrypt counts as Write in the reference)."""
    return {
        "kms:GenerateDataKey": [
            (scope.plan_kms_key_arn, {"StringEquals": {"kms:EncryptionContext:environment": scope.environment}})
        ],
        "kms:Decrypt": [(scope.state_kms_key_arn, {"StringEquals": {"kms:ViaService": "s3.us-east-2.amazonaws.com"}})],
    }


def test_the_plan_role_writes_nothing_but_a_sealed_plans_data_key():
    scope = example_scope()
    assert write_actions_allowed(document("plan", scope)) == plan_role_writes(scope)


def test_a_plan_role_that_may_write_the_state_or_tag_is_caught():
    scope = example_scope()
    policy = document("plan", scope)
    policy["Statement"].append({"Effect": "Allow", "Action": ["s3:PutObject", "dynamodb:Tag*"], "Resource": "*"})
    assert set(write_actions_allowed(policy)) - set(plan_role_writes(scope)) == {"s3:PutObject", "dynamodb:TagResource"}


def deploy_writes_recorded() -> set[str]:
    return {g.permission.action for g in recorded_grants() if g.role == "deploy"} | set(STATE_KEY_ACTIONS["deploy"])


def test_the_deploy_role_writes_nothing_its_recorded_calls_did_not_need():
    allowed = set(write_actions_allowed(document("deploy", example_scope())))
    assert allowed - deploy_writes_recorded() == set()
    assert {"lambda:UpdateFunctionCode", "iam:CreateRole", "dynamodb:CreateTable", "kms:Decrypt"} <= allowed


def test_a_deploy_role_that_may_write_more_is_caught():
    policy = document("deploy", example_scope())
    policy["Statement"].append({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    assert "lambda:PublishLayerVersion" in set(write_actions_allowed(policy)) - deploy_writes_recorded()


def function_role(scope: PolicyScope) -> str:
    return scope.arn("iam", f"role/{scope.function_name}-role", region=False)


@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"])
def test_the_deploy_role_creates_and_widens_roles_only_under_the_boundary(action):
    scope = example_scope()
    policy = document("deploy", scope)
    role, managed = function_role(scope), "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    under = {"iam:PermissionsBoundary": scope.permissions_boundary_arn, "iam:PolicyARN": managed}
    assert allows([policy], Request(action, role, under))
    assert not allows([policy], Request(action, role, {"iam:PolicyARN": managed}))
    other = scope.arn("iam", "policy/AdministratorAccess", region=False)
    assert not allows([policy], Request(action, role, {**under, "iam:PermissionsBoundary": other}))


@pytest.mark.parametrize("action", ["iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"])
def test_the_deploy_role_cannot_replace_or_remove_a_boundary(action):
    scope = example_scope()
    other = {"iam:PermissionsBoundary": scope.arn("iam", "policy/AdministratorAccess", region=False)}
    assert not allows([document("deploy", scope)], Request(action, function_role(scope), other))


def test_a_deploy_role_that_creates_roles_without_the_boundary_is_caught():
    scope = example_scope()
    policy = document("deploy", scope)
    policy["Statement"] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    for statement in policy["Statement"]:
        if "iam:CreateRole" in statement["Action"]:
            statement.pop("Condition", None)
    assert allows([policy], Request("iam:CreateRole", function_role(scope)))


def test_the_deploy_role_cannot_change_the_boundary_or_the_ci_roles():
    scope = example_scope()
    policy = document("deploy", scope)
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert not allows([policy], Request(action, scope.permissions_boundary_arn))
    boundary = {"iam:PermissionsBoundary": scope.permissions_boundary_arn}
    for name in (plan_role_name(scope.environment), deploy_role_name(scope.environment)):
        ci_role = scope.arn("iam", f"role/{name}", region=False)
        for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"):
            assert not allows([policy], Request(action, ci_role, boundary)), (action, ci_role)


def test_the_deploy_role_cannot_delete_or_disable_the_bootstrap_keys_only_the_ones_it_manages():
    scope = example_scope()
    policy = document("deploy", scope)
    alarm_key = scope.arn("kms", "key/0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e")
    assert allows([policy], Request("kms:ScheduleKeyDeletion", alarm_key))
    for key in (scope.state_kms_key_arn, scope.plan_kms_key_arn):
        assert not allows([policy], Request("kms:ScheduleKeyDeletion", key)), key
    without_denials = {**policy, "Statement": [s for s in policy["Statement"] if s["Effect"] == "Allow"]}
    assert allows([without_denials], Request("kms:ScheduleKeyDeletion", scope.state_kms_key_arn))


@pytest.mark.parametrize("service", ["lambda.amazonaws.com", "ec2.amazonaws.com", "apigateway.amazonaws.com"])
def test_the_deploy_role_passes_the_function_role_to_lambda_only(service):
    scope = example_scope()
    request = Request("iam:PassRole", function_role(scope), {"iam:PassedToService": service})
    assert allows([document("deploy", scope)], request) is (service == "lambda.amazonaws.com")


def test_the_boundary_allows_what_the_function_needs_and_nothing_of_iam(synth):
    scope = example_scope()
    boundary = as_document(permissions_boundary(scope))
    [inline] = synth(ENVIRONMENT_SUFFIX="prod").terraform["resource"]["aws_iam_role_policy"].values()
    for statement in json.loads(inline["policy"])["Statement"]:
        resource = re.sub(r"\$\{aws_dynamodb_table\.[^}]+\.arn\}", scope.table_arns[0], statement["Resource"])
        for action in statement["Action"]:
            assert allows([boundary], Request(action, resource)), (action, resource)
    log_stream = scope.arn("logs", f"log-group:/aws/lambda/{scope.function_name}:log-stream:2026/01/01/x")
    assert allows([boundary], Request("logs:PutLogEvents", log_stream))
    assert allows([boundary], Request("xray:PutTraceSegments", "*"))
    assert not any(pattern.startswith(("iam:", "sts:")) for s in boundary["Statement"] for pattern in s["Action"])
    for action in (
        "iam:CreateRole",
        "iam:PassRole",
        "sts:AssumeRole",
        "dynamodb:DeleteTable",
        "lambda:UpdateFunctionCode",
    ):
        assert not allows([boundary], Request(action, "*")), action


def size(policy: Document) -> int:
    return len(json.dumps(policy, separators=(",", ":")))


@pytest.mark.parametrize(("name", "limit"), [("plan", INLINE_POLICIES_PER_ROLE), ("deploy", INLINE_POLICIES_PER_ROLE)])
def test_each_ci_roles_policy_fits_iams_limit_for_a_roles_inline_policies(name, limit):
    assert size(document(name, example_scope())) <= limit


def test_the_boundary_fits_iams_limit_for_a_managed_policy():
    assert size(as_document(permissions_boundary(example_scope()))) <= MANAGED_POLICY


def test_a_policy_over_the_limit_is_caught():
    grown = document("deploy", example_scope())
    grown["Statement"] += [{"Effect": "Allow", "Action": f"s3:GetObject{n}", "Resource": "*"} for n in range(300)]
    assert size(grown) > INLINE_POLICIES_PER_ROLE
