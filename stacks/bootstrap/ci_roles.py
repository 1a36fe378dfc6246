"""CiRoles: an environment's plan role and deploy role, whom each trusts (trust.py) and what each
may do (policies.py), and the permissions boundary of every role the deploy role creates."""

import json

from constructs import Construct

from stacks.aws import iam_policy, iam_role, iam_role_policy
from stacks.config import permissions_boundary_name

from .config import EnvironmentCiConfig, deploy_role_name, plan_role_name
from .policies import PolicyScope, deploy_role_policy, permissions_boundary, plan_role_policy
from .trust import deploy_role_trust, plan_role_trust

# One hour: a plan or an apply of this stack takes minutes.
MAX_SESSION_SECONDS = 3600


class CiRoles(Construct):
    """Exposes `plan_role` and `deploy_role`; `grant(scope)` gives them their policies, which
    name resources (the plan key) that need the roles first."""

    def __init__(self, scope: Construct, id: str, config: EnvironmentCiConfig):
        super().__init__(scope, id)
        environment = config.environment
        self.plan_role = iam_role.IamRole(
            self,
            "plan",
            name=plan_role_name(environment),
            description=f"Read-only plans of {environment}: pull requests, the deploy's plan jobs, drift checks",
            assume_role_policy=json.dumps(plan_role_trust(config.github)),
            max_session_duration=MAX_SESSION_SECONDS,
        )
        self.deploy_role = iam_role.IamRole(
            self,
            "deploy",
            name=deploy_role_name(environment),
            description=f"Applies reviewed plans of {environment}: the deploy workflow on main, after approval",
            assume_role_policy=json.dumps(deploy_role_trust(config.github, environment)),
            max_session_duration=MAX_SESSION_SECONDS,
        )
        self.environment = environment

    def grant(self, scope: PolicyScope) -> None:
        iam_policy.IamPolicy(
            self,
            "boundary",
            name=permissions_boundary_name(self.environment),
            description=f"The most any role created by {deploy_role_name(self.environment)} may do",
            policy=json.dumps(permissions_boundary(scope)),
        )
        for role, document in (
            (self.plan_role, plan_role_policy(scope)),
            (self.deploy_role, deploy_role_policy(scope)),
        ):
            iam_role_policy.IamRolePolicy(
                self, f"{role.friendly_unique_id}_policy", name="ci", role=role.name, policy=json.dumps(document)
            )
