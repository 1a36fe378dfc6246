"""The public OpenAPI document (docs/openapi.json): fresh, valid, in step with API Gateway's
definition and with the handler's own validation. (Every handler test also checks its answer
against the document: tests/handler/api_client.py.)"""

import json
import re

import pytest
from openapi_spec_validator import validate

from handlers.reviews import contract, validation
from handlers.reviews.errors import InvalidInput
from stacks import api_docs
from stacks.openapi import api_gateway_definition, public_document, to_json
from tests.openapi_document import assert_documented, resolve, validator
from tests.support import PROJECT_ROOT

DOCUMENT_FILE = PROJECT_ROOT / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def document() -> dict:
    return public_document()


def test_docs_openapi_json_is_the_generated_document(document):
    assert DOCUMENT_FILE.read_text() == to_json(document), "docs/openapi.json is stale: run `make docs`"


def test_docs_api_md_route_table_is_the_generated_one():
    current = api_docs.API_FILE.read_text()
    assert current == api_docs.api_markdown(current), "docs/api.md's route table is stale: run `make docs`"
    for route in contract.ROUTES:
        assert f"| {route.method.ljust(7)} | `{route.path}`" in current, (route.method, route.path)


def test_docs_api_md_lists_every_error_the_function_answers():
    rows = re.findall(r"^\| (\d{3}) +\| `(\w+)` +\|", api_docs.API_FILE.read_text(), re.M)
    assert sorted((int(status), code) for status, code in rows) == sorted((e.status, e.code) for e in contract.ERRORS)


def test_every_error_the_function_answers_is_documented(document):
    documented = set()
    for response in document["components"]["responses"].values():
        for content in response.get("content", {}).values():
            for schema in [content["schema"], *content["schema"].get("anyOf", [])]:
                documented.update(schema.get("properties", {}).get("error", {}).get("enum", []))
    assert documented == {error.code for error in contract.ERRORS}


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def operations(definition: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, methods in definition["paths"].items()
        for method, operation in methods.items()
    }


def test_it_documents_exactly_the_operations_api_gateway_serves(document):
    served = operations(api_gateway_definition("api", "uri", ("*",), "pool-arn"))
    documented = operations(document)

    assert documented.keys() == served.keys()
    for key, operation in served.items():
        public = documented[key]
        assert required_schemes(public) == required_schemes(operation), key
        assert "operationId" not in operation or public["operationId"] == operation["operationId"], key
        path_parameters = [p["name"] for p in public.get("parameters", []) if p["in"] == "path"]
        assert path_parameters == [p["name"] for p in operation.get("parameters", [])], key


def required_schemes(operation: dict) -> set[str]:
    """The security schemes an operation names. (API Gateway's definition lists the authorizer
    and the API key as two requirements, the form it imports; the public document, one
    requirement naming both, which is what OpenAPI means by "both".)"""
    return {name for requirement in operation.get("security", []) for name in requirement}


def test_every_write_needs_a_signed_in_reviewer_and_the_storefronts_key_and_reads_need_neither(document):
    for (method, path), operation in operations(document).items():
        write = any(r.signed_in for r in contract.ROUTES if (r.method, r.path) == (method, path))
        assert operation.get("security") == ([{"reviewer": [], "api_key": []}] if write else None), (method, path)
        assert ("401" in operation["responses"]) == write, (method, path)
    schemes = document["components"]["securitySchemes"]
    assert {k: v for k, v in schemes["reviewer"].items() if k != "description"} == {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
    }
    assert "ID token" in schemes["reviewer"]["description"]
    assert "not the reviewer" in schemes["api_key"]["description"]
    assert not any(key.startswith("x-amazon") for key in json.dumps(schemes).split('"'))


def test_every_operation_documents_throttling_and_faults(document):
    for key, operation in operations(document).items():
        assert {"429", "500", "502", "504"} <= operation["responses"].keys(), key


def examples(document: dict):
    """(where, schema, example) for every example in the document's bodies."""
    for name, answer in document["components"]["responses"].items():
        for media_type in answer.get("content", {}).values():
            if "example" in media_type:
                yield f"response {name}", media_type["schema"], media_type["example"]
            for example_name, example in media_type.get("examples", {}).items():
                yield f"response {name} {example_name}", media_type["schema"], example["value"]
    for key, operation in operations(document).items():
        for parameter in operation.get("parameters", []):
            if "example" in parameter:
                yield f"{key} {parameter['name']}", parameter["schema"], parameter["example"]
        for media_type in operation.get("requestBody", {}).get("content", {}).values():
            for name, example in media_type["examples"].items():
                yield f"{key} body {name}", media_type["schema"], example["value"]


def test_every_example_matches_its_schema(document):
    found = list(examples(document))
    for where, schema, example in found:
        assert validator(schema).is_valid(example), where
    assert len(found) >= 15, "the walk should reach every example"


def schema_accepts(name: str, value: object) -> bool:
    return validator(resolve({"$ref": f"#/components/schemas/{name}"})).is_valid(value)


@pytest.mark.parametrize("value", ["sku-1", "a.b_c:d-E9", "x" * 64, "x" * 65, "", "a b", "#SUMMARY", "ключ", "a\n"])
def test_the_id_schema_accepts_exactly_what_the_handler_accepts(value):
    assert schema_accepts("Id", value) == (validation.id_problem("product_id", value) is None)


@pytest.mark.parametrize("value", ["k", "7f9c2b1e-5d4a", "k" * 128, "k" * 129, "", "has space", "ключ"])
def test_the_idempotency_key_schema_accepts_exactly_what_the_handler_accepts(document, value):
    [parameter] = operations(document)[("POST", "/reviews")]["parameters"]
    try:
        validation.parse_idempotency_key((value,))
        accepted = True
    except InvalidInput:
        accepted = False
    assert validator(parameter["schema"]).is_valid(value) == accepted


def handler_accepts(parse, body: dict) -> bool:
    try:
        parse(json.dumps(body).encode())
        return True
    except InvalidInput:
        return False


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "p", "rating": 5},
        {"product_id": "p", "rating": 5.0, "title": "t" * 200, "comment": None},
        {"product_id": "p", "rating": 4.5},
        {"product_id": "p", "rating": True},
        {"product_id": "p", "rating": 6},
        {"product_id": "p", "rating": 1, "title": "t" * 201},
        {"product_id": "p", "rating": 1, "comment": "   "},
        {"product_id": "p", "rating": 1, "verified": True},
        {"product_id": "p", "reviewer_id": "r", "rating": 1},
        {"rating": 1},
    ],
)
def test_the_request_schema_accepts_exactly_what_the_handler_accepts(body):
    assert schema_accepts("NewReview", body) == handler_accepts(validation.parse_review, body)


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 2},
        {"title": None, "comment": None},
        {"title": "t" * 200},
        {"comment": " fine "},
        {},
        {"rating": None},
        {"rating": 0},
        {"title": "  "},
        {"reviewer_id": "me"},
        {"product_id": "p", "rating": 3},
        {"created_at": "2025-11-26T23:30:10.123Z"},
    ],
)
def test_the_edit_schema_accepts_exactly_what_the_handler_accepts(body):
    assert schema_accepts("ReviewEdit", body) == handler_accepts(validation.parse_edit, body)


CORS = {"Vary": "Origin"}
REVIEW = {
    "product_id": "p",
    "review_id": "01JDQ3Z8M4X7V2K9T6B1N5R0CE",
    "reviewer_id": "r",
    "reviewer_name": "R",
    "rating": 5,
    "title": None,
    "comment": None,
    "created_at": "2025-11-26T23:30:10.123Z",
    "updated_at": None,
}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        (("GET", "/reviews", 201, {**JSON_TYPE, **CORS}, json.dumps(REVIEW)), "answered 201"),
        (("POST", "/reviews", 201, JSON_TYPE, json.dumps(REVIEW)), "header Vary missing"),
        (("POST", "/reviews", 201, {"Content-Type": "text/plain", **CORS}, json.dumps(REVIEW)), "Content-Type"),
        (("POST", "/reviews", 201, {**JSON_TYPE, **CORS}, json.dumps({**REVIEW, "rating": 6})), "body is not"),
        (
            (
                "POST",
                "/reviews",
                503,
                {**JSON_TYPE, **CORS},
                json.dumps({"error": "service_unavailable", "message": "m", "details": []}),
            ),
            "header Retry-After missing",
        ),
        (
            (
                "POST",
                "/reviews",
                409,
                {**JSON_TYPE, **CORS},
                json.dumps({"error": "bad_request", "message": "m", "details": []}),
            ),
            "body is not",
        ),
        (("OPTIONS", "/reviews", 204, CORS, ""), "header Access-Control-Allow-Methods missing"),
        (("DELETE", "/reviews", 403, {}, ""), "is not documented"),
    ],
)
def test_answers_the_document_does_not_describe_are_caught(answer, complaint):
    with pytest.raises(AssertionError, match=complaint):
        assert_documented(*answer)


def test_the_id_rules_say_in_words_what_their_patterns_accept(document):
    assert contract.ID_RULE == "1-64 characters from A-Z a-z 0-9 . _ : -"
    assert contract.IDEMPOTENCY_KEY_RULE == "1-128 characters from A-Z a-z 0-9 . _ : -"
    assert document["components"]["schemas"]["Id"]["description"].endswith(contract.ID_RULE)
    problem = validation.id_problem("product_id", "sku#1")
    assert problem is not None and problem.message == f"must be {contract.ID_RULE}"
    with pytest.raises(ValueError, match="not a single character class"):
        contract.characters_rule(contract.REVIEW_ID_PATTERN)
