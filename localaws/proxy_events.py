"""HTTP request -> API Gateway REST (payload v1) proxy event, and function result -> HTTP.

Event rules (API Gateway REST proxy integration): absent query strings, path parameters
and stage variables are null, not {}; a repeated header or query key keeps its last
value in the single-value map and all values in the multi-value map; the body is null
when empty and base64 when binary.
"""

import base64
import fnmatch
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


class MalformedResponse(Exception):
    """The function returned something API Gateway would answer 502 for."""


@dataclass
class HttpRequest:
    method: str
    path: str  # without the stage, e.g. /reviews
    query: str
    headers: list[tuple[str, str]]  # as received, repeats and case kept
    body: bytes
    source_ip: str


def build_event(
    request: HttpRequest,
    *,
    resource: str,
    resource_id: str,
    path_parameters: dict[str, str],
    stage: str,
    rest_api_id: str,
    account_id: str,
    request_id: str,
    api_key: str | None,
    api_key_id: str | None,
    authorizer_claims: dict[str, str] | None,
    binary_media_types: tuple[str, ...],
) -> dict:
    """The event; `authorizer_claims` (a Cognito user-pool authorizer's) go to
    requestContext.authorizer.claims, and a method without an authorizer has no `authorizer`."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    body, is_base64 = _event_body(request.body, headers, binary_media_types)
    now = time.time()
    event: dict[str, Any] = {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": rest_api_id,
            "resourceId": resource_id,
            "resourcePath": resource,
            "httpMethod": request.method,
            "path": f"/{stage}{request.path}",
            "stage": stage,
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "domainName": _header(headers, "host") or "127.0.0.1",
            "identity": {
                **_NO_CALLER_IDENTITY,
                "sourceIp": request.source_ip,
                "userAgent": _header(headers, "user-agent"),
                "apiKey": api_key,
                "apiKeyId": api_key_id,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }
    if authorizer_claims is not None:
        event["requestContext"]["authorizer"] = {"claims": authorizer_claims}
    return event


# Identity fields API Gateway sends as null when the caller is not IAM- or Cognito-authorized.
_NO_CALLER_IDENTITY = dict.fromkeys(
    [
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "principalOrgId",
        "accessKey",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
        "user",
    ]
)


def _single_and_multi(pairs) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _event_body(raw: bytes, headers: dict[str, str], binary_media_types) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    content_type = (_header(headers, "content-type") or "").split(";")[0].strip()
    if not any(fnmatch.fnmatch(content_type, pattern) for pattern in binary_media_types):
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not text whatever the API says: pass it through intact
    return base64.b64encode(raw).decode("ascii"), True


_RESPONSE_FIELDS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BREAKS_HEADER_VALUE = re.compile(r"[\r\n\x00]")  # would end the header, or the whole answer, early


def to_http_response(result) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from a proxy function's result; MalformedResponse if invalid."""
    if not isinstance(result, dict) or not set(result) <= _RESPONSE_FIELDS:
        raise MalformedResponse(f"not a proxy response object: {str(result)[:200]}")
    status = result.get("statusCode")
    headers = result.get("headers") or {}
    multi_headers = result.get("multiValueHeaders") or {}
    body = result.get("body")
    if (
        not isinstance(status, int)
        or not isinstance(headers, dict)
        or not isinstance(multi_headers, dict)
        or not all(isinstance(v, list) for v in multi_headers.values())
        or not isinstance(body, (str, type(None)))
    ):
        raise MalformedResponse(f"invalid proxy response fields: {str(result)[:200]}")
    # Merged as API Gateway does: a pair present in both appears once.
    header_list = [(name, str(value)) for name, values in multi_headers.items() for value in values]
    header_list += [(n, str(v)) for n, v in headers.items() if (n, str(v)) not in header_list]
    for name, value in header_list:
        if not _HEADER_NAME.fullmatch(name) or _BREAKS_HEADER_VALUE.search(value):
            raise MalformedResponse(f"header not valid in HTTP: {name!r}: {value[:100]!r}")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError as error:
            raise MalformedResponse(f"isBase64Encoded body is not base64: {error}") from None
    else:
        payload = body.encode("utf-8")
    return status, header_list, payload
