"""Which requests the emulator counts as reads (run concurrently, never saved) and which as
writes (one at a time, saved before the answer): a write counted as a read would be lost."""

import io

import pytest

from localaws.emulator_app import is_read


def environ(method: str, target: str | None = None, form: str | None = None) -> dict:
    found = {"REQUEST_METHOD": method, "wsgi.input": io.BytesIO((form or "").encode())}
    if target:
        found["HTTP_X_AMZ_TARGET"] = target
    if form is not None:
        found |= {"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(form))}
    return found


@pytest.mark.parametrize(
    "request_environ",
    [
        environ("GET"),
        environ("HEAD"),
        environ("POST", "DynamoDB_20120810.Query"),
        environ("POST", "DynamoDB_20120810.Scan"),
        environ("POST", "DynamoDB_20120810.GetItem"),
        environ("POST", "DynamoDB_20120810.BatchGetItem"),
        environ("POST", "DynamoDB_20120810.DescribeTable"),
        environ("POST", form="Action=GetRole&RoleName=r"),
        environ("POST", form="Action=ListRoles"),
    ],
)
def test_reads(request_environ):
    assert is_read(request_environ)


@pytest.mark.parametrize(
    "request_environ",
    [
        environ("PUT"),
        environ("DELETE"),
        environ("POST"),  # a REST API's create (apigateway, lambda) or S3 upload
        environ("POST", "DynamoDB_20120810.PutItem"),
        environ("POST", "DynamoDB_20120810.TransactWriteItems"),
        environ("POST", "AWSCognitoIdentityProviderService.InitiateAuth"),
        environ("POST", form="Action=CreateRole&RoleName=r"),
    ],
)
def test_writes(request_environ):
    assert not is_read(request_environ)


def test_a_form_body_is_put_back_for_moto():
    request = environ("POST", form="Action=CreateRole&RoleName=r")
    is_read(request)
    assert request["wsgi.input"].read() == b"Action=CreateRole&RoleName=r"
