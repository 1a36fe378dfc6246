"""ReviewsStack: the whole Product Reviews API, read top to bottom like its architecture."""

from constructs import Construct

from .api import ReviewsApi
from .config import StackConfig
from .framework import TerraformOutput, TerraformStack
from .function import ReviewsFunction
from .identity import ReviewerIdentity
from .migrations import forget_retired_resources
from .monitoring import ReviewsMonitoring
from .parameters import ReviewsParameters
from .provider import ProviderAndBackend
from .table import ReviewsTable


class ReviewsStack(TerraformStack):
    def __init__(self, scope: Construct, config: StackConfig):
        super().__init__(scope, config.stack_name)
        ProviderAndBackend(self, "target", config)
        forget_retired_resources(self)

        table = ReviewsTable(self, "table", config.table)
        function = ReviewsFunction(self, "function", config.function, table.name)
        table.grant_handler_access(function.role)
        identity = ReviewerIdentity(self, "identity", config.identity)
        api = ReviewsApi(self, "api", config.api, config.target, function, identity.user_pool_arn)
        ReviewsMonitoring(
            self,
            "monitoring",
            config.monitoring,
            target=config.target,
            api=api,
            function=function,
            table=table,
        )
        ReviewsParameters(
            self,
            "parameters",
            config.parameter_prefix,
            {
                "api/throttle-limit": (str(config.api.throttle_rate), "API stage throttle, requests per second"),
                "api/gateway-id": (api.rest_api_id, "REST API id"),
                "dynamodb/table-arn": (table.arn, "Reviews table ARN"),
                "lambda/function-arn": (function.arn, "Reviews handler function ARN"),
                "cognito/user-pool-id": (identity.user_pool_id, "Reviewers' Cognito user pool id"),
                "cognito/storefront-client-id": (identity.client_id, "Storefront's Cognito app client id"),
            },
        )

        # The local target has no execute-api URL: clients use the local gateway instead.
        api_url = config.target.local_api_url if config.target.is_local else api.url
        TerraformOutput(self, "api_url", value=api_url, description="URL of the API stage")
        TerraformOutput(self, "rest_api_id", value=api.rest_api_id, description="REST API id")
        TerraformOutput(self, "stage_name", value=api.stage_name, description="API stage name")
        TerraformOutput(self, "table_name", value=table.name, description="Reviews table name")
        TerraformOutput(self, "function_arn", value=function.arn, description="Handler function ARN")
        TerraformOutput(
            self,
            "api_key_id",
            value=api.api_key_id,
            description="Id of the storefront API key; read its value with "
            "`aws apigateway get-api-key --include-value --api-key <id>`",
        )
        # Not a resource (deploy/alarm_email.py), but part of the configuration a plan is made
        # from: a reviewed plan is applied with the address it was reviewed with.
        TerraformOutput(
            self,
            "alarm_email",
            value=config.monitoring.alarm_email or "",
            description="Subscribed to the alarm topic by `python -m deploy apply` and `make up`",
        )
        self._sign_in_outputs(identity)

    def _sign_in_outputs(self, identity: ReviewerIdentity) -> None:
        """What a sign-in page needs (none of it is secret: the app client has no secret)."""
        TerraformOutput(
            self, "user_pool_id", value=identity.user_pool_id, description="Reviewers' Cognito user pool id"
        )
        TerraformOutput(
            self,
            "user_pool_client_id",
            value=identity.client_id,
            description="The storefront's Cognito app client id (no secret)",
        )
        TerraformOutput(
            self,
            "user_pool_issuer",
            value=identity.issuer,
            description="`iss` of the pool's tokens; its JWKS is <issuer>/.well-known/jwks.json",
        )
