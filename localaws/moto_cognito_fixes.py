"""Fixes for moto 5.2.5's Cognito user pools, where it differs from Cognito in ways a client
of the pool would notice: what a sign-in accepts, and what the ID token carries.

- An app client allows only its ExplicitAuthFlows (without a list: SRP, custom and refresh
  auth); any other flow is InvalidParameterException "<FLOW> flow not enabled for this client"
  (CreateUserPoolClient ExplicitAuthFlows). moto let every client use every flow, so a page
  signing in with a password would work locally and fail on AWS.
- A client without ReadAttributes reads every standard attribute (name, email,
  email_verified, ...), so the ID token carries them (CreateUserPoolClient ReadAttributes).
  moto put none in the ID token unless the client listed them.
- GlobalSignOut finds the access token's pool in whichever region holds it. A browser calls it
  unsigned, so moto cannot tell the region and looked only in its default one (us-east-1):
  signing out of a pool elsewhere was NotAuthorizedException. moto already looks across
  regions for the other calls a browser makes (InitiateAuth, GetUser).
- A user's password is kept as a salted hash, as Cognito keeps it, not as moto's plain string:
  the emulator saves its state under .local/, and no password may reach a file.
"""

import hashlib
import hmac
import secrets
from typing import Any

from moto.cognitoidp.exceptions import InvalidParameterException
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPoolAttribute,
    CognitoIdpUserPoolClient,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import EmptyResult

# The auth flow of a sign-in -> the ExplicitAuthFlows values that allow it (ALLOW_*, and the
# legacy names AWS still accepts).
_ALLOWED_BY = {
    "USER_PASSWORD_AUTH": {"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"},
    "USER_SRP_AUTH": {"ALLOW_USER_SRP_AUTH"},
    "REFRESH_TOKEN_AUTH": {"ALLOW_REFRESH_TOKEN_AUTH"},
    "REFRESH_TOKEN": {"ALLOW_REFRESH_TOKEN_AUTH"},
    "CUSTOM_AUTH": {"ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"},
    "ADMIN_USER_PASSWORD_AUTH": {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
    "ADMIN_NO_SRP_AUTH": {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
}
DEFAULT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")


def _require_enabled_flow(backend: CognitoIdpBackend, client_id: str, auth_flow: str) -> None:
    client = next((pool.clients[client_id] for pool in backend.user_pools.values() if client_id in pool.clients), None)
    if client is None:
        return  # moto answers ResourceNotFoundException itself
    enabled = set(client.extended_config.get("ExplicitAuthFlows") or DEFAULT_FLOWS)
    if auth_flow in _ALLOWED_BY and not enabled & _ALLOWED_BY[auth_flow]:
        raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")


def _patch_auth_flows() -> None:
    initiate_auth = CognitoIdpBackend.initiate_auth
    admin_initiate_auth = CognitoIdpBackend.admin_initiate_auth

    def initiate(self: CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str]) -> Any:
        _require_enabled_flow(self, client_id, auth_flow)
        return initiate_auth(self, client_id, auth_flow, auth_parameters)

    def admin_initiate(
        self: CognitoIdpBackend, user_pool_id: str, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> Any:
        _require_enabled_flow(self, client_id, auth_flow)
        return admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters)

    CognitoIdpBackend.initiate_auth = initiate  # type: ignore[method-assign]  # a monkeypatch
    CognitoIdpBackend.admin_initiate_auth = admin_initiate  # type: ignore[method-assign]  # a monkeypatch


def _patch_default_read_attributes() -> None:
    listed = CognitoIdpUserPoolClient.get_readable_fields

    def readable_fields(self: CognitoIdpUserPoolClient) -> list[str]:
        return listed(self) or list(CognitoIdpUserPoolAttribute.STANDARD_SCHEMA)

    CognitoIdpUserPoolClient.get_readable_fields = readable_fields  # type: ignore[method-assign]  # a monkeypatch


def _global_sign_out(self: CognitoIdpResponse) -> EmptyResult:
    access_token = self._get_param("AccessToken")
    self._get_region_agnostic_backend()._find_backend_by_access_token(access_token).global_sign_out(access_token)
    return EmptyResult()


class PasswordHash:
    """What a user's password is kept as: moto only ever compares it with `!=` to what a
    sign-in or a password change sends."""

    ITERATIONS = 10_000  # an emulator's hash: a sign-in costs about 5 ms, not a brute-force defence

    def __init__(self, password: str) -> None:
        self.salt = secrets.token_bytes(16)
        self.digest = self._digest(password)

    def _digest(self, password: str) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.ITERATIONS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and hmac.compare_digest(self.digest, self._digest(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # compared, never a key


def _stored_password(user: CognitoIdpUser) -> PasswordHash | None:
    hashed: PasswordHash | None = vars(user)["_password_hash"]
    return hashed


def _store_password(user: CognitoIdpUser, password: str | None) -> None:
    vars(user)["_password_hash"] = None if password is None else PasswordHash(password)


def apply() -> list[str]:
    CognitoIdpUser.password = property(_stored_password, _store_password)  # type: ignore[assignment]  # a monkeypatch
    _patch_auth_flows()
    _patch_default_read_attributes()
    CognitoIdpResponse.global_sign_out = _global_sign_out  # type: ignore[method-assign]  # a monkeypatch
    return [
        "cognito-idp InitiateAuth/AdminInitiateAuth: only the app client's ExplicitAuthFlows",
        "cognito-idp ID tokens: every standard attribute when the client lists no ReadAttributes",
        "cognito-idp GlobalSignOut: the access token's pool in any region (browsers call it unsigned)",
        "cognito-idp users: the password kept as a salted hash (the saved state holds no password)",
    ]
