"""The real handler behind the local gateway under simultaneous writes (issue 11).

Whatever order the emulator happens to run the requests in, what is stored, summed and
listed must agree exactly with the 201s the API gave: one review per reviewer and product,
one review per Idempotency-Key, a rating summary that counts each stored review once.
The API is deployed with boto3 (no Terraform): the handler zip the stack deploys, a table
with the stack's key schema, and the stack's own API Gateway definition (its routes, and the
Cognito authorizer on every write, on a user pool of this module's); reviewers sign in to it.
"""

import http.client
import json
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from handlers.reviews import contract
from localaws.gateway import LocalGateway
from stacks.function import HANDLER
from stacks.handler_package import package_handler
from stacks.openapi import api_gateway_definition
from tests.localaws.apis import (
    REGION,
    aws_client,
    create_api_key,
    create_function_role,
    deploy_stage,
    serve_in_thread,
    stop_serving,
)
from tests.localaws.identity import LocalPool, claims_of, create_user, create_user_pool, sign_in

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.emulator

API_NAME = "concurrency-test-api"
TABLE_NAME = "concurrency-test-reviews"
STAGE = contract.STAGE_NAME
SIMULTANEOUS = 30
PAGE_SIZE = 2  # small, so every listing below spans several pages
# A race shows only sometimes, so each scenario runs several times. With the emulator's
# DynamoDB lock removed, at least one of the nine attempts failed in 10 of 10 runs (two
# attempts each: 7 of 8 runs).
ATTEMPTS = range(3)


@dataclass(frozen=True)
class ReviewsApi:
    host: str
    port: int
    api_key: str
    dynamodb: "DynamoDBClient"  # for the emulator, to read the table directly
    pool: LocalPool

    def sign_in(self, name: str) -> tuple[str, dict[str, str]]:
        """A new reviewer called `name`: (their id, the Authorization header with their ID token)."""
        email = f"{name}@example.com"
        password = create_user(self.pool, email, {"email": email, contract.DISPLAY_NAME_ATTRIBUTE: name})
        token = sign_in(self.pool, email, password)["IdToken"]
        return claims_of(token)[contract.REVIEWER_CLAIM], {contract.AUTHORIZATION_HEADER: token}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: dict


def create_reviews_table(endpoint: str) -> None:
    """The stack's key schema, indexes and TTL (handlers/reviews/contract.py)."""
    dynamodb = aws_client(endpoint, "dynamodb")
    dynamodb.create_table(
        TableName=TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in contract.KEY_ATTRIBUTES],
        KeySchema=[
            {"AttributeName": contract.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": index.projection},
            }
            for index in contract.INDEXES
        ],
    )
    dynamodb.update_time_to_live(
        TableName=TABLE_NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": contract.TTL_ATTRIBUTE}
    )


def create_reviews_api(endpoint: str, function_arn: str, pool: LocalPool) -> str:
    """A REST API imported from the stack's own definition, as the stack does; returns its id."""
    apigateway = aws_client(endpoint, "apigateway")
    api_id = apigateway.create_rest_api(name=API_NAME)["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    definition = api_gateway_definition(API_NAME, uri, ("https://shop.example.com",), pool.arn)
    apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(definition).encode())
    return api_id


def create_reviews_function(endpoint: str, build_dir) -> str:
    """The handler package the stack deploys (stacks.handler_package.package_handler); returns its ARN."""
    package = package_handler(destination=build_dir / "reviews-handler.zip")
    return aws_client(endpoint, "lambda").create_function(
        FunctionName="concurrency-test-reviews",
        Runtime="python3.13",
        Role=create_function_role(endpoint, "concurrency-test-reviews"),
        Handler=HANDLER,
        Code={"ZipFile": package.read_bytes()},
        Timeout=10,
        Environment={
            "Variables": {
                contract.TABLE_NAME_VARIABLE: TABLE_NAME,
                contract.REVIEWER_INDEX_VARIABLE: contract.REVIEWER_INDEX.name,
                contract.ALLOWED_ORIGINS_VARIABLE: "https://shop.example.com",
            }
        },
    )["FunctionArn"]


@pytest.fixture(scope="module")
def reviews_api(running_emulator, tmp_path_factory) -> Iterator[ReviewsApi]:
    endpoint = running_emulator.endpoint
    create_reviews_table(endpoint)
    function_arn = create_reviews_function(endpoint, tmp_path_factory.mktemp("build"))
    pool = create_user_pool(endpoint, "concurrency-test-reviewers")
    api_id = create_reviews_api(endpoint, function_arn, pool)
    deploy_stage(endpoint, api_id, STAGE, rate=10000, burst=10000)
    api_key = create_api_key(endpoint, api_id, STAGE, "concurrency-test-key")
    # Two warm workers, as `make up` runs: requests really overlap in the emulator.
    gateway, server = serve_in_thread(LocalGateway(endpoint, REGION, API_NAME, STAGE, refresh_seconds=0))
    try:
        yield ReviewsApi("127.0.0.1", server.server_address[1], api_key, aws_client(endpoint, "dynamodb"), pool)
    finally:
        stop_serving(gateway, server)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post_simultaneously(api: ReviewsApi, requests: list[tuple[dict, dict]]) -> list[Answer]:
    """POSTs every (review, extra headers) at once: all connections open, then all send."""
    everyone_connected = threading.Barrier(len(requests))

    def post(request: tuple[dict, dict]) -> Answer:
        review, headers = request
        connection = http.client.HTTPConnection(api.host, api.port, timeout=30)
        try:
            connection.connect()
            everyone_connected.wait()
            connection.request(
                "POST",
                f"/{STAGE}/reviews",
                json.dumps(review),
                {"Content-Type": "application/json", contract.API_KEY_HEADER: api.api_key, **headers},
            )
            response = connection.getresponse()
            return Answer(response.status, response.headers, json.loads(response.read()))
        finally:
            connection.close()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(post, requests))


def get(api: ReviewsApi, path: str) -> dict:
    connection = http.client.HTTPConnection(api.host, api.port, timeout=30)
    try:
        connection.request("GET", f"/{STAGE}{path}")
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        return body
    finally:
        connection.close()


def listed_review_ids(api: ReviewsApi, owner: str, owner_id: str) -> list[str]:
    """Every review id GET /reviews?<owner>=<owner_id> lists, following next_token page by page."""
    ids, token = [], None
    while True:
        query = {owner: owner_id, "limit": PAGE_SIZE, **({"next_token": token} if token else {})}
        page = get(api, f"/reviews?{urllib.parse.urlencode(query)}")
        ids += [review["review_id"] for review in page["reviews"]]
        token = page["next_token"]
        if token is None:
            return ids


def stored_reviews(api: ReviewsApi, product_id: str) -> dict[str, tuple[str, int]]:
    """review_id -> (reviewer_id, rating) of the review items stored for a product, read from the table."""
    items = api.dynamodb.query(
        TableName=TABLE_NAME,
        ConsistentRead=True,
        KeyConditionExpression="product_id = :product AND review_id >= :first",
        ExpressionAttributeValues={":product": {"S": product_id}, ":first": {"S": "0"}},
    )["Items"]
    return {item["review_id"]["S"]: (item["reviewer_id"]["S"], int(item["rating"]["N"])) for item in items}


def assert_everything_agrees_with(api: ReviewsApi, created: list[dict]) -> None:
    """The table, the rating summaries and both listings hold exactly the `created` reviews."""
    for product_id in {review["product_id"] for review in created}:
        reviews = [review for review in created if review["product_id"] == product_id]
        assert stored_reviews(api, product_id) == {
            review["review_id"]: (review["reviewer_id"], review["rating"]) for review in reviews
        }
        summary = get(api, f"/products/{product_id}/rating")
        stars = Counter(review["rating"] for review in reviews)
        assert summary["review_count"] == len(reviews)
        assert summary["ratings"] == {str(star): stars[star] for star in range(1, 6)}
        assert summary["average_rating"] == round(sum(r["rating"] for r in reviews) / len(reviews), 2)
        # Newest first: review ids are time-ordered, and the listing sorts by them.
        expected = sorted((review["review_id"] for review in reviews), reverse=True)
        assert listed_review_ids(api, "product_id", product_id) == expected
    for reviewer_id in {review["reviewer_id"] for review in created}:
        expected = sorted((r["review_id"] for r in created if r["reviewer_id"] == reviewer_id), reverse=True)
        assert listed_review_ids(api, "reviewer_id", reviewer_id) == expected


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_same_reviewer_posting_at_once_stores_one_review(reviews_api, attempt):
    product_id = new_id("sku")
    _, signed_in = reviews_api.sign_in(new_id("user"))
    answers = post_simultaneously(
        reviews_api, [({"product_id": product_id, "rating": 1 + i % 5}, signed_in) for i in range(SIMULTANEOUS)]
    )

    assert sorted(answer.status for answer in answers) == [201] + [409] * (SIMULTANEOUS - 1)
    [created] = [answer.body for answer in answers if answer.status == 201]
    # Every refusal names the review that won.
    assert {answer.body["details"][0]["review_id"] for answer in answers if answer.status == 409} == {
        created["review_id"]
    }
    assert_everything_agrees_with(reviews_api, [created])


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_one_idempotency_key_posted_at_once_stores_one_review(reviews_api, attempt):
    review = {"product_id": new_id("sku"), "rating": 4, "title": "Once"}
    _, signed_in = reviews_api.sign_in(new_id("user"))
    answers = post_simultaneously(
        reviews_api, [(review, {contract.IDEMPOTENCY_KEY_HEADER: new_id("key"), **signed_in})] * SIMULTANEOUS
    )

    assert [answer.status for answer in answers] == [201] * SIMULTANEOUS
    assert len({json.dumps(answer.body, sort_keys=True) for answer in answers}) == 1  # the same review, replayed
    replays = [answer.headers.get(contract.REPLAYED_HEADER) for answer in answers]
    assert replays.count("true") == SIMULTANEOUS - 1 and replays.count(None) == 1
    assert_everything_agrees_with(reviews_api, [answers[0].body])


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_new_reviews_racing_duplicates_keep_every_acknowledged_review(reviews_api, attempt):
    products = [new_id("sku") for _ in range(3)]
    reviewers = dict(reviews_api.sign_in(new_id("user")) for _ in range(4))  # id -> Authorization header
    pairs = [(product, reviewer) for product in products for reviewer in reviewers]
    copies = 3  # each review is POSTed three times, all 36 requests at once
    requests: list[tuple[dict, dict]] = [
        ({"product_id": product, "rating": 1 + (index % 5)}, reviewers[reviewer])
        for _ in range(copies)
        for index, (product, reviewer) in enumerate(pairs)
    ]
    answers = post_simultaneously(reviews_api, requests)

    created = [answer.body for answer in answers if answer.status == 201]
    assert sorted(answer.status for answer in answers) == [201] * len(pairs) + [409] * (len(pairs) * (copies - 1))
    assert sorted((review["product_id"], review["reviewer_id"]) for review in created) == sorted(pairs)
    assert_everything_agrees_with(reviews_api, created)
