"""A Cognito user-pool authorizer, as API Gateway runs one for a REST API method.

The token comes from the authorizer's identity source (a header; `Bearer ` before it is
allowed). It passes only when:
- it is a JWS whose issuer (`iss`) is one of the authorizer's user pools;
- its signature verifies against that pool's JWKS (keys fetched from the emulator, cached, and
  fetched again for an unknown `kid`), with the algorithm the key names (`alg` in the JWKS),
  never the one the token's header asks for: `alg: none` and HS256 tokens are refused;
- it has not expired;
- it is the kind of token the method takes: an ID token (`token_use: id`) issued to an app
  client of the pool (`aud`) when the method has no OAuth scopes; an access token
  (`token_use: access`, `client_id`) carrying one of the method's scopes when it has some
  (API Gateway's Method.authorizationScopes).
Anything else is 401 `Unauthorized` (an expired token: `The incoming token has expired`).

The function then receives the token's claims as API Gateway delivers them
(`requestContext.authorizer.claims`): every value a string, `exp` and `iat` as dates
(`delivered_claims`). Sources: docs/local-aws.md.
"""

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Callable

from joserfc import jwk, jwt
from joserfc.errors import ExpiredTokenError, JoseError

from localaws.deployment import Authorizer, UserPool
from localaws.gateway_responses import EXPIRED_TOKEN, UNAUTHORIZED, Refusal

BEARER = "bearer "
# An unknown kid fetches the pool's JWKS again at most this often: a stream of forged kids
# costs one fetch per interval, not one per request.
JWKS_REFETCH_SECONDS = 10.0
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class UserPoolKeys:
    """The signing keys of user pools, by pool id and kid, fetched from `jwks_url(pool)`."""

    def __init__(self, jwks_url: Callable[[UserPool], str], refetch_seconds: float = JWKS_REFETCH_SECONDS):
        self.jwks_url = jwks_url
        self.refetch_seconds = refetch_seconds
        self.keys: dict[str, dict[str, jwk.Key]] = {}  # pool id -> kid -> key
        self.fetched_at: dict[str, float] = {}
        self.fetches = 0  # how many times a JWKS was fetched (tests read it)
        self.lock = threading.Lock()

    def key(self, pool: UserPool, kid: str) -> jwk.Key | None:
        with self.lock:
            known = self.keys.get(pool.id, {})
            fetched_at = self.fetched_at.get(pool.id)
            recently = fetched_at is not None and time.monotonic() - fetched_at < self.refetch_seconds
            if kid in known or recently:
                return known.get(kid)
            self.fetched_at[pool.id] = time.monotonic()
            self.fetches += 1
            self.keys[pool.id] = known = _fetch_keys(self.jwks_url(pool))
            return known.get(kid)


def _fetch_keys(url: str) -> dict[str, jwk.Key]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        key_set = jwk.KeySet.import_key_set(json.load(reply))
    return {key.kid: key for key in key_set.keys if key.kid}


def authorize(
    header_value: str | None, authorizer: Authorizer, scopes: tuple[str, ...], keys: UserPoolKeys
) -> dict[str, str]:
    """The claims the function receives, or Refusal(UNAUTHORIZED / EXPIRED_TOKEN)."""
    token = _token(header_value)
    header, unverified = _peek(token)
    pool = next((p for p in authorizer.user_pools if p.issuer == unverified.get("iss")), None)
    if pool is None or not isinstance(header.get("kid"), str):
        raise Refusal(UNAUTHORIZED)
    key = keys.key(pool, header["kid"])
    algorithm = key.get("alg") if key is not None else None
    if key is None or not isinstance(algorithm, str):
        raise Refusal(UNAUTHORIZED)  # no such key, or a key that does not say its algorithm
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm]).claims
        _claims_registry(pool, scopes).validate(claims)
    except ExpiredTokenError:
        raise Refusal(EXPIRED_TOKEN) from None
    except JoseError:
        raise Refusal(UNAUTHORIZED) from None
    # An ID token names its app client in `aud`, an access token in `client_id`.
    if claims.get("client_id" if scopes else "aud") not in pool.client_ids:
        raise Refusal(UNAUTHORIZED)
    if scopes and not set(scopes) & set(str(claims.get("scope", "")).split()):
        raise Refusal(UNAUTHORIZED)
    return delivered_claims(claims)


def _token(header_value: str | None) -> str:
    token = (header_value or "").strip()
    if token.lower().startswith(BEARER):
        token = token[len(BEARER) :].strip()
    if not token:
        raise Refusal(UNAUTHORIZED)
    return token


def _peek(token: str) -> tuple[dict, dict]:
    """The header and claims of a compact JWS, unverified: only to choose the pool and key."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a compact JWS")
        header, claims = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except ValueError:  # bad base64, bad JSON or bad UTF-8
        raise Refusal(UNAUTHORIZED) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Refusal(UNAUTHORIZED)
    return header, claims


def _claims_registry(pool: UserPool, scopes: tuple[str, ...]) -> jwt.JWTClaimsRegistry:
    """Issued by the pool, not expired, and an ID token for a method without scopes, an access
    token for one with scopes."""
    return jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": pool.issuer},
        exp={"essential": True},
        token_use={"essential": True, "value": "access" if scopes else "id"},
    )


def delivered_claims(claims: dict) -> dict[str, str]:
    """The claims as API Gateway hands them to a REST API Lambda proxy function: all strings;
    `exp` and `iat` as Java's Date.toString() in UTC ("Tue Apr 04 18:39:39 UTC 2023"), other
    numbers as digits (`auth_time` stays epoch seconds), booleans "true"/"false", arrays
    comma-joined ("a,b"). Objects (not seen in Cognito's ID tokens) as compact JSON."""
    return {name: _date(value) if name in ("exp", "iat") else _text(value) for name, value in claims.items()}


def _date(epoch_seconds: object) -> str:
    if not isinstance(epoch_seconds, (int, float)) or isinstance(epoch_seconds, bool):
        return _text(epoch_seconds)
    t = time.gmtime(epoch_seconds)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {clock} UTC {t.tm_year}"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
