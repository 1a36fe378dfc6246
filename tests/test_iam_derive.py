"""Statements derived from the evidence for another environment (iam_evidence/derive.py): the
recording's names renamed, its random ids turned into `*`, guarding condition keys kept, and
nothing granted that the evidence does not show."""

from iam_evidence.derive import generalize, statements
from iam_evidence.evaluate import Request, allows
from iam_evidence.grants import Grant, Permission

RECORDED = "123456789012"
RENAMING = {RECORDED: "111122223333", "iamevidence": "prod"}


def grant(action, resource, resource_type="", **context):
    permission = Permission(action, resource, resource_type, tuple(sorted(context.items())))
    return Grant("deploy", permission, (action,), ("apply",))


def test_names_are_renamed_and_ids_become_stars():
    assert (
        generalize(f"arn:aws:kms:us-east-2:{RECORDED}:key/KeyId1", {"KeyId1": "KeyId"}, RENAMING)
        == "arn:aws:kms:us-east-2:111122223333:key/*"
    )
    # a whole ARN renamed first: the recording's plan key becomes the environment's
    plan_key = f"arn:aws:kms:us-east-2:{RECORDED}:key/KeyId1"
    wanted = "arn:aws:kms:us-east-2:111122223333:key/plan"
    assert generalize(plan_key, {"KeyId1": "KeyId"}, {**RENAMING, plan_key: wanted}) == wanted


def test_actions_on_the_same_resources_share_a_statement_and_guarding_conditions_stay():
    table = f"arn:aws:dynamodb:us-east-2:{RECORDED}:table/ProductReviews-iamevidence"
    role = f"arn:aws:iam::{RECORDED}:role/ReviewProcessor-iamevidence-role"
    boundary = f"arn:aws:iam::{RECORDED}:policy/ProductReviews-iamevidence-boundary"
    derived = statements(
        [
            grant("dynamodb:DescribeTable", table, "table"),
            grant("dynamodb:UpdateTable", table, "table"),
            grant("iam:CreateRole", role, "role", **{"iam:PermissionsBoundary": boundary}),
            grant("logs:DescribeLogGroups", "*"),
            grant("dynamodb:TagResource", table, "table", **{"aws:RequestTag/Project": "ProductReviews"}),
        ],
        RENAMING,
    )
    assert derived == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeTable", "dynamodb:TagResource", "dynamodb:UpdateTable"],
            "Resource": "arn:aws:dynamodb:us-east-2:111122223333:table/ProductReviews-prod",
        },
        {
            "Effect": "Allow",
            "Action": ["iam:CreateRole"],
            "Resource": "arn:aws:iam::111122223333:role/ReviewProcessor-prod-role",
            "Condition": {
                "ArnEquals": {
                    "iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/ProductReviews-prod-boundary"
                }
            },
        },
        {"Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": "*"},
    ]


def test_a_resource_another_one_covers_is_dropped_and_nothing_else_is_granted():
    api = "arn:aws:apigateway:us-east-2::/restapis/RestApiId1"
    grants = [
        grant("apigateway:GET", api, "RestApi"),
        grant("apigateway:GET", f"{api}/stages/v1", "Stage"),
        grant("apigateway:GET", "arn:aws:apigateway:us-east-2::/account", "Account"),
    ]
    [derived] = statements(grants, RENAMING)
    assert derived["Resource"] == [
        "arn:aws:apigateway:us-east-2::/account",
        "arn:aws:apigateway:us-east-2::/restapis/*",
    ]
    document = {"Version": "2012-10-17", "Statement": [derived]}
    assert allows([document], Request("apigateway:GET", "arn:aws:apigateway:us-east-2::/restapis/abc/stages/v1"))
    assert not allows([document], Request("apigateway:GET", "arn:aws:apigateway:us-east-2::/apikeys/abc"))
    assert not allows([document], Request("apigateway:DELETE", "arn:aws:apigateway:us-east-2::/restapis/abc"))
