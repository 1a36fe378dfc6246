"""The emulator's Cognito user pools as a sign-in page and the local gateway meet them: the
pool's keys where Cognito serves them, sign-in only with the flows the app client allows, ID
tokens carrying the user's attributes, and CORS for exactly the calls the storefront page makes
(localaws/emulator_app.py: from the page's origin, InitiateAuth and GlobalSignOut only).
"""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from joserfc import jwk, jwt

from handlers.reviews import contract
from localaws import emulator
from tests.localaws.apis import REGION
from tests.localaws.identity import (
    PASSWORD_AUTH_FLOWS,
    LocalPool,
    claims_of,
    create_user,
    create_user_pool,
    password_sign_in,
    sign_in,
)

PAGE_ORIGIN = "http://localhost:8081"
COGNITO = "AWSCognitoIdentityProviderService"


@pytest.fixture(scope="module")
def pool(running_emulator) -> LocalPool:
    return create_user_pool(running_emulator.endpoint, "emulator-cognito")


@pytest.fixture(scope="module")
def user(pool) -> tuple[str, str]:
    attributes = {"name": "Grace Hopper", "email": "grace@example.com", "email_verified": "true"}
    return "grace", create_user(pool, "grace", attributes)


def request(url: str, method: str, headers: dict[str, str], body: dict | None = None):
    """(status, headers, body text) without raising on 4xx/5xx."""
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=10) as reply:
            return reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def browser_call(pool: LocalPool, operation: str, body: dict, target_prefix: str = COGNITO):
    headers = {
        "Origin": PAGE_ORIGIN,
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"{target_prefix}.{operation}",
    }
    return request(pool.endpoint + "/", "POST", headers, body)


def test_the_pools_tokens_verify_against_the_jwks_the_emulator_serves(pool, user):
    with urllib.request.urlopen(f"{pool.endpoint}/{pool.id}/.well-known/jwks.json", timeout=10) as reply:
        keys = jwk.KeySet.import_key_set(json.load(reply))
    token = sign_in(pool, *user)["IdToken"]
    (key,) = keys.keys
    assert (key.kid, key.get("alg")) == ("dummy", "RS256")
    assert jwt.decode(token, keys, algorithms=["RS256"]).claims["iss"] == pool.issuer


def test_an_id_token_carries_the_users_standard_attributes_when_the_client_lists_none(pool, user):
    claims = claims_of(sign_in(pool, *user)["IdToken"])
    assert (claims["name"], claims["email"], claims["email_verified"]) == ("Grace Hopper", "grace@example.com", "true")


def test_an_id_token_carries_only_the_attributes_a_client_may_read(pool, user):
    cognito = pool.cognito()
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool.id,
        ClientName="names-only",
        ReadAttributes=["name"],
        ExplicitAuthFlows=PASSWORD_AUTH_FLOWS,
    )["UserPoolClient"]["ClientId"]
    tokens = cognito.initiate_auth(**password_sign_in(client_id, *user))["AuthenticationResult"]
    claims = claims_of(tokens["IdToken"])
    assert claims["name"] == "Grace Hopper"
    assert "email" not in claims


@pytest.mark.parametrize(
    "flows, refused",
    [
        (["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], True),
        (None, True),  # AWS's default: SRP, custom and refresh auth
        (["ALLOW_USER_PASSWORD_AUTH"], False),
    ],
    ids=["srp-only", "default-flows", "password-allowed"],
)
def test_a_password_sign_in_needs_a_client_that_allows_it(pool, user, flows, refused):
    cognito = pool.cognito()
    settings = {"ExplicitAuthFlows": flows} if flows else {}
    client_id = cognito.create_user_pool_client(UserPoolId=pool.id, ClientName="flows", **settings)["UserPoolClient"][
        "ClientId"
    ]
    if refused:
        with pytest.raises(ClientError) as raised:
            cognito.initiate_auth(**password_sign_in(client_id, *user))
        assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
        assert raised.value.response["Error"]["Message"] == "USER_PASSWORD_AUTH flow not enabled for this client"
    else:
        assert "IdToken" in cognito.initiate_auth(**password_sign_in(client_id, *user))["AuthenticationResult"]


@pytest.fixture(scope="module")
def page_pool(tmp_path_factory) -> Iterator[tuple[LocalPool, str, str]]:
    """(a pool, a user's name and password) in an emulator of its own, which lets the storefront
    page's origin (PAGE_ORIGIN) call Cognito from a browser, as `make up` starts it."""
    state_dir, port = tmp_path_factory.mktemp("page-emulator"), emulator.free_port()
    started = emulator.start(port, state_dir, browser_origin=PAGE_ORIGIN)
    try:
        pool = create_user_pool(started.endpoint, "emulator-cognito-page")
        yield pool, "grace", create_user(pool, "grace", {contract.DISPLAY_NAME_ATTRIBUTE: "Grace"})
    finally:
        emulator.stop(port, state_dir)


def test_the_storefront_may_preflight_and_call_the_sign_in_and_sign_out(page_pool):
    pool, username, password = page_pool
    preflight = {
        "Origin": PAGE_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
    }
    status, headers, _ = request(pool.endpoint + "/", "OPTIONS", preflight)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert headers["Access-Control-Allow-Methods"] == "POST"

    status, headers, text = browser_call(pool, "InitiateAuth", password_sign_in(pool.client_id, username, password))
    assert status == 200, text
    assert headers.get_all("Access-Control-Allow-Origin") == [PAGE_ORIGIN]
    tokens = json.loads(text)["AuthenticationResult"]

    status, headers, text = browser_call(pool, "GlobalSignOut", {"AccessToken": tokens["AccessToken"]})
    assert status == 200, text
    assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN


def test_a_wrong_password_reaches_the_page_as_cognitos_error(page_pool):
    pool, username, _ = page_pool
    status, headers, text = browser_call(pool, "InitiateAuth", password_sign_in(pool.client_id, username, "wrong"))
    assert status == 400
    assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert json.loads(text)["__type"] == "NotAuthorizedException"


def test_the_page_may_call_no_other_operation_of_cognito_or_any_service(page_pool):
    pool, username, _ = page_pool
    status, headers, _ = browser_call(pool, "AdminDeleteUser", {"UserPoolId": pool.id, "Username": username})
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    status, _, _ = browser_call(pool, "CreateTable", {"TableName": "from-a-web-page"}, "DynamoDB_20120810")
    assert status == 403
    assert "from-a-web-page" not in emulator.client("dynamodb", pool.endpoint, REGION).list_tables()["TableNames"]
    assert pool.cognito().admin_get_user(UserPoolId=pool.id, Username=username)["Enabled"]
