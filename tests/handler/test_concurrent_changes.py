"""Creates, edits and deletes at the same time, from threads, through the handler, against the
emulator (moto server with moto_fixes, which serializes its DynamoDB as DynamoDB isolates
transactions). Whatever order they run in, the rating summary must count exactly the reviews
stored, each reviewer keeps at most one review of the product, and every guard belongs to a
stored review.

Every answer must be one a client can act on: success, 403/404/409 from what the table says,
or a 503 to retry after a write kept losing races (counted, and bounded).
"""

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

import api_events
from api_client import app_for, invoke, new_id
from handlers.reviews.app import DYNAMODB_CLIENT_CONFIG
from localaws import emulator
from review_table import ENVIRONMENT, create_table

THREADS = 8
AUTHORS = 10
ROUNDS = 6  # each author: edits, deletes and creates again, this many times in all


@pytest.fixture(scope="module")
def emulated(running_emulator):
    """(a handler-configured client for the emulator, a table of this module's in it)."""
    table = new_id("concurrent")
    create_table(emulator.client("dynamodb", running_emulator.endpoint, ENVIRONMENT["AWS_REGION"]), table)
    client = boto3.client("dynamodb", endpoint_url=running_emulator.endpoint, config=DYNAMODB_CLIENT_CONFIG)
    yield client, table
    client.delete_table(TableName=table)


def table_state(client, table: str, product: str) -> tuple[dict[str, tuple[str, int]], dict[str, str], dict]:
    """(review id -> (author, rating), guarded author -> review id, summary counters)."""
    items = client.query(
        TableName=table,
        KeyConditionExpression="product_id = :p",
        ExpressionAttributeValues={":p": {"S": product}},
        ConsistentRead=True,
    )["Items"]
    reviews = {i["review_id"]["S"]: (i["reviewer_id"]["S"], int(i["rating"]["N"])) for i in items if "reviewer_id" in i}
    guards = {
        i["review_id"]["S"].removeprefix("#REVIEWER#"): i["existing_review_id"]["S"]
        for i in items
        if i["review_id"]["S"].startswith("#REVIEWER#")
    }
    [summary] = [i for i in items if i["review_id"]["S"] == "#SUMMARY"]
    return reviews, guards, {name: int(value["N"]) for name, value in summary.items() if "N" in value}


def assert_summary_counts_exactly_the_stored_reviews(client, table: str, product: str) -> None:
    reviews, guards, summary = table_state(client, table, product)
    ratings = Counter(rating for _, rating in reviews.values())
    assert summary["review_count"] == len(reviews)
    assert summary["rating_total"] == sum(rating for _, rating in reviews.values())
    assert {star: summary.get(f"rating_{star}", 0) for star in range(1, 6)} == {s: ratings[s] for s in range(1, 6)}
    authors = [author for author, _ in reviews.values()]
    assert len(authors) == len(set(authors))  # one review per reviewer and product
    assert guards == {author: review_id for review_id, (author, _) in reviews.items()}


def author_session(client, table: str, product: str, author: str, seed: int) -> list[int]:
    """One author, racing the others: creates, then edits and deletes their review, and
    creates again, with strangers' attempts on it in between."""
    chance = random.Random(seed)
    statuses = []
    review_id = None
    for _ in range(ROUNDS):
        app = app_for(client, table)
        if review_id is None:
            body = {"product_id": product, "rating": chance.randint(1, 5)}
            response = invoke(api_events.post_review(body, reviewer=author), app)
            review_id = response.json["review_id"] if response.status == 201 else None
        elif chance.random() < 0.3:
            response = invoke(api_events.delete_review(product, review_id, reviewer=author), app)
            review_id = None if response.status == 204 else review_id
        else:
            edit = {"rating": chance.randint(1, 5), "title": f"take {chance.randint(1, 99)}"}
            response = invoke(api_events.patch_review(product, review_id, edit, reviewer=author), app)
            stranger = api_events.delete_review(product, review_id, reviewer=new_id("stranger"))
            statuses.append(invoke(stranger, app).status)
        statuses.append(response.status)
    return statuses


def test_concurrent_creates_edits_and_deletes_leave_the_summary_exact(emulated):
    client, table = emulated
    product = new_id("sku")
    authors = [new_id("author") for _ in range(AUTHORS)]

    with ThreadPoolExecutor(THREADS) as pool:
        sessions = pool.map(lambda n: author_session(client, table, product, authors[n], n), range(AUTHORS))
        statuses = Counter(status for session in sessions for status in session)

    assert set(statuses) <= {200, 201, 204, 403, 503}, statuses
    assert statuses[403] > 0 and statuses[200] + statuses[204] > 0
    assert statuses[503] <= len(authors)  # a few writes may lose every race; most win
    assert_summary_counts_exactly_the_stored_reviews(client, table, product)


def test_one_review_edited_and_deleted_at_once_is_counted_exactly(emulated):
    client, table = emulated
    product, author = new_id("sku"), new_id("author")
    created = invoke(
        api_events.post_review({"product_id": product, "rating": 3}, reviewer=author), app_for(client, table)
    )
    review_id = created.json["review_id"]
    events = [api_events.patch_review(product, review_id, {"rating": 1 + n % 5}, reviewer=author) for n in range(12)]
    events.insert(6, api_events.delete_review(product, review_id, reviewer=author))

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(lambda event: invoke(event, app_for(client, table)).status, events))

    # Edits after the delete find no review; a write that lost every race says "retry".
    assert set(statuses) <= {200, 204, 404, 503}, statuses
    reviews, _, summary = table_state(client, table, product)
    assert len(reviews) == 1 - statuses[204]
    if reviews:  # the delete lost every race (503): the review holds the last edit that won
        assert statuses[503] >= 1
        assert summary[f"rating_{reviews[review_id][1]}"] == 1
    assert_summary_counts_exactly_the_stored_reviews(client, table, product)
