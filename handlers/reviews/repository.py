"""The reviews table, through the low-level DynamoDB client: the handler's only I/O.

Item layout (partition product_id, sort review_id):
- review:      <product_id> / <ULID>                     the only items with reviewer_id (the
                                                          reviewer index is sparse)
- guard:       <product_id> / #REVIEWER#<reviewer_id>    one review per reviewer and product
- summary:     <product_id> / #SUMMARY                   review_count, rating_total, rating_1..5
- idempotency: #IDEMPOTENCY#<key> / #IDEMPOTENCY         request_hash, response (the review as
                                                          JSON), expires_at (TTL)
Review ids are ULIDs (>= "0") and every internal sort key starts with "#" (< "0"), so the key
condition review_id >= "0" keeps internal items out of listings without a filter.
"""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from . import contract
from .model import (
    IdempotencyKeyUsed,
    IdempotencyRecord,
    Listing,
    Page,
    Position,
    RatingSummary,
    Review,
    ReviewExists,
    TemporarilyUnavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

FIRST_REVIEW_ID = "0"
SUMMARY_SORT_KEY = "#SUMMARY"
STARS = range(contract.MIN_RATING, contract.MAX_RATING + 1)
_THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
# Cancellation reasons that mean "try again", not "your request conflicts".
_TRANSIENT_CANCELLATION_CODES = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"})
_NEW_ITEM = f"attribute_not_exists({contract.PARTITION_KEY})"


class ReviewRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str, reviewer_index_name: str):
        self.client = client
        self.table_name = table_name
        self.reviewer_index_name = reviewer_index_name

    def create_review(self, review: Review, idempotency: IdempotencyRecord | None, now: int) -> None:
        """Review, guard, summary and idempotency record in one transaction: all or nothing.

        Raises ReviewExists, IdempotencyKeyUsed or TemporarilyUnavailable.
        """
        items = [
            self._put(_review_item(review), _NEW_ITEM),
            self._put(_guard_item(review), _NEW_ITEM),
            {"Update": _summary_update(self.table_name, review)},
        ]
        if idempotency:
            items.append(
                self._put(
                    _idempotency_item(idempotency),
                    # TTL deletes lazily: an expired record still present counts as absent.
                    f"{_NEW_ITEM} OR {contract.TTL_ATTRIBUTE} < :now",
                    {":now": {"N": str(now)}},
                )
            )
        try:
            _call(self.client.transact_write_items, TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            _raise_cancellation_cause(error, idempotency)

    def rating_summary(self, product_id: str) -> RatingSummary:
        response = _call(self.client.get_item, TableName=self.table_name, Key=_key(product_id, SUMMARY_SORT_KEY))
        # No summary item yet means no reviews yet.
        item = response.get("Item", {})
        return RatingSummary(
            product_id=product_id,
            review_count=_count(item, "review_count"),
            rating_total=_count(item, "rating_total"),
            counts=tuple(_count(item, f"rating_{star}") for star in STARS),
        )

    def list_reviews(self, listing: Listing) -> Page:
        """Up to listing.limit reviews, newest first, and where to continue.

        DynamoDB stops a page at 1 MB, so keep querying until the page is full or the end.
        """
        owner_key = contract.PARTITION_KEY if listing.kind == "product" else contract.REVIEWER_INDEX.partition_key
        query: Item = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"{owner_key} = :owner AND {contract.SORT_KEY} >= :first",
            "ExpressionAttributeValues": {":owner": {"S": listing.owner_id}, ":first": {"S": FIRST_REVIEW_ID}},
            "ScanIndexForward": False,
        }
        if listing.kind == "reviewer":
            query["IndexName"] = self.reviewer_index_name
        start_key = _start_key(owner_key, listing)
        reviews: list[Review] = []
        while True:
            if start_key:
                query["ExclusiveStartKey"] = start_key
            query["Limit"] = listing.limit - len(reviews)
            response = _call(self.client.query, **query)
            reviews.extend(_review(item) for item in response["Items"])
            start_key = response.get("LastEvaluatedKey")
            if not start_key or len(reviews) >= listing.limit:
                break
        position = None
        if start_key:
            position = Position(start_key[contract.PARTITION_KEY]["S"], start_key[contract.SORT_KEY]["S"])
        return Page(reviews, position)

    def _put(self, item: Item, condition: str, values: Item | None = None) -> Item:
        put: Item = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}


def _call(operation: Callable[..., Any], **params: Any) -> Any:
    """One DynamoDB call; throttling, timeouts and an unreachable table become TemporarilyUnavailable."""
    try:
        return operation(**params)
    except ClientError as error:
        if error.response["Error"]["Code"] in _THROTTLING_CODES:
            raise TemporarilyUnavailable("DynamoDB throttled the request") from error
        raise
    except (ConnectionError, HTTPClientError) as error:  # connect/read timeouts, refused, reset
        raise TemporarilyUnavailable(f"DynamoDB is unreachable: {type(error).__name__}", fault=True) from error


def _raise_cancellation_cause(error: ClientError, idempotency: IdempotencyRecord | None) -> None:
    """Turn a cancelled create_review transaction into the reason a client can act on."""
    # botocore-stubs type a reason's Item as {key, value}; DynamoDB sends an attribute map.
    reasons: list[Item] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]  # mistyped stubs
    codes = [reason.get("Code") for reason in reasons]
    # Item order as in create_review: review, guard, summary[, idempotency].
    if idempotency and len(reasons) == 4 and codes[3] == "ConditionalCheckFailed" and "Item" in reasons[3]:
        raise IdempotencyKeyUsed(_idempotency_record(idempotency.key, reasons[3]["Item"])) from error
    if len(reasons) >= 2 and codes[1] == "ConditionalCheckFailed" and "Item" in reasons[1]:
        raise ReviewExists(reasons[1]["Item"]["existing_review_id"]["S"]) from error
    if _TRANSIENT_CANCELLATION_CODES.intersection(codes):
        raise TemporarilyUnavailable("a concurrent write collided") from error
    raise error


def _key(partition: str, sort: str) -> Item:
    return {contract.PARTITION_KEY: {"S": partition}, contract.SORT_KEY: {"S": sort}}


def _count(item: Item, name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def _start_key(owner_key: str, listing: Listing) -> Item | None:
    if listing.after is None:
        return None
    key = _key(listing.after.product_id, listing.after.review_id)
    key[owner_key] = {"S": listing.owner_id}
    return key


def _review_item(review: Review) -> Item:
    item = {
        **_key(review.product_id, review.review_id),
        contract.REVIEWER_INDEX.partition_key: {"S": review.reviewer_id},
        "rating": {"N": str(review.rating)},
        "created_at": {"S": review.created_at},
    }
    if review.title is not None:
        item["title"] = {"S": review.title}
    if review.comment is not None:
        item["comment"] = {"S": review.comment}
    return item


def _review(item: Item) -> Review:
    return Review(
        product_id=item[contract.PARTITION_KEY]["S"],
        review_id=item[contract.SORT_KEY]["S"],
        reviewer_id=item[contract.REVIEWER_INDEX.partition_key]["S"],
        rating=int(item["rating"]["N"]),
        title=item["title"]["S"] if "title" in item else None,
        comment=item["comment"]["S"] if "comment" in item else None,
        created_at=item["created_at"]["S"],
    )


def _guard_item(review: Review) -> Item:
    return {
        **_key(review.product_id, f"#REVIEWER#{review.reviewer_id}"),
        "existing_review_id": {"S": review.review_id},
    }


def _summary_update(table_name: str, review: Review) -> Item:
    return {
        "TableName": table_name,
        "Key": _key(review.product_id, SUMMARY_SORT_KEY),
        "UpdateExpression": f"ADD review_count :one, rating_total :rating, rating_{review.rating} :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":rating": {"N": str(review.rating)}},
    }


def _idempotency_item(record: IdempotencyRecord) -> Item:
    return {
        **_key(f"#IDEMPOTENCY#{record.key}", "#IDEMPOTENCY"),
        "request_hash": {"S": record.request_hash},
        "response": {"S": json.dumps(record.review.to_dict(), separators=(",", ":"))},
        contract.TTL_ATTRIBUTE: {"N": str(record.expires_at)},
    }


def _idempotency_record(key: str, item: Item) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        request_hash=item["request_hash"]["S"],
        review=Review(**json.loads(item["response"]["S"])),
        expires_at=int(item[contract.TTL_ATTRIBUTE]["N"]),
    )
