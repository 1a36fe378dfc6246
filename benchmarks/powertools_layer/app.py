"""handlers/reviews/app.handle() rebuilt on Powertools' APIGatewayRestResolver.

Powertools matches each route (method and path) to its operation, answers what matches none
through its not-found hook, maps exceptions to answers through its exception handlers and
serializes the proxy response. The rest stays the handler's own, because Powertools answers
differently there:
- the event becomes the handler's Request (events.py): Powertools' decoded_body turns bad
  base64 or UTF-8 into a 500, and it has no body size limit;
- preflight, 404 and 405 come from routing.dispatch: Powertools knows no 405 and its preflight
  allows every method of the API on every path;
- CORS headers are responses.cors_headers: Powertools' CORSConfig sends no `Vary: Origin` and
  adds its own Allow-Headers (X-Amz-Date, X-Amz-Security-Token) to every answer;
- each operation's validation, action and shaping (routing.operations()), the error table
  (responses.py), the log line and the Fault metric (telemetry.py).
"""

import functools
import re
import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse

from handlers.reviews import contract, telemetry
from handlers.reviews.app import App, default_app
from handlers.reviews.errors import NotSignedIn, TemporarilyUnavailable
from handlers.reviews.events import Event, Request, parse_headers, parse_request, request_id
from handlers.reviews.responses import ERRORS, Response, cors_headers, error_response, internal_error_response
from handlers.reviews.routing import Operation, dispatch, operations

# An API Gateway path parameter, {name}, as Powertools writes it: <name>.
PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def handler(event: Event, context: Any) -> dict[str, Any]:
    return handle(event, context, default_app())


def handle(event: Event, context: Any, app: App) -> dict[str, Any]:
    started = time.perf_counter()
    resolver = resolver_for(app)
    response = resolver.resolve(event, context)
    origin = resolver.current_event.headers.get("origin")
    headers = response["multiValueHeaders"]
    headers.update({name: [value] for name, value in cors_headers(origin, app.settings.allowed_origins).items()})
    telemetry.log_request(
        request_id(event, context),
        str(event.get("httpMethod")),
        str(event.get("resource")),
        response["statusCode"],
        (time.perf_counter() - started) * 1000,
    )
    return response


@functools.cache
def resolver_for(app: App) -> APIGatewayRestResolver:
    """One resolver per App, built on first use like the App itself."""
    resolver = APIGatewayRestResolver()
    for route in contract.ROUTES:
        view = operation_view(resolver, app, operations()[route.operation_id])
        resolver.route(PATH_PARAMETER.sub(r"<\1>", route.path), route.method)(view)
    resolver.not_found(lambda _: to_powertools(dispatch(current_request(resolver), app.backend, time.time())))
    resolver.exception_handler(list(ERRORS))(lambda error: client_error(resolver, app, error))
    resolver.exception_handler(Exception)(lambda _: fault(resolver, app))
    return resolver


def operation_view(resolver: APIGatewayRestResolver, app: App, operation: Operation) -> Any:
    def view(**_path_values: str) -> PowertoolsResponse:
        # The operation reads API Gateway's pathParameters (URL-decoded), as it does today.
        return to_powertools(operation(current_request(resolver), app.backend, time.time()))

    return view


def current_request(resolver: APIGatewayRestResolver) -> Request:
    event = resolver.current_event.raw_event
    return parse_request(event, parse_headers(event))


def client_error(resolver: APIGatewayRestResolver, app: App, error: Exception) -> PowertoolsResponse:
    # Ours to fix: the table unreachable, or a write that no authorizer vouched for.
    if (isinstance(error, TemporarilyUnavailable) and error.fault) or isinstance(error, NotSignedIn):
        report_fault(resolver, app, error.reason)
    return to_powertools(error_response(error))


def fault(resolver: APIGatewayRestResolver, app: App) -> PowertoolsResponse:
    """Any other exception: Powertools calls its handlers inside its except block."""
    report_fault(resolver, app, None)
    return to_powertools(internal_error_response())


def report_fault(resolver: APIGatewayRestResolver, app: App, reason: str | None) -> None:
    telemetry.log_fault(request_id(resolver.current_event.raw_event, resolver.lambda_context), reason)
    telemetry.emit_fault_metric(app.settings.function_name)


def to_powertools(response: Response) -> PowertoolsResponse:
    """The handler's proxy response as Powertools' Response (its body already JSON text)."""
    return PowertoolsResponse(status_code=response["statusCode"], body=response["body"], headers=response["headers"])
