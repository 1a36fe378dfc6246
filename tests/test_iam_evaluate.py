"""The IAM policy evaluator (iam_evidence/evaluate.py) decides as IAM documents it, for the
subset the project's roles use, and refuses what it does not understand."""

import pytest

from iam_evidence.evaluate import Request, UnsupportedPolicy, action_matches, allows, resource_matches

TABLE = "arn:aws:dynamodb:us-east-2:111122223333:table/ProductReviews-dev"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **condition):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("dynamodb:DescribeTable", "dynamodb:DescribeTable", True),
        ("dynamodb:describetable", "dynamodb:DescribeTable", True),  # actions are case-insensitive
        ("dynamodb:Describe*", "dynamodb:DescribeTable", True),
        ("dynamodb:Describe*", "dynamodb:UpdateTable", False),
        ("dynamodb:?escribeTable", "dynamodb:DescribeTable", True),
        ("dynamodb:*", "lambda:GetFunction", False),
        ("*", "lambda:GetFunction", True),
    ],
)
def test_actions_match_with_wildcards_and_without_case(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", TABLE, True),
        (TABLE, TABLE, True),
        ("arn:aws:dynamodb:us-east-2:111122223333:table/ProductReviews-*", TABLE, True),
        ("arn:aws:dynamodb:us-east-2:111122223333:table/Other-*", TABLE, False),
        # ARNs are case-sensitive
        ("arn:aws:dynamodb:us-east-2:111122223333:table/productreviews-dev", TABLE, False),
        # a * inside a segment stays inside it; one ending a segment may run across colons
        ("arn:aws:logs:us-east-2:1:log-group:/aws/*da", "arn:aws:logs:us-east-2:1:log-group:/aws/a:lambda", False),
        ("arn:aws:logs:us-east-2:1:log-group:/aws/*:x", "arn:aws:logs:us-east-2:1:log-group:/aws/a:b:x", True),
        ("arn:aws:logs:us-east-2:1:log-group:/aws/*", "arn:aws:logs:us-east-2:1:log-group:/aws/a:*", True),
        ("arn:aws:dynamodb:*:111122223333:table/ProductReviews-dev", TABLE, True),
        ("arn:aws:dynamodb:us-east-?:111122223333:table/ProductReviews-dev", TABLE, True),
        # a * in the request (an id the call does not name) needs a * in the policy
        ("arn:aws:kms:us-east-2:1:key/*", "arn:aws:kms:us-east-2:1:key/*", True),
        ("arn:aws:kms:us-east-2:1:key/abc*", "arn:aws:kms:us-east-2:1:key/*", False),
        ("arn:aws:kms:us-east-2:1:key/a?", "arn:aws:kms:us-east-2:1:key/*", False),
    ],
)
def test_resources_match_as_iam_documents_arn_wildcards(pattern, resource, expected):
    assert resource_matches(pattern, resource) is expected


def test_nothing_is_allowed_without_an_allow():
    assert not allows([policy(allow("dynamodb:DescribeTable", TABLE))], Request("dynamodb:UpdateTable", TABLE))
    assert not allows([], Request("dynamodb:DescribeTable", TABLE))


def test_an_explicit_deny_wins_over_any_allow():
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    policies = [policy(allow("dynamodb:*", "*")), policy(deny)]
    assert allows(policies, Request("dynamodb:DescribeTable", TABLE))
    assert not allows(policies, Request("dynamodb:DeleteTable", TABLE))


def test_not_action_and_not_resource_match_everything_else():
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}
    assert allows([policy(everything_but_iam)], Request("dynamodb:DescribeTable", TABLE))
    assert not allows([policy(everything_but_iam)], Request("iam:CreateRole", "arn:aws:iam::1:role/x"))
    assert not allows([policy(everything_but_iam)], Request("s3:GetObject", "arn:aws:s3:::secret/key"))


def test_a_permissions_boundary_must_allow_what_the_policies_allow():
    admin = policy(allow("*", "*"))
    boundary = policy(allow("dynamodb:*", "*"))
    assert allows([admin], Request("iam:CreateRole", "arn:aws:iam::1:role/x"))
    assert not allows([admin], Request("iam:CreateRole", "arn:aws:iam::1:role/x"), boundary=boundary)
    assert allows([admin], Request("dynamodb:DescribeTable", TABLE), boundary=boundary)
    assert not allows([policy(allow("lambda:*", "*"))], Request("dynamodb:DescribeTable", TABLE), boundary=boundary)


BOUNDARY = "arn:aws:iam::1:policy/ProductReviews-dev-boundary"
CREATE_ROLE = "arn:aws:iam::1:role/ReviewProcessor-dev-role"


def test_string_and_arn_conditions_need_the_key_with_a_matching_value():
    statement = allow("iam:CreateRole", "*", StringEquals={"iam:PermissionsBoundary": BOUNDARY})
    assert allows([policy(statement)], Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    # condition key names are case-insensitive, values are not
    assert allows([policy(statement)], Request("iam:CreateRole", CREATE_ROLE, {"IAM:permissionsboundary": BOUNDARY}))
    assert not allows(
        [policy(statement)], Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": BOUNDARY.upper()})
    )
    assert not allows([policy(statement)], Request("iam:CreateRole", CREATE_ROLE))  # a missing key fails
    like = allow("iam:CreateRole", "*", ArnLike={"iam:PermissionsBoundary": "arn:aws:iam::1:policy/*-boundary"})
    assert allows([policy(like)], Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))


def test_negated_operators_and_if_exists_pass_when_the_key_is_missing():
    deny = {
        "Effect": "Deny",
        "Action": "iam:CreateRole",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}},
    }
    policies = [policy(allow("iam:*", "*")), policy(deny)]
    assert not allows(policies, Request("iam:CreateRole", CREATE_ROLE))  # no boundary: denied
    assert not allows(policies, Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": "arn:other"}))
    assert allows(policies, Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    if_exists = allow("iam:PassRole", "*", StringEqualsIfExists={"iam:PassedToService": "lambda.amazonaws.com"})
    assert allows([policy(if_exists)], Request("iam:PassRole", CREATE_ROLE))
    assert not allows(
        [policy(if_exists)], Request("iam:PassRole", CREATE_ROLE, {"iam:PassedToService": "ec2.amazonaws.com"})
    )


def test_values_of_one_key_are_alternatives_and_keys_must_all_match():
    statement = allow(
        "iam:PassRole",
        "*",
        StringEquals={"iam:PassedToService": ["lambda.amazonaws.com", "apigateway.amazonaws.com"], "aws:x": "1"},
    )
    assert allows(
        [policy(statement)],
        Request("iam:PassRole", CREATE_ROLE, {"iam:PassedToService": "apigateway.amazonaws.com", "aws:x": "1"}),
    )
    assert not allows(
        [policy(statement)], Request("iam:PassRole", CREATE_ROLE, {"iam:PassedToService": "apigateway.amazonaws.com"})
    )


def test_null_checks_whether_a_key_is_present():
    statement = allow("iam:CreateRole", "*", Null={"iam:PermissionsBoundary": "false"})
    assert allows([policy(statement)], Request("iam:CreateRole", CREATE_ROLE, {"iam:PermissionsBoundary": BOUNDARY}))
    assert not allows([policy(statement)], Request("iam:CreateRole", CREATE_ROLE))


@pytest.mark.parametrize(
    "statement",
    [
        allow("iam:CreateRole", "*", NumericLessThan={"aws:x": "1"}),  # an operator outside the subset
        allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"),  # a policy variable
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},  # a resource policy
        {"Effect": "Allow", "Action": "s3:GetObject"},  # no Resource
        {"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"},
    ],
)
def test_what_it_does_not_understand_is_refused_not_guessed(statement):
    with pytest.raises(UnsupportedPolicy):
        allows([policy(statement)], Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:x": "0"}))
