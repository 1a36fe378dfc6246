"""Lambda entry point (handler setting `reviews.app.handler`) and its wiring: settings from the
environment and one DynamoDB client per execution environment.

Request flow: events (parse) → routing (dispatch, validate, act) → responses (shape).
"""

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from . import contract, telemetry
from .errors import NotSignedIn, TemporarilyUnavailable
from .events import Event, parse_headers, parse_request, request_id
from .ids import ReviewIdGenerator
from .repository import ReviewRepository
from .responses import ERRORS, Response, cors_headers, error_response, internal_error_response
from .routing import Backend, dispatch

# Fail fast when DynamoDB is unreachable: three quick attempts end well inside API Gateway's
# 29 s limit, and the client gets a 503 it can retry instead of a gateway timeout.
DYNAMODB_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@dataclass(frozen=True)
class Settings:
    table_name: str
    reviewer_index_name: str
    allowed_origins: frozenset[str]
    function_name: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        origins = environ.get(contract.ALLOWED_ORIGINS_VARIABLE, "")
        return cls(
            table_name=environ[contract.TABLE_NAME_VARIABLE],
            reviewer_index_name=environ[contract.REVIEWER_INDEX_VARIABLE],
            allowed_origins=frozenset(origin.strip() for origin in origins.split(",") if origin.strip()),
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        )


@dataclass(frozen=True)
class App:
    settings: Settings
    backend: Backend


@functools.cache
def default_app() -> App:
    """Created on first use, once the environment is final."""
    settings = Settings.from_environ(os.environ)
    client = boto3.client("dynamodb", config=DYNAMODB_CLIENT_CONFIG)
    repository = ReviewRepository(client, settings.table_name, settings.reviewer_index_name)
    return App(settings, Backend(repository, ReviewIdGenerator()))


def handler(event: Event, context: Any) -> Response:
    return handle(event, context, default_app())


def handle(event: Event, context: Any, app: App) -> Response:
    started = time.perf_counter()
    correlation_id = request_id(event, context)
    origin = None
    try:
        headers = parse_headers(event)
        origin = headers.get(contract.ORIGIN_HEADER.lower(), (None,))[-1]
        response = dispatch(parse_request(event, headers), app.backend, time.time())
    except ERRORS as error:
        # Ours to fix: the table unreachable, or a write that no authorizer vouched for.
        if (isinstance(error, TemporarilyUnavailable) and error.fault) or isinstance(error, NotSignedIn):
            telemetry.log_fault(correlation_id, error.reason)
            telemetry.emit_fault_metric(app.settings.function_name)
        response = error_response(error)
    except Exception:  # noqa: BLE001 - the one place a fault becomes a 500
        telemetry.log_fault(correlation_id)
        telemetry.emit_fault_metric(app.settings.function_name)
        response = internal_error_response()
    response["headers"].update(cors_headers(origin, app.settings.allowed_origins))
    telemetry.log_request(
        correlation_id,
        str(event.get("httpMethod")),
        str(event.get("resource")),
        response["statusCode"],
        (time.perf_counter() - started) * 1000,
    )
    return response
