"""The API's two OpenAPI documents, both generated from the contract's routes.

- `api_gateway_definition`: what API Gateway builds the REST API from (OpenAPI 3.0.1 with its
  extensions): resources, methods, Lambda proxy integrations, API-key requirements and gateway
  responses, so a change to any of them is a change to one attribute (the REST API's body) and
  redeploys the stage through the deployment's trigger.
- `public_document`: what clients read (OpenAPI 3.1, docs/openapi.json): the same paths and
  operations with parameters, bodies, every answer and examples (stacks/openapi_components.py).

`python -m stacks.openapi` prints the public document (`make docs` writes docs/openapi.json:
stacks/api_docs.py).
"""

import json
import sys
from collections.abc import Callable, Mapping

from handlers.reviews import contract

from . import openapi_components as components
from .settings import defaults

API_KEY_SCHEME = "api_key"
REVIEWER_SCHEME = "reviewer"
# API Gateway's own answers (missing key, throttled, integration failures, ...) carry the same
# CORS headers as the function's, so a browser sees their status instead of a CORS error.
GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")

Operation = dict[str, object]


# --- The skeleton both documents share -----------------------------------------------------


def paths(operation: Callable[[contract.Route], Operation], preflight: Callable[[str], Operation]) -> dict[str, object]:
    """Every resource path of the contract with its routes' operations, plus OPTIONS (the CORS
    preflight, answered by the function) on each."""
    return {
        path: {
            **{route.method.lower(): operation(route) for route in contract.ROUTES if route.path == path},
            "options": preflight(path),
        }
        for path in contract.resource_paths()
    }


def route_operation(
    route: contract.Route, parameters: list[dict[str, object]], security: list[dict[str, list[str]]]
) -> Operation:
    """The operation's id, summary and parameters, and `security` when the route is a write."""
    operation: Operation = {"operationId": route.operation_id, "summary": route.summary, **parameters_field(parameters)}
    if route.signed_in:
        operation["security"] = security
    return operation


def parameters_field(parameters: list[dict[str, object]]) -> dict[str, object]:
    """An operation's `parameters`, left out when there are none."""
    return {"parameters": parameters} if parameters else {}


def path_parameters(
    path: str, schema: Mapping[str, object], by_name: Mapping[str, Mapping[str, object]] | None = None
) -> list[dict[str, object]]:
    """The path's parameters, each with its schema in `by_name`, else `schema`."""
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    return [
        {"name": name, "in": "path", "required": True, "schema": (by_name or {}).get(name, schema)} for name in names
    ]


API_KEY_SECURITY_SCHEME = {"type": "apiKey", "name": contract.API_KEY_HEADER, "in": "header"}
# The reviewer's ID token, as the Authorization header's whole value.
REVIEWER_SECURITY_SCHEME = {"type": "apiKey", "name": contract.AUTHORIZATION_HEADER, "in": "header"}


# --- API Gateway's definition (OpenAPI 3.0.1) ----------------------------------------------


def invoke_uri(region: str, account_id: str, function_name: str) -> str:
    """The Lambda proxy integration URI, built from names rather than the function resource, so
    that the API (and its create-before-destroy deployment) never depends on the function: a
    replaced function is then destroyed before it is created again, without a name clash."""
    function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def api_gateway_definition(
    title: str, uri: str, cors_origins: tuple[str, ...], user_pool_arn: str
) -> dict[str, object]:
    integration = {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}}
    # Two requirements, as AWS's own generator (aws-pdk type-safe-api) writes an authorizer and
    # an API key for one method: API Gateway applies both.
    security: list[dict[str, list[str]]] = [{REVIEWER_SCHEME: []}, {API_KEY_SCHEME: []}]

    def parameters(path: str) -> list[dict[str, object]]:
        return path_parameters(path, {"type": "string"})

    def operation(route: contract.Route) -> Operation:
        return {**route_operation(route, parameters(route.path), security), **integration}

    def preflight(path: str) -> Operation:
        return {**parameters_field(parameters(path)), **integration}

    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "x-amazon-apigateway-api-key-source": "HEADER",
        "components": {
            "securitySchemes": {
                API_KEY_SCHEME: API_KEY_SECURITY_SCHEME,
                REVIEWER_SCHEME: cognito_authorizer(user_pool_arn),
            }
        },
        "x-amazon-apigateway-gateway-responses": {
            response_type: {"responseParameters": cors_response_parameters(cors_origins)}
            for response_type in GATEWAY_RESPONSE_TYPES
        },
        "paths": paths(operation, preflight),
    }


def cognito_authorizer(user_pool_arn: str) -> dict[str, object]:
    """A COGNITO_USER_POOLS authorizer reading the token from the scheme's header. Methods
    name no OAuth scopes, so it accepts the pool's ID tokens (docs/api.md, "Signing in")."""
    return {
        **REVIEWER_SECURITY_SCHEME,
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [user_pool_arn]},
    }


def cors_response_parameters(cors_origins: tuple[str, ...]) -> dict[str, str]:
    """Gateway-response headers. A gateway response cannot choose among several origins the way
    the function does, so with more than one it echoes the request's Origin: these answers
    carry no data, only API Gateway's status message."""
    allow_origin = (
        f"'{cors_origins[0]}'" if len(cors_origins) == 1 else f"method.request.header.{contract.ORIGIN_HEADER}"
    )
    return {
        f"gatewayresponse.header.{contract.ALLOW_ORIGIN_HEADER}": allow_origin,
        f"gatewayresponse.header.{contract.VARY_HEADER}": f"'{contract.ORIGIN_HEADER}'",
    }


# --- The public document (OpenAPI 3.1) -----------------------------------------------------

TITLE = "Product Reviews API"
DEFAULTS = defaults()
RATE, BURST = DEFAULTS.throttle_rate, DEFAULTS.throttle_burst
DESCRIPTION = f"""\
Post product reviews and read them back per product and per reviewer, with a rating summary
per product. All bodies are JSON (UTF-8).

- **Signed-in reviewers write**: every write needs the reviewer's Cognito ID token in the
  `{contract.AUTHORIZATION_HEADER}` header (the `reviewer` scheme); the reviewer is the token's subject
  (`{contract.REVIEWER_CLAIM}`), never a field of the body, and only a review's author may edit or delete it.
  Reading is public.
- **API key**: every write also carries the storefront's key in the `{contract.API_KEY_HEADER}` header. It
  identifies the storefront application (its usage plan: quota and throttling), not a person.
- **Errors**: the function answers every error with `{{"error", "message", "details"}}`;
  API Gateway's own answers (no valid ID token, missing or invalid API key, throttling, a
  failed or timed-out function) are `{{"message"}}`. A path or method the API does not define is a 403
  `{{"message": "Missing Authentication Token"}}` from API Gateway.
- **Throttling**: the stage allows a steady rate with a burst ({RATE} requests/s, burst {BURST} by
  default); beyond that, any operation answers 429.
- **CORS**: every answer of the function carries `{contract.VARY_HEADER}: {contract.ORIGIN_HEADER}`, and
  `{contract.ALLOW_ORIGIN_HEADER}` when the request's `{contract.ORIGIN_HEADER}` is allowed.
"""
LOCAL_GATEWAY_URL = f"http://127.0.0.1:{DEFAULTS.gateway_port}/{contract.STAGE_NAME}"
SERVERS = [
    {
        "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/" + contract.STAGE_NAME,
        "description": "AWS: the stack's `api_url` output",
        "variables": {
            "restApiId": {"default": "abcdef1234", "description": "the stack's `rest_api_id` output"},
            "region": {"default": DEFAULTS.region},
        },
    },
    {"url": LOCAL_GATEWAY_URL, "description": "`make up`: the local gateway (port: REVIEWS_GATEWAY_PORT)"},
]


def public_document() -> dict[str, object]:
    # Both at once: one requirement naming the two schemes.
    security: list[dict[str, list[str]]] = [{REVIEWER_SCHEME: [], API_KEY_SCHEME: []}]

    def operation(route: contract.Route) -> Operation:
        parameters = path_parameters(route.path, components.ref("schemas", "Id"), components.PATH_PARAMETERS)
        return {
            **route_operation(route, parameters + components.parameters(route), security),
            **components.operation(route),
        }

    def preflight(path: str) -> Operation:
        # A preflight is answered for the resource, whatever the parameter's value.
        parameters = path_parameters(path, {"type": "string", "minLength": 1})
        return {
            "operationId": preflight_operation_id(path),
            "summary": f"CORS preflight: the methods of {path}",
            **parameters_field(parameters),
            **components.PREFLIGHT,
        }

    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1", "description": DESCRIPTION},
        "servers": SERVERS,
        "paths": paths(operation, preflight),
        "components": {
            **components.COMPONENTS,
            "securitySchemes": {
                API_KEY_SCHEME: {
                    **API_KEY_SECURITY_SCHEME,
                    "description": "The storefront application's API key: its usage plan (quota, throttling). "
                    "It identifies the application, not the reviewer.",
                },
                REVIEWER_SCHEME: {
                    **REVIEWER_SECURITY_SCHEME,
                    "description": "The signed-in reviewer's ID token from the stack's Cognito user pool "
                    "(outputs `user_pool_id`, `user_pool_client_id`), the JWT itself as the header's value. "
                    "API Gateway's Cognito authorizer checks it; an access token is refused.",
                },
            },
        },
    }


def preflight_operation_id(path: str) -> str:
    """preflight + the path's literal segments: /products/{product_id}/rating -> preflightProductsRating."""
    return "preflight" + "".join(part.capitalize() for part in path.split("/") if part and not part.startswith("{"))


def to_json(document: dict[str, object]) -> str:
    """The committed form of a document (docs/openapi.json): indented, key order kept."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(to_json(public_document()))
