"""User pools in the emulator and the tokens of their users, genuine and forged: the building
blocks of the tests of the local gateway's Cognito authorizer.

moto signs every pool's tokens with one RSA key that ships inside moto (kid "dummy", RS256),
so a test can also sign tokens the pool never issued: expired ones, ones naming another pool or
an unknown client. A token signed by any other key, or with another algorithm, is a forgery.
"""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from botocore.exceptions import ClientError
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

from deploy.local_target import LocalTarget
from handlers.reviews import contract
from localaws import emulator
from tests.localaws.apis import aws_client

MOTO_KEY = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
MOTO_KID = "dummy"
PASSWORD_AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@dataclass(frozen=True)
class LocalPool:
    id: str
    arn: str
    client_id: str  # an app client allowed to sign in with a password (USER_PASSWORD_AUTH)
    endpoint: str

    @property
    def region(self) -> str:
        return self.id.split("_")[0]  # a pool id is <region>_<suffix>

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}"

    def cognito(self):
        return emulator.client("cognito-idp", self.endpoint, self.region)


def deployed_pool(target: LocalTarget) -> LocalPool:
    """The stack's user pool and storefront app client, from a local deployment's outputs."""
    outputs = target.outputs()
    pool = target.client("cognito-idp").describe_user_pool(UserPoolId=outputs["user_pool_id"])["UserPool"]
    return LocalPool(pool["Id"], pool["Arn"], outputs["user_pool_client_id"], target.endpoint)


def signed_in(target: LocalTarget, email: str, display_name: str) -> dict[str, str]:
    """The tokens of a new reviewer in a local deployment's user pool (not a demo reviewer, whose
    password `make reviewers` may change under the test)."""
    pool = deployed_pool(target)
    password = create_user(pool, email, {"email": email, contract.DISPLAY_NAME_ATTRIBUTE: display_name})
    return sign_in(pool, email, password)


_REVIEWER_TOKENS: dict[tuple[str, str], str] = {}  # (user pool id, reviewer) -> ID token


def reviewer_token(target: LocalTarget, name: str, display_name: str | None = None) -> str:
    """An ID token of the reviewer `name` (<name>@example.com) in a local deployment's user pool:
    made for the tests on first use (or given a new password, if another test process or an
    earlier run made them) and signed in once per test process (a token lasts an hour)."""
    pool = deployed_pool(target)
    if (pool.id, name) not in _REVIEWER_TOKENS:
        email = f"{name}@example.com"
        _REVIEWER_TOKENS[(pool.id, name)] = _signed_in_as_ours(pool, email, display_name or name)["IdToken"]
    return _REVIEWER_TOKENS[(pool.id, name)]


def _signed_in_as_ours(pool: LocalPool, email: str, display_name: str, attempts: int = 5) -> dict[str, str]:
    """Signed in as the user `email`, made if new, else given a password of ours: another test
    process sharing the deployment may set its own between our setting one and signing in, and
    then we set ours again."""
    for _ in range(attempts):
        try:
            password = create_user(pool, email, {"email": email, contract.DISPLAY_NAME_ATTRIBUTE: display_name})
        except ClientError as error:
            if error.response["Error"]["Code"] != "UsernameExistsException":
                raise
            password = "Aa1!" + secrets.token_urlsafe(16)
            pool.cognito().admin_set_user_password(
                UserPoolId=pool.id, Username=email, Password=password, Permanent=True
            )
        try:
            return sign_in(pool, email, password)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotAuthorizedException":
                raise
    raise RuntimeError(f"{email} could not sign in: its password kept changing under the test")


def writer_token(target: LocalTarget) -> str:
    """An ID token for the writes of tests that are not about who writes: one reviewer made for
    them per user pool."""
    return reviewer_token(target, "tests", "Tests")


def create_user_pool(endpoint: str, name: str) -> LocalPool:
    cognito = aws_client(endpoint, "cognito-idp")
    pool = cognito.create_user_pool(PoolName=name)["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=f"{name}-web", ExplicitAuthFlows=PASSWORD_AUTH_FLOWS
    )["UserPoolClient"]
    return LocalPool(pool["Id"], pool["Arn"], client["ClientId"], endpoint)


def create_user(pool: LocalPool, username: str, attributes: dict[str, str], groups: tuple[str, ...] = ()) -> str:
    """A confirmed user with a random password; returns the password."""
    cognito = pool.cognito()
    cognito.admin_create_user(
        UserPoolId=pool.id,
        Username=username,
        UserAttributes=[{"Name": name, "Value": value} for name, value in attributes.items()],
        MessageAction="SUPPRESS",
    )
    password = "Aa1!" + secrets.token_urlsafe(16)
    cognito.admin_set_user_password(UserPoolId=pool.id, Username=username, Password=password, Permanent=True)
    for group in groups:
        cognito.create_group(UserPoolId=pool.id, GroupName=group)
        cognito.admin_add_user_to_group(UserPoolId=pool.id, Username=username, GroupName=group)
    return password


def password_sign_in(client_id: str, username: str, password: str) -> dict:
    """InitiateAuth's parameters for a sign-in with a password (USER_PASSWORD_AUTH)."""
    return {
        "ClientId": client_id,
        "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": username, "PASSWORD": password},
    }


def sign_in(pool: LocalPool, username: str, password: str) -> dict[str, str]:
    """The user's tokens (IdToken, AccessToken, RefreshToken), as the storefront gets them."""
    answer = pool.cognito().initiate_auth(**password_sign_in(pool.client_id, username, password))
    return answer["AuthenticationResult"]


def claims_of(token: str) -> dict:
    """A token's claims, unverified (what the test itself issued or was issued)."""
    return json.loads(_unb64(token.split(".")[1]))


def sign(claims: dict, key: jwk.Key = MOTO_KEY, header: dict | None = None) -> str:
    """A token with `claims`, signed by `key` (RS256, kid "dummy" unless `header` says otherwise)."""
    return jwt.encode(header or {"alg": "RS256", "kid": MOTO_KID}, claims, key)


def unsigned(claims: dict) -> str:
    """`alg: none`: a token that claims it needs no signature."""
    return f"{_b64(json.dumps({'alg': 'none', 'kid': MOTO_KID}).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_with_public_key(claims: dict) -> str:
    """HS256 keyed with the pool's public key (PEM): passes a verifier that takes `alg` from the
    token and uses the published key as an HMAC secret."""
    public_pem = MOTO_KEY.as_pem(private=False)
    signing_input = (
        f"{_b64(json.dumps({'alg': 'HS256', 'kid': MOTO_KID}).encode())}.{_b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def another_key() -> jwk.RSAKey:
    return jwk.RSAKey.generate_key(2048, parameters={"kid": MOTO_KID, "alg": "RS256"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
