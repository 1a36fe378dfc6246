"""Invoking the handler the way Lambda does, and reading its proxy response."""

import json
import uuid
from typing import Any

from handlers.reviews import app as reviews_app
from handlers.reviews.ids import ReviewIdGenerator
from handlers.reviews.repository import ReviewRepository
from handlers.reviews.routing import Backend
from tests.openapi_document import assert_documented

FUNCTION_NAME = "reviews-test-fn"


class LambdaContext:
    function_name = FUNCTION_NAME
    aws_request_id = "lambda-request-id"


class Response:
    def __init__(self, raw: dict):
        assert set(raw) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert isinstance(raw["body"], str) and raw["isBase64Encoded"] is False
        self.raw = raw
        self.status = raw["statusCode"]
        self.headers = raw["headers"]
        self.json: Any = json.loads(raw["body"]) if raw["body"] else None


def invoke(event: dict, app=None) -> Response:
    """Runs the Lambda entry point (or handle() with another App) on an event, and checks that
    the answer is one the OpenAPI document describes (docs/openapi.json)."""
    if app is None:
        raw = reviews_app.handler(event, LambdaContext())
    else:
        raw = reviews_app.handle(event, LambdaContext(), app)
    response = Response(raw)
    assert_documented(event["httpMethod"], event["resource"], response.status, response.headers, raw["body"])
    return response


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def app_for(client, table_name: str, allowed_origins: frozenset[str] = frozenset(), function_name: str = "local"):
    """An App like the Lambda's, on another table or with other CORS origins."""
    settings = reviews_app.Settings(table_name, "ReviewerIdIndex", allowed_origins, function_name)
    repository = ReviewRepository(client, table_name, "ReviewerIdIndex")
    return reviews_app.App(settings, Backend(repository, ReviewIdGenerator()))
