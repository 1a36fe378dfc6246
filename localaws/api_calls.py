"""Which AWS API call a request to the emulator is, and a recorder of them.

`identify` names a request as AWS would log it: the service (botocore's name), the API
operation, the region and the parameters that name the resources it touches. It routes
the request as moto itself does (botocore's service models: the Action parameter, the
X-Amz-Target header or the REST path and method) and reads the service from the SigV4
credential scope, so it sees every client alike: the Terraform AWS provider, Terraform's S3
backend and boto3 in `python -m deploy`.

Only parameters that name a resource are kept (KEPT_PARAMETERS, URI labels, ARN-valued
patch operations, KMS encryption contexts), and the key a KMS alias points to (of a KMS call,
or of an S3 object's SSE-KMS key): never a value,
a body, a policy document or a tag, so a recording holds no secret. `python -m iam_evidence
record` turns recordings into the IAM evidence.
"""

import io
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request, determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model

# SigV4 signing names that are not botocore's service name.
SERVICE_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}
# Request parameters that name (or locate) a resource, or that IAM conditions read.
KEPT_PARAMETERS = re.compile(
    r"(Name|Names|Arn|ARN|Id|Ids|Key|Bucket|Role|Boundary|Namespace|Dimension|Prefix|ServerSideEncryption)$",
    re.IGNORECASE,
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
# The parameter naming a KMS key, possibly by an alias: a KMS call's key, an S3 object's SSE-KMS key.
KEY_PARAMETERS = {"kms": "KeyId", "s3": "SSEKMSKeyId"}
# User-Agent product tokens, most specific first: which program made a call.
CLIENTS = (("terraform-provider-aws/", "terraform-provider-aws"), ("Terraform/", "terraform"), ("Boto3/", "boto3"))


@dataclass(frozen=True)
class ApiCall:
    service: str  # botocore's name: dynamodb, cloudwatch, s3, ...
    operation: str  # the API operation: DescribeTable, or "?" when it could not be told
    region: str
    client: str  # terraform-provider-aws | terraform (its S3 backend) | boto3 | other
    method: str  # HTTP: REST APIs (API Gateway, Lambda, S3) say what they do with it
    path: str
    parameters: dict[str, Any] = field(default_factory=dict)


def identify(request: Request) -> ApiCall:
    """The API call `request` makes. A request that cannot be routed comes back with the
    operation "?", so it shows up rather than vanishes."""
    signing_name, region = _credential_scope(request)
    service = SERVICE_OF_SIGNING_NAME.get(signing_name, signing_name)
    client = next((name for token, name in CLIENTS if token in request.headers.get("User-Agent", "")), "other")
    http = (request.method, request.path)
    try:
        operation, uri_parameters = get_service_router(service).match(request)
    except Exception:  # noqa: BLE001 - no such service model, no route: recorded as unknown ("?")
        return ApiCall(service, "?", region, client, *http)
    parameters = _resource_parameters(
        {**_parsed_parameters(service, operation, uri_parameters, request), **uri_parameters}
    )
    key_id = parameters.get(KEY_PARAMETERS.get(service, ""))
    target = _alias_target(region, key_id) if isinstance(key_id, str) else None
    if target:
        parameters["AliasTargetKeyArn"] = target
    return ApiCall(service, operation.name, region, client, *http, parameters)


def _credential_scope(request: Request) -> tuple[str, str]:
    """(signing name, region) from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/...`."""
    found = _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
    return (found[2], found[1]) if found else ("?", "?")


def _parsed_parameters(service: str, operation: Any, uri_parameters: dict[str, Any], request: Request) -> dict:
    """The request's parameters as moto parses them (an unparsable body keeps only the URI's)."""
    model = get_service_model(service)
    parser = PROTOCOL_PARSERS[determine_request_protocol(model, request.content_type)](operation)
    try:
        return parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.get_data(),
                "url_path": request.path,
                "url_params": uri_parameters,
            }
        )
    except Exception:  # noqa: BLE001 - e.g. an aws-chunked S3 body: its URI still names the object
        return {}


def _alias_target(region: str, key_id: str) -> str | None:
    """The key a KMS alias points to, as KMS resolves it before IAM authorizes the call on the
    key (None for a key id, or an AWS managed alias, aws/..., which moto creates on first use)."""
    from moto.kms.models import kms_backends

    if not key_id.startswith("alias/"):
        return None
    keys = kms_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)][region].keys.values()
    return next((key.arn for key in keys if key_id in key.aliases), None)


def _resource_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in parameters.items():
        if name == "patchOperations":  # API Gateway updates: which fields, and roles passed by ARN
            kept[name] = [_patch_operation(operation) for operation in value]
        elif (name == "EncryptionContext" and _is_context(value)) or (KEPT_PARAMETERS.search(name) and _is_name(value)):
            kept[name] = value  # an encryption context: KMS conditions read it
    return kept


def _patch_operation(operation: dict[str, Any]) -> dict[str, Any]:
    value = operation.get("value")
    arn = {"value": value} if isinstance(value, str) and value.startswith("arn:") else {}
    return {"op": operation.get("op"), "path": operation.get("path"), **arn}


def _is_context(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _is_name(value: Any) -> bool:
    """A string, or a list of strings (AlarmNames): not a structure, which could hold anything."""
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


class Recorder:
    """The calls the emulator serves while a recording is on, each labelled with the role
    that would make it on AWS and the step of the lifecycle (`python -m iam_evidence record`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._label: dict[str, str] | None = None
        self._calls: list[dict[str, Any]] = []

    def label(self, label: dict[str, str] | None) -> None:
        """Records from now on under `label` ({"role": ..., "step": ...}); None stops and forgets."""
        with self._lock:
            self._label = label
            if label is None:
                self._calls.clear()

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)

    def observe(self, environ: dict[str, Any]) -> None:
        """Records the request `environ` holds, if a recording is on; leaves its body readable."""
        with self._lock:
            label = self._label
        if label is None:
            return
        body = _buffer_body(environ)
        request = Request(environ)
        request.get_data()  # cached first: routing reads the form, parsing the raw body
        call = identify(request)
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            self._calls.append({**label, **asdict(call)})


def _buffer_body(environ: dict[str, Any]) -> bytes:
    """Reads the body once and puts it back, so moto reads it again as if untouched."""
    body = Request(environ).get_data()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body
