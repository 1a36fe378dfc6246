"""Routing, CORS, body decoding and the proxy response contract."""

import json
import os
import re
from pathlib import Path

import pytest

import api_events
from api_client import app_for, invoke
from handlers.reviews.contract import ROUTES, methods_for, resource_paths

ALLOWED = api_events.ALLOWED_ORIGIN


def test_routes_are_the_contract_with_the_stack():
    # What the stack builds API Gateway from is what clients read in the committed document.
    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    documented = {
        (method.upper(), path, "security" in operation)
        for path, methods in committed["paths"].items()
        for method, operation in methods.items()
        if method != "options"
    }
    assert {(r.method, r.path, r.signed_in) for r in ROUTES} == documented
    # Every write also carries the storefront's API key (its usage plan).
    assert all(r.api_key_required == r.signed_in for r in ROUTES)
    assert resource_paths() == tuple(committed["paths"])
    assert methods_for("/reviews") == ("GET", "POST")


def test_every_route_has_an_operation():
    from handlers.reviews.routing import operations

    assert set(operations()) == {r.operation_id for r in ROUTES}
    assert all(operations()[r.operation_id].__name__ == r.function_name for r in ROUTES)


def path_values(route) -> dict[str, str]:
    values = {"product_id": "sku-1", "reviewer_id": "user-1", "review_id": "01JDQ3Z8M4X7V2K9T6B1N5R0CE"}
    return {name: values[name] for name in re.findall(r"{(\w+)}", route.path)}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.operation_id)
def test_every_route_reaches_its_operation_and_answers_as_documented(route):
    response = invoke(api_events.for_route(route.operation_id, **path_values(route)))

    assert response.status not in (404, 405) or response.json["error"] not in ("not_found", "method_not_allowed")
    assert response.headers["Vary"] == "Origin"


def test_unknown_resource_is_404_json_with_cors():
    event = api_events.get_reviews({"product_id": "p"})
    event["resource"] = event["path"] = "/nope"

    response = invoke(event)

    assert response.status == 404
    assert response.json["error"] == "not_found"
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    ("event", "allow"),
    [
        (api_events.with_method(api_events.get_reviews({"product_id": "p"}), "DELETE"), "GET, POST, OPTIONS"),
        (api_events.with_method(api_events.get_rating("p"), "POST"), "GET, OPTIONS"),
    ],
)
def test_method_the_resource_lacks_is_405_with_allow(event, allow):
    response = invoke(event)

    assert response.status == 405
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize(
    ("resource", "methods"),
    [
        ("/reviews", "GET, POST, OPTIONS"),
        ("/products/{product_id}/reviews/{review_id}", "GET, PATCH, DELETE, OPTIONS"),
        ("/products/{product_id}/rating", "GET, OPTIONS"),
    ],
)
def test_preflight_lists_only_the_resource_methods_and_echoes_an_allowed_origin(resource, methods):
    response = invoke(api_events.preflight(resource))

    assert response.status == 204
    assert response.raw["body"] == ""
    assert response.headers["Access-Control-Allow-Methods"] == methods
    allowed_headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    # Authorization carries the signed-in reviewer's token: a browser asks before sending it.
    assert {"authorization", "content-type", "x-api-key", "idempotency-key"} <= allowed_headers
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Vary"] == "Origin"


def test_preflight_from_an_unknown_origin_gets_no_allow_origin():
    response = invoke(api_events.preflight("/reviews", origin="https://evil.example"))

    assert response.status == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_a_second_configured_origin_is_echoed():
    event = api_events.with_headers(api_events.get_rating("p"), Origin="https://admin.example.com")

    assert invoke(event).headers["Access-Control-Allow-Origin"] == "https://admin.example.com"


def test_cors_headers_are_on_error_responses_too():
    response = invoke(api_events.post_review("{", raw=True))

    assert response.status == 400
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Vary"] == "Origin"


def test_wildcard_allowed_origins_answers_star(dynamodb):
    app = app_for(dynamodb, "reviews-test", frozenset({"*"}))

    response = invoke(api_events.get_rating("p"), app)

    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_base64_encoded_body_is_decoded(product_id, reviewer_id):
    body = {"product_id": product_id, "rating": 3, "comment": "Très bien"}

    response = invoke(api_events.post_review(body, reviewer=reviewer_id, base64_encoded=True))

    assert response.status == 201
    assert response.json["comment"] == "Très bien"


def test_invalid_base64_body_is_400():
    event = api_events.post_review("not base64!!", raw=True)
    event["isBase64Encoded"] = True

    assert invoke(event).status == 400


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_body_over_16_kib_is_413(product_id, reviewer_id, base64_encoded):
    body = {"product_id": product_id, "rating": 3, "comment": "x" * 17000}

    response = invoke(api_events.post_review(body, reviewer=reviewer_id, base64_encoded=base64_encoded))

    assert response.status == 413
    assert response.json["error"] == "payload_too_large"
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_null_headers_and_maps_are_handled(product_id):
    event = api_events.get_rating(product_id)
    event["headers"] = event["multiValueHeaders"] = None
    event["stageVariables"] = None

    response = invoke(event)

    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_get_with_null_body_and_post_without_headers(product_id, reviewer_id):
    event = api_events.post_review({"product_id": product_id, "rating": 1}, reviewer=reviewer_id)
    event["headers"] = event["multiValueHeaders"] = None

    assert invoke(event).status == 201
    assert invoke(api_events.get_reviews({"product_id": product_id})).status == 200


def test_response_body_is_json_with_ints_not_decimals(product_id):
    response = invoke(api_events.get_rating(product_id))

    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.raw["body"])["review_count"] == 0
    assert type(response.json["ratings"]["5"]) is int


def test_the_handler_creates_its_client_once_and_reads_configuration_from_env():
    from handlers.reviews import app

    app.handler(api_events.get_rating("p"), None)
    first = app.default_app()
    app.handler(api_events.get_rating("p"), None)

    assert app.default_app() is first
    assert first.settings.table_name == "reviews-test"
    assert first.settings.allowed_origins == {"https://shop.example.com", "https://admin.example.com"}
    # boto3 honours AWS_ENDPOINT_URL itself: the handler has no endpoint setting of its own.
    assert first.backend.repository.client.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"]
