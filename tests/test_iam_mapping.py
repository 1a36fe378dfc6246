"""From a recorded call to its IAM permissions (iam_evidence/mapping.py, implied.py): the
action AWS checks and the resource it checks it on, from the IAM reference's database."""

import pytest

from iam_evidence.grants import Permission
from iam_evidence.implied import lifecycle_permissions
from iam_evidence.mapping import OPERATION_ACTIONS, Call, UnmappedCall, operation_permissions
from iam_evidence.reference import UnknownAction, privilege

ACCOUNT = "111122223333"
REGION = "us-east-2"


def call(service, operation, method="POST", path="/", **parameters) -> Call:
    return Call(service, operation, REGION, ACCOUNT, method, path, parameters)


def needs(*calls: Call) -> list[tuple[str, str, dict]]:
    return [(p.action, p.resource, dict(p.context)) for _, p in lifecycle_permissions(calls)]


def test_an_operation_needs_the_action_of_its_name_on_the_resource_it_names():
    assert needs(call("dynamodb", "DescribeTable", TableName="ProductReviews-dev")) == [
        ("dynamodb:DescribeTable", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ProductReviews-dev", {})
    ]
    assert needs(call("lambda", "GetFunction", "GET", "/2015-03-31/functions/f", FunctionName="f")) == [
        ("lambda:GetFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", {})
    ]
    assert needs(call("ssm", "GetParameter", Name="/productreviews/dev/x")) == [
        ("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/productreviews/dev/x", {})
    ]


def test_an_arn_parameter_names_the_resource_itself():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:ProductReviews-dev-alarms"
    assert needs(call("sns", "GetTopicAttributes", TopicArn=topic)) == [("sns:GetTopicAttributes", topic, {})]


def test_each_name_in_a_list_is_a_resource():
    alarms = needs(call("cloudwatch", "DescribeAlarms", AlarmNames=["a", "b"]))
    assert [resource for _, resource, _ in alarms] == [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a",
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:b",
    ]


def test_an_action_the_reference_gives_no_resource_types_is_granted_on_star():
    assert privilege("logs:DescribeLogGroups").resource_types == ()
    assert needs(call("logs", "DescribeLogGroups", logGroupNamePrefix="/aws/lambda/x")) == [
        ("logs:DescribeLogGroups", "*", {})
    ]
    assert needs(call("dynamodb", "ListTables")) == [("dynamodb:ListTables", "*", {})]
    assert needs(call("ssm", "DescribeParameters")) == [("ssm:DescribeParameters", "*", {})]


def test_documented_exceptions_map_s3_reads_and_need_nothing_for_get_caller_identity():
    bucket, key = "state", "product-reviews/dev/terraform.tfstate"
    assert needs(call("s3", "ListObjectsV2", "GET", f"/{bucket}", Bucket=bucket)) == [
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}", {})
    ]
    assert needs(call("s3", "HeadObject", "HEAD", f"/{bucket}/{key}", Bucket=bucket, Key=key)) == [
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", {})
    ]
    assert needs(call("sts", "GetCallerIdentity")) == []


@pytest.mark.parametrize(("operation_key", "exception"), sorted(OPERATION_ACTIONS.items()))
def test_every_exception_names_real_actions_and_its_source(operation_key, exception):
    actions, source = exception
    assert source.startswith("https://docs.aws.amazon.com/")
    for action in actions:
        assert privilege(action).action == action


def test_api_gateway_is_authorized_by_http_method_on_the_resource_path():
    [permission] = operation_permissions(call("apigateway", "GetStage", "GET", "/restapis/abc123/stages/v1"))
    assert (permission.action, permission.resource, permission.resource_type) == (
        "apigateway:GET",
        f"arn:aws:apigateway:{REGION}::/restapis/abc123/stages/v1",
        "Stage",
    )
    assert permission.source.startswith("https://docs.aws.amazon.com/apigateway/")


def test_an_id_the_call_does_not_name_becomes_star():
    """RegisterScalableTarget names the table, not the scalable target's random id."""
    [permission] = operation_permissions(
        call("application-autoscaling", "RegisterScalableTarget", ResourceId="table/t", ServiceNamespace="dynamodb")
    )
    assert permission.resource == f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*"
    assert dict(permission.context) == {"application-autoscaling:service-namespace": "dynamodb"}
    # IAM authorizes a KMS key named by an alias on the key, whose id the call does not give
    [describe] = operation_permissions(call("kms", "DescribeKey", KeyId="alias/aws/dynamodb"))
    assert describe.resource == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"


def test_passing_a_role_to_lambda_needs_pass_role_to_that_service():
    role = f"arn:aws:iam::{ACCOUNT}:role/ReviewProcessor-dev-role"
    created = needs(call("lambda", "CreateFunction", "POST", "/2015-03-31/functions", FunctionName="f", Role=role))
    assert ("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}) in created


def test_a_role_created_under_a_boundary_carries_it_into_later_calls():
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/ProductReviews-dev-boundary"
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    permissions = needs(
        call("iam", "CreateRole", RoleName="r", PermissionsBoundary=boundary),
        call("iam", "PutRolePolicy", RoleName="r", PolicyName="p"),
        call("iam", "ListRolePolicies", RoleName="r"),
    )
    assert "iam:PermissionsBoundary" not in privilege("iam:ListRolePolicies").condition_keys
    assert permissions == [
        ("iam:CreateRole", role, {"iam:PermissionsBoundary": boundary}),
        ("iam:PutRolePolicy", role, {"iam:PermissionsBoundary": boundary}),
        ("iam:ListRolePolicies", role, {}),  # the reference gives it no such condition key
    ]


def test_objects_written_with_a_kms_key_need_it_to_be_read_back():
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    where = {"Bucket": "state", "Key": "k"}
    permissions = needs(
        call("s3", "PutObject", "PUT", "/state/k", **where, SSEKMSKeyId=key, ServerSideEncryption="aws:kms"),
        call("s3", "GetObject", "GET", "/state/k", **where),
    )
    through_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert ("kms:GenerateDataKey", key, through_s3) in permissions
    assert ("kms:Decrypt", key, through_s3) in permissions
    # read first, by another role: the object's key is known from the whole recording
    assert ("kms:Decrypt", key, through_s3) in needs(
        call("s3", "GetObject", "GET", "/state/k", **where),
        call("s3", "PutObject", "PUT", "/state/k", **where, SSEKMSKeyId=key),
    )


def test_an_objects_key_named_by_alias_is_authorized_on_the_key_it_names():
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    where = {"Bucket": "state", "Key": "k"}
    written = call("s3", "PutObject", "PUT", "/state/k", **where, SSEKMSKeyId="alias/state", AliasTargetKeyArn=key)
    through_alias = {"kms:RequestAlias": "alias/state", "kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    permissions = needs(written, call("s3", "GetObject", "GET", "/state/k", **where))
    assert ("kms:GenerateDataKey", key, through_alias) in permissions
    assert ("kms:Decrypt", key, through_alias) in permissions
    assert not [p for p in permissions if p[0].startswith("kms:") and p[1] != key]


def test_target_tracking_needs_the_alarms_autoscaling_creates_in_the_callers_name():
    permissions = needs(
        call("application-autoscaling", "PutScalingPolicy", ResourceId="table/t", ServiceNamespace="dynamodb")
    )
    alarms = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-table/t-*"
    assert ("cloudwatch:PutMetricAlarm", alarms, {}) in permissions


def test_what_cannot_be_mapped_fails_loudly():
    with pytest.raises(UnmappedCall):
        operation_permissions(call("lambda", "?", "GET", "/no/such/route"))
    with pytest.raises(UnknownAction):
        operation_permissions(call("dynamodb", "NoSuchOperation", TableName="t"))
    with pytest.raises(UnmappedCall):  # a table action with no table named
        operation_permissions(call("dynamodb", "DescribeTable"))


def test_permissions_sort_and_compare_by_value():
    first = Permission("a:B", "*")
    assert first == Permission("a:B", "*") and sorted([Permission("b:A", "*"), first])[0] == first


def test_kms_calls_by_alias_are_authorized_on_the_key_with_alias_and_context_keys():
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    generated = call(
        "kms",
        "GenerateDataKey",
        KeyId="alias/plans",
        AliasTargetKeyArn=key,
        EncryptionContext={"environment": "dev", "repository": "o/r"},
    )
    assert needs(generated) == [
        (
            "kms:GenerateDataKey",
            key,
            {
                "kms:EncryptionContext:environment": "dev",
                "kms:EncryptionContext:repository": "o/r",
                "kms:RequestAlias": "alias/plans",
            },
        )
    ]
