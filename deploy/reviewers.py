"""Demo reviewers in the local user pool: `make up` creates them, `make reviewers` says how to
sign in as each.

No password is kept anywhere. `make up` creates each reviewer (confirmed, e-mail verified) with
a random password it forgets at once; `make reviewers` sets a fresh random password for each
and prints it to the terminal only, like `make api-key` prints the key. Running it again
replaces the passwords; tokens already issued stay valid until they expire.
"""

import json
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from handlers.reviews import contract

from .local_target import LocalTarget
from .progress import step

# Sign-in from a browser or curl: what the storefront's app client allows in `dev`.
PASSWORD_AUTH_FLOW = "USER_PASSWORD_AUTH"
PASSWORD_SIGN_IN_SETTING = "REVIEWS_USER_PASSWORD_AUTH=true lets the app client sign in with a password"
INITIATE_AUTH_TARGET = "AWSCognitoIdentityProviderService.InitiateAuth"


@dataclass(frozen=True)
class DemoReviewer:
    email: str  # the user name they sign in with (the pool's usernames are e-mail addresses)
    display_name: str  # shown with their reviews (contract.DISPLAY_NAME_ATTRIBUTE)

    def attributes(self) -> list[dict[str, str]]:
        return [
            {"Name": "email", "Value": self.email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": contract.DISPLAY_NAME_ATTRIBUTE, "Value": self.display_name},
        ]


DEMO_REVIEWERS = (DemoReviewer("ada@example.com", "Ada"), DemoReviewer("grace@example.com", "Grace"))
# `make up`'s smoke test signs in as a reviewer of its own, so that it never changes the demo
# reviewers' passwords.
SMOKE_REVIEWER = DemoReviewer("smoke-test@example.com", "Smoke test")


def new_password() -> str:
    """Random, and with every character class a password policy may require."""
    return secrets.token_urlsafe(24) + "Aa1-"


def ensure_demo_reviewers(cognito: Any, user_pool_id: str) -> list[DemoReviewer]:
    return ensure_reviewers(cognito, user_pool_id, DEMO_REVIEWERS)


def ensure_reviewers(cognito: Any, user_pool_id: str, reviewers: tuple[DemoReviewer, ...]) -> list[DemoReviewer]:
    """Creates the reviewers the pool lacks (a new pool, or a restarted emulator); returns those
    it created. One that exists is left as it is, password included."""
    created = []
    for reviewer in reviewers:
        try:
            cognito.admin_get_user(UserPoolId=user_pool_id, Username=reviewer.email)
            continue
        except cognito.exceptions.UserNotFoundException:
            pass
        cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=reviewer.email,
            UserAttributes=reviewer.attributes(),
            MessageAction="SUPPRESS",  # no invitation e-mail
        )
        set_password(cognito, user_pool_id, reviewer)  # confirms the account; nobody learns this one
        created.append(reviewer)
    return created


def set_password(cognito: Any, user_pool_id: str, reviewer: DemoReviewer) -> str:
    password = new_password()
    cognito.admin_set_user_password(UserPoolId=user_pool_id, Username=reviewer.email, Password=password, Permanent=True)
    return password


def id_token(cognito: Any, client_id: str, reviewer: DemoReviewer, password: str) -> str:
    """The reviewer's ID token, signed in as the storefront signs in."""
    answer = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow=PASSWORD_AUTH_FLOW,
        AuthParameters={"USERNAME": reviewer.email, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]["IdToken"]


def sign_in_instructions(cognito_endpoint: str, client_id: str, api_url: str, passwords: dict[str, str]) -> str:
    """What `make reviewers` prints: each reviewer's e-mail and password, and curl lines that
    get an ID token and post a review with it."""
    lines = ["Demo reviewers (passwords are new on every `make reviewers`, and written nowhere):"]
    lines += [
        f"  {reviewer.display_name:<8} {reviewer.email:<20} {passwords[reviewer.email]}" for reviewer in DEMO_REVIEWERS
    ]
    first = DEMO_REVIEWERS[0]
    sign_in = {
        "ClientId": client_id,
        "AuthFlow": PASSWORD_AUTH_FLOW,
        "AuthParameters": {"USERNAME": first.email, "PASSWORD": passwords[first.email]},
    }
    review = {"product_id": "p-1", "rating": 4, "comment": "Sturdy"}
    lines += [
        "",
        f"Sign in as {first.display_name} (an ID token, valid for an hour) and post a review:",
        f"  TOKEN=$(curl -s {cognito_endpoint}/ -H 'Content-Type: application/x-amz-json-1.1' \\",
        f"       -H 'X-Amz-Target: {INITIATE_AUTH_TARGET}' -d {shlex.quote(json.dumps(sign_in))} \\",
        '       | python3 -c \'import json,sys; print(json.load(sys.stdin)["AuthenticationResult"]["IdToken"])\')',
        f'  curl -s -X POST {api_url}/reviews -H "{contract.AUTHORIZATION_HEADER}: $TOKEN" \\',
        f"       -H \"{contract.API_KEY_HEADER}: $(make -s api-key)\" -H 'Content-Type: application/json' \\",
        f"       -d {shlex.quote(json.dumps(review))}",
    ]
    return "\n".join(lines)


def create_demo_reviewers(target: LocalTarget, outputs: dict[str, str]) -> None:
    """`make up`'s step: the demo reviewers, in the pool the deploy left (`outputs`)."""
    with step("Demo reviewers in the user pool (make reviewers says how to sign in)"):
        created = ensure_demo_reviewers(target.client("cognito-idp"), outputs["user_pool_id"])
        print(f"    created {', '.join(r.email for r in created)}" if created else "    already there")


def reviewer_passwords(target: LocalTarget) -> dict[str, str]:
    """A fresh password for each demo reviewer (created first if missing), by e-mail."""
    cognito, pool_id = target.client("cognito-idp"), target.outputs()["user_pool_id"]
    ensure_demo_reviewers(cognito, pool_id)
    return {reviewer.email: set_password(cognito, pool_id, reviewer) for reviewer in DEMO_REVIEWERS}


def reviewers_text(target: LocalTarget) -> str:
    """What `make reviewers` prints: new passwords, and how to sign in with them."""
    passwords = reviewer_passwords(target)
    outputs = target.outputs()
    text = sign_in_instructions(target.endpoint, outputs["user_pool_client_id"], target.gateway.url, passwords)
    client = target.client("cognito-idp").describe_user_pool_client(
        UserPoolId=outputs["user_pool_id"], ClientId=outputs["user_pool_client_id"]
    )["UserPoolClient"]
    if f"ALLOW_{PASSWORD_AUTH_FLOW}" not in client.get("ExplicitAuthFlows", []):
        text += f"\n\nThis environment's app client does not allow {PASSWORD_AUTH_FLOW}: {PASSWORD_SIGN_IN_SETTING}."
    return text
