"""ReviewsApi: the REST API in front of the function, its stage, logging and the storefront's key."""

import hashlib
import json

from constructs import Construct

from handlers.reviews import contract

from .aws import (
    api_gateway_account,
    api_gateway_api_key,
    api_gateway_deployment,
    api_gateway_method_settings,
    api_gateway_rest_api,
    api_gateway_stage,
    api_gateway_usage_plan,
    api_gateway_usage_plan_key,
    cloudwatch_log_group,
    iam_role,
    iam_role_policy_attachment,
    lambda_permission,
)
from .config import ApiConfig, TargetConfig
from .framework import ITerraformDependable, TerraformResourceLifecycle
from .function import ReviewsFunction
from .iam import assume_role_policy
from .lifecycle import replaced_with
from .openapi import api_gateway_definition, invoke_uri

# One JSON object per request; no bodies, no query strings (they can hold customer text).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integration.error",
        "apiKeyId": "$context.identity.apiKeyId",
        "xrayTraceId": "$context.xrayTraceId",
    }
)
PUSH_TO_CLOUDWATCH_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
USER_POOL_PLACEHOLDER = "<user pool ARN>"


class ReviewsApi(Construct):
    """Exposes `name`, `stage_name`, `rest_api_id`, `url` and `api_key_id`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        config: ApiConfig,
        target: TargetConfig,
        function: ReviewsFunction,
        user_pool_arn: str,
    ):
        """`user_pool_arn`: the pool whose ID tokens authorize the writes."""
        super().__init__(scope, id)
        self.config = config
        self.name = config.name
        self.stage_name = config.stage_name

        def definition(pool_arn: str) -> str:
            uri = invoke_uri(target.region, target.account_id, function.name)
            return json.dumps(api_gateway_definition(config.name, uri, config.cors_origins, pool_arn))

        body = definition(user_pool_arn)
        api = api_gateway_rest_api.ApiGatewayRestApi(
            self,
            "api",
            name=config.name,
            description="Product Reviews API",
            body=body,
            put_rest_api_mode="overwrite",
            endpoint_configuration=api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        deployment = api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=api.id,
            # A new deployment whenever the definition changes; the stage moves to it before the
            # old one is deleted. Besides the REST API it depends only on the user pool, whose
            # name need not be unique (see openapi.invoke_uri). The body names the pool by a
            # reference, known only at apply: the hash covers the rest (with a placeholder in
            # its place, so it depends on the definition alone) and the ARN is a trigger itself.
            triggers={
                "redeployment": hashlib.sha1(definition(USER_POOL_PLACEHOLDER).encode()).hexdigest(),
                "user_pool": user_pool_arn,
            },
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        stage = self._stage(api, deployment)
        self._invoke_permission(api, function)
        self.api_key_id = self._storefront_key(api, stage)
        self.rest_api_id = api.id
        self.url = stage.invoke_url

    def _stage(
        self, api: api_gateway_rest_api.ApiGatewayRestApi, deployment: api_gateway_deployment.ApiGatewayDeployment
    ) -> api_gateway_stage.ApiGatewayStage:
        """The stage with X-Ray, JSON access logs, execution logs and throttling."""
        config = self.config
        access_logs = cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "access_logs",
            name=f"/aws/apigateway/{config.name}/access",
            retention_in_days=config.log_retention_days,
        )
        # API Gateway writes execution logs here; creating it first gives it a retention.
        execution_logs = cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "execution_logs",
            name=f"API-Gateway-Execution-Logs_{api.id}/{config.stage_name}",
            retention_in_days=config.log_retention_days,
        )
        dependencies: list[ITerraformDependable] = [execution_logs]
        if config.manage_account_logging_role:
            dependencies.append(self._account_logging_role())
        stage = api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            rest_api_id=api.id,
            deployment_id=deployment.id,
            stage_name=config.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            depends_on=dependencies,
        )
        api_gateway_method_settings.ApiGatewayMethodSettings(
            self,
            "method_settings",
            rest_api_id=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            lifecycle=replaced_with(stage),
            settings=api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                throttling_rate_limit=config.throttle_rate,
                throttling_burst_limit=config.throttle_burst,
                metrics_enabled=True,
                logging_level="INFO",
                # Request and response bodies hold customer text: never log them.
                data_trace_enabled=False,
            ),
        )
        return stage

    def _invoke_permission(self, api: api_gateway_rest_api.ApiGatewayRestApi, function: ReviewsFunction) -> None:
        """Lets the stage invoke the function (a replaced function loses this resource policy)."""
        lambda_permission.LambdaPermission(
            self,
            "invoke",
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{api.execution_arn}/{self.config.stage_name}/*/*",
            lifecycle=replaced_with(function.function),
        )

    def _storefront_key(
        self, api: api_gateway_rest_api.ApiGatewayRestApi, stage: api_gateway_stage.ApiGatewayStage
    ) -> str:
        """The storefront application's API key, which every write carries, in a usage plan with
        throttling and a daily quota. It identifies the application; the reviewer is the token's."""
        config = self.config
        key = api_gateway_api_key.ApiGatewayApiKey(
            self,
            "storefront_key",
            name=f"{config.name}-storefront",
            description=f"Sent as {contract.API_KEY_HEADER} by the storefront with every write",
            enabled=True,
        )
        plan = api_gateway_usage_plan.ApiGatewayUsagePlan(
            self,
            "usage_plan",
            name=f"{config.name}-storefront",
            api_stages=[api_gateway_usage_plan.ApiGatewayUsagePlanApiStages(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=api_gateway_usage_plan.ApiGatewayUsagePlanThrottleSettings(
                rate_limit=config.throttle_rate, burst_limit=config.throttle_burst
            ),
            quota_settings=api_gateway_usage_plan.ApiGatewayUsagePlanQuotaSettings(
                limit=config.api_key_quota_per_day, period="DAY"
            ),
            lifecycle=replaced_with(stage),
        )
        api_gateway_usage_plan_key.ApiGatewayUsagePlanKey(
            self, "usage_plan_key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id
        )
        return key.id

    def _account_logging_role(self) -> api_gateway_account.ApiGatewayAccount:
        """The account-wide role API Gateway logs through: one per account and region, so
        turn it off (REVIEWS_MANAGE_API_GATEWAY_ACCOUNT=false) where something else owns it."""
        role = iam_role.IamRole(
            self,
            "cloudwatch_role",
            name=f"{self.config.name}-cloudwatch",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        )
        iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "cloudwatch_role_policy",
            role=role.name,
            policy_arn=PUSH_TO_CLOUDWATCH_POLICY,
            lifecycle=replaced_with(role),
        )
        return api_gateway_account.ApiGatewayAccount(self, "account", cloudwatch_role_arn=role.arn)
