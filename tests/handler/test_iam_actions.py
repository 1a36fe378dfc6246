"""The DynamoDB IAM actions the handler really uses, recorded while exercising every route.

record_dynamodb_actions() is the helper the stack tests can reuse: compare its result with the
actions and resources the synthesized IAM policy grants.
"""

import contextlib
import json

import api_events
from api_client import invoke, new_id
from handlers.reviews.app import default_app
from handlers.reviews.contract import ROUTES

# TransactWriteItems has no IAM action of its own: each item is authorized as its own action.
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


@contextlib.contextmanager
def record_dynamodb_actions(client):
    """Yields a set that fills with (IAM action, resource) pairs for every call the client makes.

    resource is "table" or "index/<IndexName>", i.e. which ARN the policy must cover.
    """
    used: set[tuple[str, str]] = set()

    def record(params, model, **_):
        resource = f"index/{params['IndexName']}" if params.get("IndexName") else "table"
        if model.name == "TransactWriteItems":
            used.update((TRANSACT_ITEM_ACTIONS[kind], "table") for item in params["TransactItems"] for kind in item)
        else:
            used.add((f"dynamodb:{model.name}", resource))

    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        yield used
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)


def exercise_every_route() -> None:
    """One successful call per route, plus the conflict, replay, paging and ownership paths."""
    product, reviewer, other, key = new_id("sku"), new_id("user"), new_id("user"), new_id("idem")
    review = {"product_id": product, "rating": 5}
    created = invoke(api_events.post_review(review, reviewer=reviewer, idempotency_key=key)).json["review_id"]
    calls = [
        api_events.post_review(review, reviewer=reviewer, idempotency_key=key),
        api_events.post_review(review, reviewer=reviewer),
        api_events.post_review(review, reviewer=other),
        api_events.get_reviews({"product_id": product, "limit": "1"}),
        api_events.get_reviews({"reviewer_id": reviewer}),
        api_events.get_review(product, created),
        api_events.patch_review(product, created, {"rating": 3, "title": "Changed"}, reviewer=reviewer),
        api_events.patch_review(product, created, {"rating": 1}, reviewer=other),
        api_events.delete_review(product, created, reviewer=other),
        api_events.delete_review(product, created, reviewer=reviewer),
        api_events.get_rating(product),
        *(api_events.preflight(path) for path in {route.path for route in ROUTES}),
    ]
    for event in calls:
        assert invoke(event).status < 500


def used_dynamodb_actions() -> set[tuple[str, str]]:
    invoke(api_events.get_rating("warm-up"))  # creates the handler's client
    with record_dynamodb_actions(default_app().backend.repository.client) as used:
        exercise_every_route()
    return used


def granted_dynamodb_actions(stack: dict) -> set[tuple[str, str]]:
    """(IAM action, "table" | "index/<name>") pairs the synthesized function policy grants."""
    [policy] = stack["resource"]["aws_iam_role_policy"].values()
    [table_name] = stack["resource"]["aws_dynamodb_table"]
    table_arn = f"${{aws_dynamodb_table.{table_name}.arn}}"
    granted: set[tuple[str, str]] = set()
    for statement in json.loads(policy["policy"])["Statement"]:
        resource = statement["Resource"].replace(table_arn, "table").replace("table/index/", "index/")
        granted.update((action, resource) for action in statement["Action"])
    return granted


def test_the_stack_grants_exactly_the_dynamodb_actions_the_handler_calls(stack):
    used = used_dynamodb_actions()
    assert ("dynamodb:Query", "index/ReviewerIdIndex") in used  # the recorder sees the index
    assert used == granted_dynamodb_actions(stack)
