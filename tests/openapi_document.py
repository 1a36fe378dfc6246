"""Checking an answer against the public OpenAPI document (stacks/openapi.py): the documented
status, headers, media type and body schema of its operation."""

import functools
import json

# jsonschema_rs (schemathesis validates with it too) reads patterns as ECMA-262 regexes, as
# JSON Schema says; the jsonschema package uses Python's `re`, whose `$` also matches before a
# trailing newline, so it would accept "sku-1\n" as an id.
from jsonschema_rs import Draft202012Validator, ValidationError

from stacks.openapi import public_document

# The function's answers for requests API Gateway never sends it (see the document's NotFound
# and MethodNotAllowed descriptions): they belong to no operation.
UNROUTED_ANSWERS = {404: "NotFound", 405: "MethodNotAllowed"}


@functools.cache
def document() -> dict:
    return public_document()


def resolve(node: dict) -> dict:
    """A `$ref` to a component, followed; anything else as it is."""
    while "$ref" in node:
        kind, name = node["$ref"].removeprefix("#/components/").split("/")
        node = document()["components"][kind][name]
    return node


def validator(schema: dict) -> Draft202012Validator:
    """A JSON Schema validator for a schema of the document, its `$ref`s resolved in the document."""
    return Draft202012Validator({**schema, "components": document()["components"]})


def documented_answer(method: str, path: str, status: int) -> dict:
    """The Response object the document gives for `status` of `method path`; AssertionError if none."""
    operation = document()["paths"].get(path, {}).get(method.lower())
    if operation is None:
        assert status in UNROUTED_ANSWERS, f"{method} {path} is not documented, nor is {status} an unrouted answer"
        return resolve({"$ref": f"#/components/responses/{UNROUTED_ANSWERS[status]}"})
    answers = operation["responses"]
    assert str(status) in answers, f"{method} {path} answered {status}; documented: {', '.join(answers)}"
    return resolve(answers[str(status)])


def assert_documented(method: str, path: str, status: int, headers: dict[str, str], body: str) -> None:
    """Fails, saying where, unless the answer is one the document describes."""
    answer = documented_answer(method, path, status)
    where = f"{method} {path} {status}"
    present = {name.lower(): value for name, value in headers.items()}
    for name, header in answer.get("headers", {}).items():
        header = resolve(header)
        value = present.get(name.lower())
        assert value is not None or not header.get("required"), f"{where}: header {name} missing"
        if value is not None:
            _assert_valid(header["schema"], value, f"{where}: header {name}")
    content = answer.get("content")
    if not content:
        assert body == "", f"{where}: documented without a body, answered {body!r}"
        return
    media_type = present.get("content-type", "").split(";")[0].strip()
    assert media_type in content, f"{where}: Content-Type {media_type!r}, documented {', '.join(content)}"
    _assert_valid(content[media_type]["schema"], json.loads(body), f"{where}: body")


def _assert_valid(schema: dict, instance: object, what: str) -> None:
    try:
        validator(schema).validate(instance)
    except ValidationError as error:
        raise AssertionError(f"{what} is not as documented: {error.message} (at {list(error.instance_path)})") from None
