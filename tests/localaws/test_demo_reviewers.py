"""The demo reviewers `make up` creates and `make reviewers` hands out, in a user pool made
the way the stack makes the reviewers' pool: e-mail addresses as user names, the display name
a required attribute, an app client that reads only the display name.
"""

import subprocess

import pytest

from deploy.reviewers import DEMO_REVIEWERS, ensure_demo_reviewers, set_password, sign_in_instructions
from handlers.reviews import contract
from tests.localaws.apis import aws_client
from tests.localaws.identity import LocalPool, claims_of, sign_in


@pytest.fixture
def pool(running_emulator, request) -> LocalPool:
    cognito = aws_client(running_emulator.endpoint, "cognito-idp")
    created = cognito.create_user_pool(
        PoolName=f"demo-reviewers-{request.node.name}"[:128],
        UsernameAttributes=["email"],
        Schema=[{"Name": contract.DISPLAY_NAME_ATTRIBUTE, "AttributeDataType": "String", "Required": True}],
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireNumbers": True}},
    )["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=created["Id"],
        ClientName="storefront",
        ReadAttributes=[contract.DISPLAY_NAME_ATTRIBUTE],
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]
    return LocalPool(created["Id"], created["Arn"], client["ClientId"], running_emulator.endpoint)


def test_the_demo_reviewers_are_created_once_confirmed_and_named(pool):
    cognito = pool.cognito()
    assert ensure_demo_reviewers(cognito, pool.id) == list(DEMO_REVIEWERS)
    assert ensure_demo_reviewers(cognito, pool.id) == []  # day two: already there

    for reviewer in DEMO_REVIEWERS:
        user = cognito.admin_get_user(UserPoolId=pool.id, Username=reviewer.email)
        attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
        assert user["UserStatus"] == "CONFIRMED"  # can sign in, no new-password challenge
        assert attributes[contract.DISPLAY_NAME_ATTRIBUTE] == reviewer.display_name
        assert attributes["email_verified"] == "true"


def test_an_existing_reviewers_password_survives_make_up(pool):
    cognito = pool.cognito()
    ensure_demo_reviewers(cognito, pool.id)
    ada = DEMO_REVIEWERS[0]
    password = set_password(cognito, pool.id, ada)

    ensure_demo_reviewers(cognito, pool.id)

    assert claims_of(sign_in(pool, ada.email, password)["IdToken"])[contract.DISPLAY_NAME_ATTRIBUTE] == "Ada"


def test_each_password_is_new_and_the_printed_curl_line_signs_in(pool):
    cognito = pool.cognito()
    ensure_demo_reviewers(cognito, pool.id)
    first = {r.email: set_password(cognito, pool.id, r) for r in DEMO_REVIEWERS}
    second = {r.email: set_password(cognito, pool.id, r) for r in DEMO_REVIEWERS}
    assert not set(first.values()) & set(second.values())

    text = sign_in_instructions(pool.endpoint, pool.client_id, "http://127.0.0.1:1/v1", second)

    for reviewer in DEMO_REVIEWERS:
        assert f"{reviewer.email:<20} {second[reviewer.email]}" in text
    token_command = text[text.index("TOKEN=") : text.index("  curl -s -X POST")]
    token = subprocess.run(
        ["bash", "-c", token_command + '\necho "$TOKEN"'], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    claims = claims_of(token)
    assert (claims["token_use"], claims[contract.DISPLAY_NAME_ATTRIBUTE]) == ("id", "Ada")
