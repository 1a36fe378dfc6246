"""Contract tests: schemathesis generates requests from docs/openapi.json (valid and invalid
ones) against the real stack, deployed into the emulator and served by the local gateway (the
shared deployment: these tests only read the stack, or write products of their own), and
checks that every answer is documented: its status, headers, media type and body schema, and
never a server error. Every request carries the API key and a signed-in reviewer's ID token,
so the writes reach the function (the authorizer's 401 is tested in
tests/localaws/test_cognito_authorizer.py and tests/test_signed_in_reviews.py).

Bounded and repeatable: a fixed seed and number of examples per operation, no example
database. The shared deployment's stage allows 1,000 requests a second, so that every request
reaches the function (429 itself is documented on every operation).
"""

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handlers.reviews import contract
from tests.localaws.identity import signed_in
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.emulator

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261128,
        "generation": {"max-examples": 100, "database": "none", "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_path(PROJECT_ROOT / "docs" / "openapi.json", config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Whatever the document calls invalid is rejected. (Not the converse: the document cannot say
    # "exactly one of product_id and reviewer_id", and a repeated review is a 409.)
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def live_api(shared_deployment) -> tuple[str, dict[str, str]]:
    """(the stage URL, the API-key and Authorization headers) of the shared deployment (it allows
    1,000 requests a second, so every request reaches the function), signed in as a reviewer of
    this module's own (an ID token lasts an hour: longer than the module)."""
    tokens = signed_in(shared_deployment, "contract@example.com", "Contract")
    headers = {contract.API_KEY_HEADER: shared_deployment.api_key(), contract.AUTHORIZATION_HEADER: tokens["IdToken"]}
    return shared_deployment.gateway.url, headers


# Parametrized only to give each operation's test a node id of its own: under pytest 9,
# schemathesis names all five after the function alone, and pytest-xdist (make test) would run
# just one of them.
@schema.parametrize()
@pytest.mark.parametrize("checks", [CHECKS], ids=["all-checks"])
def test_every_answer_is_documented(case, checks, live_api):
    url, headers = live_api
    case.call_and_validate(base_url=url, headers=headers, checks=checks)
