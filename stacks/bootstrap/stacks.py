"""The bootstrap's two stacks, read top to bottom like what they create (docs/bootstrap.md)."""

from constructs import Construct

from stacks.aws import data_aws_kms_alias
from stacks.framework import TerraformOutput, TerraformStack

from .api_gateway_logging import ApiGatewayLogging
from .ci_roles import CiRoles
from .config import STATE_KEY_ALIAS, AccountConfig, EnvironmentCiConfig, plan_key_alias
from .github_oidc import GitHubOidcProvider
from .plan_key import PlanKey
from .policies import PolicyScope
from .provider import BootstrapProvider
from .state_bucket import StateBucket


class AccountStack(TerraformStack):
    """What every environment of an account shares, in one region: API Gateway's logging role;
    in the state bucket's region also the bucket, its key and the GitHub OIDC provider."""

    def __init__(self, scope: Construct, config: AccountConfig):
        super().__init__(scope, config.stack_name)
        BootstrapProvider(self, "target", config.target, config.tags, config.backend)
        if config.owns_state_storage:
            state = StateBucket(self, "state", config.state, config.target.account_id)
            github = GitHubOidcProvider(self, "github", config.github)
            TerraformOutput(self, "state_bucket", value=state.bucket.bucket, description="Terraform state bucket")
            TerraformOutput(self, "state_kms_key_arn", value=state.key.arn, description="Key encrypting the states")
            TerraformOutput(self, "github_oidc_provider_arn", value=github.arn, description="GitHub OIDC provider")
        logging = ApiGatewayLogging(self, "api_gateway_logging", config.target.region)
        TerraformOutput(
            self, "api_gateway_cloudwatch_role_arn", value=logging.role_arn, description="API Gateway's logging role"
        )


class EnvironmentCiStack(TerraformStack):
    """One environment's CI identities: the plan and deploy roles, the key for its saved plans,
    the boundary of the roles its deploy role creates."""

    def __init__(self, scope: Construct, config: EnvironmentCiConfig):
        super().__init__(scope, config.stack_name)
        providers = BootstrapProvider(self, "target", config.app.target, dict(config.app.tags), config.backend)
        state_key = data_aws_kms_alias.DataAwsKmsAlias(
            self, "state_key", name=STATE_KEY_ALIAS, provider=providers.in_region(config.state.region)
        )
        roles = CiRoles(self, "roles", config)
        plan_key = PlanKey(self, "plan_key", config, roles.plan_role, roles.deploy_role)
        roles.grant(
            PolicyScope.of(config.app, state_kms_key_arn=state_key.target_key_arn, plan_kms_key_arn=plan_key.arn)
        )

        TerraformOutput(self, "plan_role_arn", value=roles.plan_role.arn, description="Read-only plan role")
        TerraformOutput(self, "deploy_role_arn", value=roles.deploy_role.arn, description="Deploy role")
        TerraformOutput(self, "plan_key_arn", value=plan_key.arn, description="Key encrypting saved plans")
        TerraformOutput(self, "plan_key_alias", value=plan_key_alias(config.environment), description="Its alias")
        TerraformOutput(
            self,
            "permissions_boundary_arn",
            value=config.app.function.permissions_boundary_arn,
            description="Boundary of the roles the deploy role creates",
        )
