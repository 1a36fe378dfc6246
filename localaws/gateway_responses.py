"""API Gateway's own answers (gateway responses), shaped by the REST API's customizations.

Every answer API Gateway makes itself (no route, bad key, throttled, function failed, bad
framing, ...) has a gateway response type, a default status, a JSON body
{"message": ...} and an x-amzn-ErrorType header. A REST API may customize a type
(statusCode, responseParameters for headers, responseTemplates for the body); a type it
does not customize uses DEFAULT_4XX or DEFAULT_5XX (by its status class) if those are
customized. Types and default statuses: AWS's "Gateway response types for API Gateway"
table. Error-type names not documented by AWS are marked below.
"""

import json
import re
from dataclasses import dataclass

from localaws.deployment import GatewayResponse

DEFAULT_MESSAGE_TEMPLATE = '{"message":$context.error.messageString}'


@dataclass(frozen=True)
class GatewayError:
    """One answer API Gateway makes itself."""

    response_type: str  # the gateway response type that customizes it
    status: int  # the status when the API does not customize it
    error_type: str  # the x-amzn-ErrorType header
    message: str


MISSING_AUTHENTICATION_TOKEN = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN", 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
)
# A Cognito user-pool authorizer refusing the token (missing, malformed, forged, another pool's,
# the wrong kind); an expired one gets its own message, of the same type.
UNAUTHORIZED = GatewayError("UNAUTHORIZED", 401, "UnauthorizedException", "Unauthorized")
EXPIRED_TOKEN = GatewayError("UNAUTHORIZED", 401, "UnauthorizedException", "The incoming token has expired")
# A missing key and a wrong key get the same answer.
INVALID_API_KEY = GatewayError("INVALID_API_KEY", 403, "ForbiddenException", "Forbidden")
THROTTLED = GatewayError("THROTTLED", 429, "TooManyRequestsException", "Too Many Requests")
INTEGRATION_TIMEOUT = GatewayError(
    "INTEGRATION_TIMEOUT", 504, "InternalServerErrorException", "Endpoint request timed out"
)
# A function error or a malformed proxy response has no type of its own.
FUNCTION_FAILED = GatewayError("DEFAULT_5XX", 502, "InternalServerErrorException", "Internal server error")
INTERNAL_ERROR = GatewayError("DEFAULT_5XX", 500, "InternalServerErrorException", "Internal server error")
UNSUPPORTED_INTEGRATION = GatewayError(
    "API_CONFIGURATION_ERROR",
    500,
    "InternalServerErrorException",
    "Local gateway serves only AWS_PROXY Lambda integrations",
)
UNSUPPORTED_AUTHORIZER = GatewayError(
    "API_CONFIGURATION_ERROR",
    500,
    "InternalServerErrorException",
    "Local gateway enforces only Cognito user-pool authorizers",
)
# Not documented by AWS: the error type is a guess in AWS's naming style.
REQUEST_TOO_LARGE = GatewayError("REQUEST_TOO_LARGE", 413, "RequestTooLargeException", "Request Too Long")


class Refusal(Exception):
    """Raised to answer a request with `error` instead of the function's answer."""

    def __init__(self, error: GatewayError):
        super().__init__(error.message)
        self.error = error


def bad_request(message: str, status: int = 400) -> GatewayError:
    """Malformed HTTP (400), request line too long (414), headers too large (431), ..."""
    return GatewayError("DEFAULT_4XX", status, "BadRequestException", message)


@dataclass(frozen=True)
class RequestValues:
    """What a response parameter may map from the request (method.request.<location>.<name>)."""

    headers: list[tuple[str, str]]
    query: dict[str, str]
    path: dict[str, str]

    def get(self, location: str, name: str) -> str | None:
        if location == "header":
            return next((v for k, v in reversed(self.headers) if k.lower() == name.lower()), None)
        return {"querystring": self.query, "path": self.path}.get(location, {}).get(name)


NO_REQUEST_VALUES = RequestValues([], {}, {})  # the request could not be read


def render(
    error: GatewayError, customized: dict[str, GatewayResponse], request: RequestValues, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of `error`, with the API's customization applied."""
    response = customized.get(error.response_type) or customized.get(
        "DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX"
    )
    if response is None:
        response = GatewayResponse(None, {}, {})
    content_type, template = _template(response.templates)
    headers = {
        "content-type": ("Content-Type", content_type),
        "x-amzn-requestid": ("x-amzn-RequestId", request_id),
        "x-amzn-errortype": ("x-amzn-ErrorType", error.error_type),
    }
    for name, value in _mapped_headers(response.parameters, request):
        headers[name.lower()] = (name, value)
    body = _fill_template(template, error, request_id).encode()
    return response.status_code or error.status, list(headers.values()), body


def _template(templates: dict[str, str]) -> tuple[str, str]:
    """(content type, template): application/json when the API has one, else its first."""
    if "application/json" in templates:
        return "application/json", templates["application/json"]
    return next(iter(templates.items()), ("application/json", DEFAULT_MESSAGE_TEMPLATE))


# gatewayresponse.header.<Name> = '<static value>' | method.request.<location>.<name>
_HEADER_PARAMETER = re.compile(r"gatewayresponse\.header\.(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+)")
_STATIC_VALUE = re.compile(r"'(?P<value>.*)'", re.DOTALL)
_REQUEST_VALUE = re.compile(r"method\.request\.(?P<location>header|querystring|path)\.(?P<name>.+)")


def _mapped_headers(parameters: dict[str, str], request: RequestValues):
    """The headers the response parameters set; one mapped from a request value the request
    lacks is left out. Other sources (stage variables, context) are not emulated."""
    for key, source in parameters.items():
        header = _HEADER_PARAMETER.fullmatch(key)
        static, mapped = _STATIC_VALUE.fullmatch(source), _REQUEST_VALUE.fullmatch(source)
        value = static["value"] if static else request.get(mapped["location"], mapped["name"]) if mapped else None
        if header and value is not None:
            yield header["name"], value


_TEMPLATE_VARIABLE = re.compile(r"\$(?:\{(?P<braced>context(?:\.\w+)+)\}|(?P<bare>context(?:\.\w+)+))")


def _fill_template(template: str, error: GatewayError, request_id: str) -> str:
    """The template with the $context variables gateway responses use; others stay as written
    (as Velocity leaves an unknown reference)."""
    values = {
        "context.error.messageString": json.dumps(error.message),
        "context.error.message": error.message,
        "context.error.responseType": error.response_type,
        "context.requestId": request_id,
    }

    def substitute(found: re.Match) -> str:
        name = found["braced"] or found["bare"]
        return values.get(name, found[0])

    return _TEMPLATE_VARIABLE.sub(substitute, template)
