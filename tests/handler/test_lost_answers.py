"""A write whose answer is lost on the way back: DynamoDB applied the transaction, the
connection dropped, and botocore resends it with the same ClientRequestToken. The caller must
hear success for its own write, and the table must hold it once.

The emulator (localaws: moto server with moto_fixes) answers a resent token as DynamoDB
documents it; plain moto runs the transaction again, which the last test shows is the 409 the
caller must never get.
"""

import json
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

import api_events
from api_client import app_for, invoke, new_id
from handlers.reviews.app import DYNAMODB_CLIENT_CONFIG
from localaws import emulator
from lossy_proxy import AnswerLosingProxy, header
from review_table import ENVIRONMENT, create_table

TRANSACT = "DynamoDB_20120810.TransactWriteItems"


@pytest.fixture(scope="module")
def emulated(running_emulator) -> Iterator[tuple[str, str]]:
    """(the emulator's endpoint, a table of this module's in it)."""
    table = new_id("lost-answers")
    client = emulator.client("dynamodb", running_emulator.endpoint, ENVIRONMENT["AWS_REGION"])
    create_table(client, table)
    yield running_emulator.endpoint, table
    client.delete_table(TableName=table)


def handler_client(endpoint: str):
    """A DynamoDB client configured as the handler's (its retries included)."""
    return boto3.client("dynamodb", endpoint_url=endpoint, config=DYNAMODB_CLIENT_CONFIG)


def lose_the_first_transaction() -> Callable[[bytes], bool]:
    lost: list[bytes] = []

    def lose(request: bytes) -> bool:
        if header(request, "X-Amz-Target") != TRANSACT or lost:
            return False
        lost.append(request)
        return True

    return lose


def tokens(proxy: AnswerLosingProxy) -> list[str]:
    """The ClientRequestToken of every transaction the proxy passed on."""
    bodies = [
        request.partition(b"\r\n\r\n")[2] for request in proxy.requests if header(request, "X-Amz-Target") == TRANSACT
    ]
    return [json.loads(body)["ClientRequestToken"] for body in bodies]


def stored(client, table: str, product: str) -> tuple[list[str], dict]:
    """(the ids of the product's stored reviews, its summary) read straight from the table."""
    items = client.query(
        TableName=table,
        KeyConditionExpression="product_id = :p",
        ExpressionAttributeValues={":p": {"S": product}},
    )["Items"]
    reviews = [item["review_id"]["S"] for item in items if "reviewer_id" in item]
    [summary] = [item for item in items if item["review_id"]["S"] == "#SUMMARY"] or [{}]
    return reviews, {name: value["N"] for name, value in summary.items() if "N" in value}


def create_through_lossy_network(endpoint: str, table: str, product: str, reviewer: str):
    with AnswerLosingProxy(endpoint, lose_the_first_transaction()) as proxy:
        app = app_for(handler_client(proxy.endpoint), table)
        response = invoke(api_events.post_review({"product_id": product, "rating": 4}, reviewer=reviewer), app)
    return response, proxy


def test_a_create_resent_after_its_answer_was_lost_is_a_201_stored_once(emulated):
    endpoint, table = emulated
    product, reviewer = new_id("sku"), new_id("user")

    response, proxy = create_through_lossy_network(endpoint, table, product, reviewer)

    assert len(proxy.lost) == 1  # the first answer never arrived ...
    sent = tokens(proxy)
    assert len(sent) == 2 and sent[0] == sent[1]  # ... and botocore resent it with its token
    assert response.status == 201, response.json
    reviews, summary = stored(handler_client(endpoint), table, product)
    assert reviews == [response.json["review_id"]]
    assert summary == {"review_count": "1", "rating_total": "4", "rating_4": "1"}


def test_a_delete_resent_after_its_answer_was_lost_is_a_204_counted_once(emulated):
    endpoint, table = emulated
    product, reviewer = new_id("sku"), new_id("user")
    direct = app_for(handler_client(endpoint), table)
    created = invoke(api_events.post_review({"product_id": product, "rating": 5}, reviewer=reviewer), direct).json
    delete = api_events.delete_review(product, created["review_id"], reviewer=reviewer)

    with AnswerLosingProxy(endpoint, lose_the_first_transaction()) as proxy:
        response = invoke(delete, app_for(handler_client(proxy.endpoint), table))

    assert len(proxy.lost) == 1 and len(set(tokens(proxy))) == 1
    assert response.status == 204, response.json
    reviews, summary = stored(handler_client(endpoint), table, product)
    assert reviews == [] and summary["review_count"] == "0" and summary["rating_5"] == "0"
    # The guard went with the review: the reviewer may review the product again.
    again = api_events.post_review({"product_id": product, "rating": 2}, reviewer=reviewer)
    assert invoke(again, direct).status == 201


@pytest.fixture
def plain_moto() -> Iterator[str]:
    """moto's own server, without localaws' fixes; its endpoint."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_without_the_emulators_token_fix_the_resent_create_would_be_a_409_for_the_callers_own_write(plain_moto):
    # Plain moto runs the resent transaction again: its conditions fail on the review it just
    # stored. This is the answer the fix (and DynamoDB) spares the caller; if moto ever honours
    # tokens itself, this test says so.
    product, reviewer = new_id("sku"), new_id("user")
    create_table(handler_client(plain_moto), "reviews-test")

    response, _ = create_through_lossy_network(plain_moto, "reviews-test", product, reviewer)

    assert response.status == 409
    reviews, _ = stored(handler_client(plain_moto), "reviews-test", product)
    assert response.json["details"][0]["review_id"] == reviews[0]  # "you already reviewed it": itself
