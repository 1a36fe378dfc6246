"""ReviewsApi: the REST API in front of the function, its stage, logging and API key."""

import json
import re

from cdktf import Fn, TerraformResourceLifecycle
from constructs import Construct

from handlers.reviews.routes import ROUTES, resource_paths

from .aws import (
    api_gateway_account, api_gateway_api_key, api_gateway_deployment, api_gateway_integration,
    api_gateway_method, api_gateway_method_settings, api_gateway_resource, api_gateway_rest_api,
    api_gateway_stage, api_gateway_usage_plan, api_gateway_usage_plan_key, cloudwatch_log_group,
    iam_role, iam_role_policy_attachment, lambda_permission,
)
from .config import ApiConfig
from .function import ReviewsFunction, assume_role_policy

# One JSON object per request; no bodies, no query strings (they can hold customer text).
ACCESS_LOG_FORMAT = json.dumps({
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
})
PUSH_TO_CLOUDWATCH_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def resource_tree() -> list[str]:
    """Every API Gateway resource the routes need, parents before children: /a, /a/{b}, /a/{b}/c."""
    paths = set()
    for route in ROUTES:
        parts = route.path.strip("/").split("/")
        paths.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(paths, key=lambda p: (p.count("/"), p))


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")


class ReviewsApi(Construct):
    """Exposes `name`, `rest_api_id`, `stage_name`, `url` and `api_key_id`."""

    def __init__(self, scope: Construct, id: str, config: ApiConfig, function: ReviewsFunction):
        super().__init__(scope, id)
        self.name = config.name
        self.stage_name = config.stage_name
        api = api_gateway_rest_api.ApiGatewayRestApi(
            self, "api",
            name=config.name,
            description="Product Reviews API",
            endpoint_configuration=api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(
                types=["REGIONAL"]
            ),
        )

        resources = {"": api.root_resource_id}
        for path in resource_tree():
            parent, _, part = path.rpartition("/")
            resources[path] = api_gateway_resource.ApiGatewayResource(
                self, f"resource_{slug(path)}",
                rest_api_id=api.id, parent_id=resources[parent], path_part=part,
            ).id

        # Every route and every resource's CORS preflight (OPTIONS) goes to the function,
        # which knows the allowed origins and which methods each resource has.
        methods = [(route.method, route.path, route.api_key_required) for route in ROUTES]
        methods += [("OPTIONS", path, False) for path in resource_paths()]
        deployed = []
        for http_method, path, key_required in methods:
            method = api_gateway_method.ApiGatewayMethod(
                self, f"{http_method.lower()}_{slug(path)}",
                rest_api_id=api.id,
                resource_id=resources[path],
                http_method=http_method,
                authorization="NONE",
                api_key_required=key_required,
            )
            integration = api_gateway_integration.ApiGatewayIntegration(
                self, f"{http_method.lower()}_{slug(path)}_integration",
                rest_api_id=api.id,
                resource_id=resources[path],
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=function.invoke_arn,
            )
            deployed += [method.id, integration.id]

        lambda_permission.LambdaPermission(
            self, "invoke",
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{api.execution_arn}/{config.stage_name}/*/*",
        )

        deployment = api_gateway_deployment.ApiGatewayDeployment(
            self, "deployment",
            rest_api_id=api.id,
            # A new deployment whenever a route, method or integration changes.
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(list(resources.values()) + deployed))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )

        access_logs = cloudwatch_log_group.CloudwatchLogGroup(
            self, "access_logs",
            name=f"/aws/apigateway/{config.name}/access",
            retention_in_days=config.log_retention_days,
        )
        # API Gateway writes execution logs here; creating it first gives it a retention.
        execution_logs = cloudwatch_log_group.CloudwatchLogGroup(
            self, "execution_logs",
            name=f"API-Gateway-Execution-Logs_{api.id}/{config.stage_name}",
            retention_in_days=config.log_retention_days,
        )
        stage_dependencies = [execution_logs]
        if config.manage_account_logging_role:
            stage_dependencies.append(self._account_logging_role(config))

        stage = api_gateway_stage.ApiGatewayStage(
            self, "stage",
            rest_api_id=api.id,
            deployment_id=deployment.id,
            stage_name=config.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            depends_on=stage_dependencies,
        )
        api_gateway_method_settings.ApiGatewayMethodSettings(
            self, "method_settings",
            rest_api_id=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                throttling_rate_limit=config.throttle_rate,
                throttling_burst_limit=config.throttle_burst,
                metrics_enabled=True,
                logging_level="INFO",
                # Request and response bodies hold customer text: never log them.
                data_trace_enabled=False,
            ),
        )

        key = api_gateway_api_key.ApiGatewayApiKey(
            self, "storefront_key",
            name=f"{config.name}-storefront",
            description="Sent as x-api-key by the storefront to POST reviews",
            enabled=True,
        )
        plan = api_gateway_usage_plan.ApiGatewayUsagePlan(
            self, "usage_plan",
            name=f"{config.name}-storefront",
            api_stages=[api_gateway_usage_plan.ApiGatewayUsagePlanApiStages(
                api_id=api.id, stage=stage.stage_name
            )],
            throttle_settings=api_gateway_usage_plan.ApiGatewayUsagePlanThrottleSettings(
                rate_limit=config.throttle_rate, burst_limit=config.throttle_burst
            ),
            quota_settings=api_gateway_usage_plan.ApiGatewayUsagePlanQuotaSettings(
                limit=config.api_key_quota_per_day, period="DAY"
            ),
        )
        api_gateway_usage_plan_key.ApiGatewayUsagePlanKey(
            self, "usage_plan_key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id
        )

        self.rest_api_id = api.id
        self.url = stage.invoke_url
        self.api_key_id = key.id

    def _account_logging_role(self, config: ApiConfig) -> api_gateway_account.ApiGatewayAccount:
        """The account-wide role API Gateway logs through: one per account and region, so
        turn it off (REVIEWS_MANAGE_API_GATEWAY_ACCOUNT=false) where something else owns it."""
        role = iam_role.IamRole(
            self, "cloudwatch_role",
            name=f"{config.name}-cloudwatch",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
        )
        iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "cloudwatch_role_policy", role=role.name, policy_arn=PUSH_TO_CLOUDWATCH_POLICY
        )
        return api_gateway_account.ApiGatewayAccount(
            self, "account", cloudwatch_role_arn=role.arn
        )
