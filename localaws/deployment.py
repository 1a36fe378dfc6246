"""What is deployed in the emulator: one REST API stage and the functions behind it.

Read through the same API calls a console user would make (API Gateway and Lambda
on the emulator), so the gateway serves what Terraform deployed, not what the
stack code says.
"""

import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from localaws.emulator import client

# arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations
_FUNCTION_IN_URI = re.compile(r":lambda:path/[^/]+/functions/(arn:[^/]+)/invocations$")


@dataclass(frozen=True)
class Function:
    arn: str
    name: str
    region: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str  # a redeploy with new code changes it
    runtime: str = ""  # python3.13: which Python its workers run (localaws.runtimes)


@dataclass(frozen=True)
class Method:
    resource_id: str
    resource_path: str  # the template, e.g. /products/{product_id}/rating
    http_method: str
    api_key_required: bool
    function_arn: str | None  # None unless the integration is AWS_PROXY to Lambda
    authorization_type: str = "NONE"  # NONE, COGNITO_USER_POOLS, CUSTOM or AWS_IAM
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserPool:
    """A Cognito user pool an authorizer trusts, and the ids of its app clients."""

    id: str  # <region>_<suffix>
    region: str
    client_ids: frozenset[str]

    @property
    def issuer(self) -> str:
        """The `iss` of the pool's tokens: always Cognito's public URL, in the emulator too."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}"


@dataclass(frozen=True)
class Authorizer:
    id: str
    name: str
    type: str  # COGNITO_USER_POOLS, TOKEN or REQUEST
    identity_header: str | None  # from identitySource method.request.header.<name>
    user_pools: tuple[UserPool, ...]  # COGNITO_USER_POOLS only


@dataclass(frozen=True)
class GatewayResponse:
    """The API's customization of one gateway response type (see `gateway_responses`)."""

    status_code: int | None  # None: the type's own status
    parameters: dict[str, str]  # gatewayresponse.header.<Name> -> '<static>' | method.request.<location>.<name>
    templates: dict[str, str]  # content type -> body template


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    rest_api_id: str
    stage: str
    binary_media_types: tuple[str, ...]
    methods: dict[str, dict[str, Method]]  # resource path -> HTTP method -> Method
    api_keys: dict[str, str]  # value -> id of enabled keys in a usage plan bound to the stage
    rate_limit: float | None  # stage method settings */*; None: not throttled
    burst_limit: int | None
    functions: dict[str, Function]  # ARN -> Function
    authorizers: dict[str, Authorizer] = field(default_factory=dict)  # id -> Authorizer
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)  # response type -> customization

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The resource path template serving `path`, and its path parameters.

        Like API Gateway, a literal segment beats {param}, which beats {proxy+}.
        """
        trimmed = path.strip("/")
        segments = [urllib.parse.unquote(s) for s in trimmed.split("/")] if trimmed else []
        candidates = [
            (matched[0], template, matched[1])
            for template in self.methods
            if (matched := _match_template(template, segments))
        ]
        if not candidates:
            return None
        _, template, params = max(candidates, key=lambda candidate: candidate[0])
        return template, params


def _match_template(template: str, segments: list[str]) -> tuple[tuple, dict[str, str]] | None:
    """(specificity, parameters) if `template` matches the path segments, else None."""
    parts = [p for p in template.strip("/").split("/") if p]
    params: dict[str, str] = {}
    score: list[int] = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):  # greedy, must be last
            if index >= len(segments):
                return None
            params[part[1:-2]] = "/".join(segments[index:])
            return tuple(score + [0]), params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[index]
            score.append(1)
        elif part == segments[index]:
            score.append(2)
        else:
            return None
    return (tuple(score), params) if len(parts) == len(segments) else None


def load(endpoint: str, region: str, rest_api_name: str, stage: str) -> Deployment:
    apigateway = client("apigateway", endpoint, region)
    api = _rest_api(apigateway, rest_api_name, region)
    stage_info = apigateway.get_stage(restApiId=api["id"], stageName=stage)

    methods: dict[str, dict[str, Method]] = {}
    for resource in apigateway.get_resources(restApiId=api["id"], limit=500)["items"]:
        for http_method in resource.get("resourceMethods", {}):
            method = apigateway.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod=http_method)
            integration = method.get("methodIntegration", {})
            function_arn = None
            if integration.get("type") == "AWS_PROXY":
                found = _FUNCTION_IN_URI.search(integration.get("uri", ""))
                function_arn = found.group(1) if found else None
            methods.setdefault(resource["path"], {})[http_method] = Method(
                resource["id"],
                resource["path"],
                http_method,
                method.get("apiKeyRequired", False),
                function_arn,
                method.get("authorizationType") or "NONE",
                method.get("authorizerId"),
                tuple(method.get("authorizationScopes") or ()),
            )

    throttle = stage_info.get("methodSettings", {}).get("*/*", {})
    function_arns = {m.function_arn for by_verb in methods.values() for m in by_verb.values() if m.function_arn}
    return Deployment(
        endpoint=endpoint,
        rest_api_id=api["id"],
        stage=stage,
        binary_media_types=tuple(api.get("binaryMediaTypes", [])),
        methods=methods,
        api_keys=_stage_api_keys(apigateway, api["id"], stage),
        rate_limit=throttle.get("throttlingRateLimit"),
        burst_limit=throttle.get("throttlingBurstLimit"),
        functions={arn: load_function(endpoint, arn) for arn in function_arns},
        authorizers=_authorizers(apigateway, api["id"], endpoint),
        gateway_responses=_gateway_responses(apigateway, api["id"]),
    )


def stage_api_keys(endpoint: str, region: str, rest_api_name: str, stage: str) -> dict[str, str]:
    """Value -> id of the enabled API keys in usage plans bound to the stage."""
    apigateway = client("apigateway", endpoint, region)
    return _stage_api_keys(apigateway, _rest_api(apigateway, rest_api_name, region)["id"], stage)


def stage_user_pools(endpoint: str, region: str, rest_api_name: str) -> tuple[UserPool, ...]:
    """The user pools the API's Cognito authorizers trust, each once, in authorizer order."""
    apigateway = client("apigateway", endpoint, region)
    authorizers = _authorizers(apigateway, _rest_api(apigateway, rest_api_name, region)["id"], endpoint)
    return tuple(dict.fromkeys(pool for authorizer in authorizers.values() for pool in authorizer.user_pools))


def _rest_api(apigateway, rest_api_name: str, region: str) -> dict:
    apis = [a for a in apigateway.get_rest_apis(limit=500)["items"] if a["name"] == rest_api_name]
    if len(apis) != 1:
        raise LookupError(f"expected one REST API named {rest_api_name!r} in {region}, found {len(apis)}")
    return apis[0]


def _gateway_responses(apigateway, rest_api_id: str) -> dict[str, GatewayResponse]:
    """The types the API customizes. AWS also lists every other type, marked defaultResponse."""
    return {
        item["responseType"]: GatewayResponse(
            status_code=int(item["statusCode"]) if item.get("statusCode") else None,
            parameters=item.get("responseParameters") or {},
            templates=item.get("responseTemplates") or {},
        )
        for item in apigateway.get_gateway_responses(restApiId=rest_api_id, limit=500)["items"]
        if not item.get("defaultResponse")
    }


def _authorizers(apigateway, rest_api_id: str, endpoint: str) -> dict[str, Authorizer]:
    found = {}
    for item in apigateway.get_authorizers(restApiId=rest_api_id, limit=500)["items"]:
        header = _IDENTITY_HEADER.fullmatch(item.get("identitySource") or "")
        pools = item.get("providerARNs", []) if item["type"] == "COGNITO_USER_POOLS" else []
        found[item["id"]] = Authorizer(
            item["id"],
            item["name"],
            item["type"],
            header[1] if header else None,
            tuple(_user_pool(endpoint, arn) for arn in pools),
        )
    return found


_IDENTITY_HEADER = re.compile(r"method\.request\.header\.(.+)")


def _user_pool(endpoint: str, arn: str) -> UserPool:
    """The pool an ARN names (arn:aws:cognito-idp:<region>:<account>:userpool/<id>); a pool that
    does not exist has no clients, so no token passes."""
    region, pool_id = arn.split(":")[3], arn.rpartition("/")[2]
    cognito = client("cognito-idp", endpoint, region)
    try:
        pages = cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id)
        client_ids = frozenset(c["ClientId"] for page in pages for c in page["UserPoolClients"])
    except cognito.exceptions.ResourceNotFoundException:
        client_ids = frozenset()
    return UserPool(pool_id, region, client_ids)


def _stage_api_keys(apigateway, rest_api_id: str, stage: str) -> dict[str, str]:
    plan_ids = [
        plan["id"]
        for plan in apigateway.get_usage_plans(limit=500)["items"]
        if any(s["apiId"] == rest_api_id and s["stage"] == stage for s in plan.get("apiStages", []))
    ]
    key_ids = {
        key["id"]
        for plan_id in plan_ids
        for key in apigateway.get_usage_plan_keys(usagePlanId=plan_id, limit=500)["items"]
    }
    return {
        key["value"]: key["id"]
        for key in apigateway.get_api_keys(includeValues=True, limit=500)["items"]
        if key["id"] in key_ids and key.get("enabled", True)
    }


def load_function(endpoint: str, arn: str) -> Function:
    region = arn.split(":")[3]
    config = client("lambda", endpoint, region).get_function_configuration(FunctionName=arn)
    return Function(
        arn=arn,
        name=config["FunctionName"],
        region=region,
        handler=config["Handler"],
        timeout_seconds=config.get("Timeout", 3),
        memory_mb=config.get("MemorySize", 128),
        environment=tuple(sorted(config.get("Environment", {}).get("Variables", {}).items())),
        code_sha256=config["CodeSha256"],
        runtime=config.get("Runtime", ""),
    )


def fetch_code(endpoint: str, function: Function) -> bytes:
    """The zip deployed for `function`, from the emulator's /_localaws/lambda-code route."""
    query = urllib.parse.urlencode({"region": function.region, "function": function.arn})
    with urllib.request.urlopen(f"{endpoint}/_localaws/lambda-code?{query}", timeout=30) as reply:
        return reply.read()
