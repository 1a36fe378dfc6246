"""The emulator records every AWS call while a recording is on (localaws/api_calls.py): the
service and operation as AWS names them, whichever protocol the client speaks, the parameters
that name resources, and never a value or a body."""

import contextlib
import json
import urllib.error
import urllib.request

import pytest

from localaws import emulator

SECRET = "not-for-the-evidence-7f3a"


def recording(endpoint: str, method: str, label: dict | None = None) -> list[dict]:
    body = json.dumps(label).encode() if label else None
    with urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/_localaws/recording", body, method=method)
    ) as reply:
        return json.load(reply)


@pytest.fixture
def recorded(running_emulator):
    """calls(label) -> what the emulator recorded under `label` since the test started."""
    endpoint = running_emulator.endpoint
    recording(endpoint, "PUT", {"role": "deploy", "step": "test"})
    try:
        yield lambda: recording(endpoint, "GET")
    finally:
        recording(endpoint, "DELETE")


def client(running_emulator, service):
    return emulator.client(service, running_emulator.endpoint, "us-east-2")


def test_each_protocol_is_named_by_service_and_operation(running_emulator, recorded):
    client(running_emulator, "dynamodb").list_tables()  # JSON (X-Amz-Target)
    client(running_emulator, "iam").list_roles(PathPrefix="/recorded/")  # query (Action=)
    client(running_emulator, "apigateway").get_rest_apis()  # REST JSON (method and path)
    client(running_emulator, "cloudwatch").describe_alarms(AlarmNames=["ProductReviews-x-api-5xx"])
    s3 = client(running_emulator, "s3")
    s3.create_bucket(Bucket="recorded-bucket", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    s3.list_objects_v2(Bucket="recorded-bucket", Prefix="product-reviews/")
    calls = [(c["service"], c["operation"], c["parameters"]) for c in recorded()]
    assert calls == [
        ("dynamodb", "ListTables", {}),
        ("iam", "ListRoles", {"PathPrefix": "/recorded/"}),
        ("apigateway", "GetRestApis", {}),
        ("cloudwatch", "DescribeAlarms", {"AlarmNames": ["ProductReviews-x-api-5xx"]}),
        ("s3", "CreateBucket", {"Bucket": "recorded-bucket"}),
        ("s3", "ListObjectsV2", {"Bucket": "recorded-bucket", "Prefix": "product-reviews/"}),
    ]
    first = recorded()[0]
    assert (first["role"], first["step"], first["region"], first["client"]) == ("deploy", "test", "us-east-2", "boto3")
    assert recorded()[2]["method"] == "GET" and recorded()[2]["path"] == "/restapis"


def test_values_bodies_and_documents_are_never_recorded(running_emulator, recorded):
    client(running_emulator, "ssm").put_parameter(Name="/recorded/secret", Value=SECRET, Type="String")
    client(running_emulator, "iam").create_role(
        RoleName="recorded-role",
        AssumeRolePolicyDocument=json.dumps({"Statement": [], "Sid": SECRET}),
        PermissionsBoundary="arn:aws:iam::123456789012:policy/recorded-boundary",
        Tags=[{"Key": "k", "Value": SECRET}],
    )
    client(running_emulator, "apigateway").create_api_key(name="recorded-key", value=SECRET + SECRET)
    calls = recorded()
    assert SECRET not in json.dumps(calls)
    assert calls[0]["parameters"] == {"Name": "/recorded/secret"}
    assert calls[1]["parameters"] == {
        "RoleName": "recorded-role",
        "PermissionsBoundary": "arn:aws:iam::123456789012:policy/recorded-boundary",
    }


def test_a_request_no_service_model_routes_is_recorded_as_unknown(running_emulator, recorded):
    request = urllib.request.Request(
        f"{running_emulator.endpoint}/no/such/operation",
        method="GET",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-2/lambda/aws4_request"},
    )
    with contextlib.suppress(urllib.error.HTTPError):  # moto's answer does not matter: the recording does
        urllib.request.urlopen(request).close()
    [call] = recorded()
    assert (call["service"], call["operation"], call["path"]) == ("lambda", "?", "/no/such/operation")


def test_nothing_is_recorded_outside_a_recording(running_emulator):
    client(running_emulator, "dynamodb").list_tables()
    assert recording(running_emulator.endpoint, "GET") == []


def test_a_kms_alias_is_recorded_with_the_key_iam_authorizes_and_the_encryption_context(running_emulator, recorded):
    kms = client(running_emulator, "kms")
    key = kms.create_key(Description="plans")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/recorded-plans", TargetKeyId=key)
    kms.generate_data_key(KeyId="alias/recorded-plans", KeySpec="AES_256", EncryptionContext={"environment": "dev"})
    generated = recorded()[-1]
    assert generated["operation"] == "GenerateDataKey"
    assert generated["parameters"] == {
        "KeyId": "alias/recorded-plans",
        "AliasTargetKeyArn": key,
        "EncryptionContext": {"environment": "dev"},
    }


def test_an_objects_sse_kms_key_named_by_alias_is_recorded_with_the_key_iam_authorizes(running_emulator, recorded):
    kms, s3 = client(running_emulator, "kms"), client(running_emulator, "s3")
    key = kms.create_key(Description="state")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/recorded-state", TargetKeyId=key)
    s3.create_bucket(Bucket="recorded-state", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    s3.put_object(
        Bucket="recorded-state", Key="k", Body=b"{}", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/recorded-state"
    )
    written = recorded()[-1]
    assert (written["service"], written["operation"]) == ("s3", "PutObject")
    assert {name: written["parameters"].get(name) for name in ("SSEKMSKeyId", "AliasTargetKeyArn")} == {
        "SSEKMSKeyId": "alias/recorded-state",
        "AliasTargetKeyArn": key,
    }
