"""The REST API's definition for API Gateway (OpenAPI 3.0.1 with its extensions), generated
from the contract's routes.

API Gateway builds resources, methods, Lambda proxy integrations, API-key requirements and
gateway responses from this one document, so a change to any of them is a change to one
attribute (the REST API's body) and redeploys the stage through the deployment's trigger.
"""

from handlers.reviews import contract

API_KEY_SCHEME = "api_key"
# API Gateway's own answers (missing key, throttled, integration failures, ...) carry the same
# CORS headers as the function's, so a browser sees their status instead of a CORS error.
GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")


def invoke_uri(region: str, account_id: str, function_name: str) -> str:
    """The Lambda proxy integration URI, built from names rather than the function resource, so
    that the API (and its create-before-destroy deployment) never depends on the function: a
    replaced function is then destroyed before it is created again, without a name clash."""
    function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def api_gateway_definition(title: str, uri: str, cors_origins: tuple[str, ...]) -> dict[str, object]:
    paths: dict[str, dict[str, object]] = {}
    for path in contract.resource_paths():
        operations = {route.method.lower(): _operation(route, uri) for route in contract.ROUTES if route.path == path}
        operations["options"] = {**_parameters(path), "x-amazon-apigateway-integration": _proxy(uri)}
        paths[path] = operations
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "x-amazon-apigateway-api-key-source": "HEADER",
        "components": {"securitySchemes": {
            API_KEY_SCHEME: {"type": "apiKey", "name": contract.API_KEY_HEADER, "in": "header"},
        }},
        "x-amazon-apigateway-gateway-responses": {
            response_type: {"responseParameters": cors_response_parameters(cors_origins)}
            for response_type in GATEWAY_RESPONSE_TYPES
        },
        "paths": paths,
    }


def cors_response_parameters(cors_origins: tuple[str, ...]) -> dict[str, str]:
    """Gateway-response headers. A gateway response cannot choose among several origins the way
    the function does, so with more than one it echoes the request's Origin: these answers
    carry no data, only API Gateway's status message."""
    if len(cors_origins) == 1:
        allow_origin = f"'{cors_origins[0]}'"
    else:
        allow_origin = "method.request.header.Origin"
    return {
        "gatewayresponse.header.Access-Control-Allow-Origin": allow_origin,
        "gatewayresponse.header.Vary": "'Origin'",
    }


def _operation(route: contract.Route, uri: str) -> dict[str, object]:
    operation: dict[str, object] = {"operationId": route.operation_id, "summary": route.summary, **_parameters(route.path)}
    if route.api_key_required:
        operation["security"] = [{API_KEY_SCHEME: []}]
    operation["x-amazon-apigateway-integration"] = _proxy(uri)
    return operation


def _parameters(path: str) -> dict[str, object]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    if not names:
        return {}
    return {"parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]}


def _proxy(uri: str) -> dict[str, str]:
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
