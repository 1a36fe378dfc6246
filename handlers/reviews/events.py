"""API Gateway REST proxy events (payload v1) → Request.

API Gateway sends null, not {}, for absent headers, query strings and path parameters, and
keeps only the last value of a repeated query key in queryStringParameters.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from . import contract
from .errors import InvalidInput
from .responses import HttpError

Event = dict[str, Any]


@dataclass(frozen=True)
class Request:
    method: str
    resource: str
    # Lower-cased names; every distinct value seen in headers and multiValueHeaders.
    headers: dict[str, tuple[str, ...]]
    # Every value of each query key, in order.
    query: dict[str, tuple[str, ...]]
    path_parameters: dict[str, str]
    body: bytes
    # What API Gateway's Cognito authorizer passes on: the ID token's claims, every value a
    # string (requestContext.authorizer.claims); None when no authorizer ran.
    claims: dict[str, object] | None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[-1] if values else None


def parse_headers(event: Event) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    for name, value in (event.get("headers") or {}).items():
        values.setdefault(name.lower(), []).append(value)
    for name, many in (event.get("multiValueHeaders") or {}).items():
        seen = values.setdefault(name.lower(), [])
        seen.extend(value for value in many or () if value not in seen)
    return {name: tuple(dict.fromkeys(found)) for name, found in values.items()}


def parse_query(event: Event) -> dict[str, tuple[str, ...]]:
    many = event.get("multiValueQueryStringParameters")
    if many:
        return {name: tuple(values or ()) for name, values in many.items()}
    return {name: (value,) for name, value in (event.get("queryStringParameters") or {}).items()}


def decode_body(event: Event) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("The body is marked base64 but is not valid base64.") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > contract.MAX_BODY_BYTES:
        raise HttpError(contract.PAYLOAD_TOO_LARGE)
    return raw


def parse_request(event: Event, headers: dict[str, tuple[str, ...]]) -> Request:
    return Request(
        method=event.get("httpMethod") or "",
        resource=event.get("resource") or "",
        headers=headers,
        query=parse_query(event),
        path_parameters=event.get("pathParameters") or {},
        body=decode_body(event),
        claims=authorizer_claims(event),
    )


def authorizer_claims(event: Event) -> dict[str, object] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    return claims if isinstance(claims, dict) else None


def request_id(event: Event, context: object) -> str:
    found = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", "-")
    return str(found)
