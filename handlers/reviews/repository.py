"""The reviews table, through the low-level DynamoDB client: the handler's only I/O.

Item layout (partition product_id, sort review_id):
- review:      <product_id> / <ULID>                     the only items with reviewer_id (the
                                                          ReviewerIdIndex is sparse)
- guard:       <product_id> / #REVIEWER#<reviewer_id>    one review per reviewer and product
- summary:     <product_id> / #SUMMARY                   review_count, rating_total, rating_1..5
- idempotency: #IDEMPOTENCY#<key> / #IDEMPOTENCY         request_hash, response, expires_at (TTL)
Review ids are ULIDs (>= "0") and every internal sort key starts with "#" (< "0"), so the key
condition review_id >= "0" keeps internal items out of listings without a filter.
"""

from dataclasses import dataclass

from botocore.exceptions import ClientError

from .pagination import Position
from .validation import Listing

FIRST_REVIEW_ID = "0"
SUMMARY_SORT_KEY = "#SUMMARY"
_THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# Cancellation reasons that mean "try again", not "your request conflicts".
_TRANSIENT_CANCELLATION_CODES = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}
)
_NEW_ITEM = "attribute_not_exists(product_id)"


@dataclass(frozen=True)
class Review:
    product_id: str
    review_id: str
    reviewer_id: str
    rating: int
    title: str | None
    comment: str | None
    created_at: str


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    response_body: str
    expires_at: int


@dataclass(frozen=True)
class RatingSummary:
    review_count: int
    rating_total: int
    # counts[star - 1] is the number of reviews with that star rating.
    counts: tuple[int, int, int, int, int]


class ReviewExists(Exception):
    def __init__(self, review_id: str):
        super().__init__(review_id)
        self.review_id = review_id


class IdempotencyKeyUsed(Exception):
    def __init__(self, request_hash: str, response_body: str):
        super().__init__(request_hash)
        self.request_hash = request_hash
        self.response_body = response_body


class TemporarilyUnavailable(Exception):
    """DynamoDB throttled us (after botocore's retries) or a concurrent transaction collided."""


class ReviewRepository:
    def __init__(self, client, table_name: str, reviewer_index_name: str):
        self.client = client
        self.table_name = table_name
        self.reviewer_index_name = reviewer_index_name

    def create_review(self, review: Review, idempotency: IdempotencyRecord | None, now: int) -> None:
        """Review, guard, summary and idempotency record in one transaction: all or nothing."""
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
                    f"{_NEW_ITEM} OR expires_at < :now",
                    {":now": {"N": str(now)}},
                )
            )
        try:
            _call(self.client.transact_write_items, TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            _raise_cancellation_cause(error)

    def rating_summary(self, product_id: str) -> RatingSummary:
        response = _call(
            self.client.get_item,
            TableName=self.table_name,
            Key={"product_id": {"S": product_id}, "review_id": {"S": SUMMARY_SORT_KEY}},
        )
        # No summary item yet means no reviews yet.
        item = response.get("Item", {})
        return RatingSummary(
            review_count=_count(item, "review_count"),
            rating_total=_count(item, "rating_total"),
            counts=tuple(_count(item, f"rating_{star}") for star in range(1, 6)),
        )

    def list_reviews(self, listing: Listing, after: Position | None) -> tuple[list[Review], Position | None]:
        """Up to listing.limit reviews, newest first, and where to continue (None at the end).

        DynamoDB stops a page at 1 MB, so keep querying until the page is full or the end.
        """
        owner_key = "product_id" if listing.kind == "product" else "reviewer_id"
        query = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"{owner_key} = :owner AND review_id >= :first",
            "ExpressionAttributeValues": {
                ":owner": {"S": listing.owner_id},
                ":first": {"S": FIRST_REVIEW_ID},
            },
            "ScanIndexForward": False,
        }
        if listing.kind == "reviewer":
            query["IndexName"] = self.reviewer_index_name
        start_key = _start_key(owner_key, listing.owner_id, after)
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
        position = Position(start_key["product_id"]["S"], start_key["review_id"]["S"]) if start_key else None
        return reviews, position

    def _put(self, item: dict, condition: str, values: dict | None = None) -> dict:
        put = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}


def _call(operation, **params) -> dict:
    try:
        return operation(**params)
    except ClientError as error:
        if error.response["Error"]["Code"] in _THROTTLING_CODES:
            raise TemporarilyUnavailable() from error
        raise


def _raise_cancellation_cause(error: ClientError) -> None:
    """Turn a cancelled create_review transaction into the reason a client can act on."""
    reasons = error.response.get("CancellationReasons", [])
    codes = [reason.get("Code") for reason in reasons]
    # Item order as in create_review: review, guard, summary[, idempotency].
    if len(reasons) == 4 and codes[3] == "ConditionalCheckFailed" and "Item" in reasons[3]:
        record = reasons[3]["Item"]
        raise IdempotencyKeyUsed(record["request_hash"]["S"], record["response"]["S"]) from error
    if len(reasons) >= 2 and codes[1] == "ConditionalCheckFailed" and "Item" in reasons[1]:
        raise ReviewExists(reasons[1]["Item"]["existing_review_id"]["S"]) from error
    if _TRANSIENT_CANCELLATION_CODES.intersection(codes):
        raise TemporarilyUnavailable() from error
    raise error


def _count(item: dict, name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def _start_key(owner_key: str, owner_id: str, after: Position | None) -> dict | None:
    if after is None:
        return None
    key = {"product_id": {"S": after.product_id}, "review_id": {"S": after.review_id}}
    key[owner_key] = {"S": owner_id}
    return key


def _review_item(review: Review) -> dict:
    item = {
        "product_id": {"S": review.product_id},
        "review_id": {"S": review.review_id},
        "reviewer_id": {"S": review.reviewer_id},
        "rating": {"N": str(review.rating)},
        "created_at": {"S": review.created_at},
    }
    if review.title is not None:
        item["title"] = {"S": review.title}
    if review.comment is not None:
        item["comment"] = {"S": review.comment}
    return item


def _review(item: dict) -> Review:
    return Review(
        product_id=item["product_id"]["S"],
        review_id=item["review_id"]["S"],
        reviewer_id=item["reviewer_id"]["S"],
        rating=int(item["rating"]["N"]),
        title=item["title"]["S"] if "title" in item else None,
        comment=item["comment"]["S"] if "comment" in item else None,
        created_at=item["created_at"]["S"],
    )


def _guard_item(review: Review) -> dict:
    return {
        "product_id": {"S": review.product_id},
        "review_id": {"S": f"#REVIEWER#{review.reviewer_id}"},
        "existing_review_id": {"S": review.review_id},
    }


def _summary_update(table_name: str, review: Review) -> dict:
    return {
        "TableName": table_name,
        "Key": {"product_id": {"S": review.product_id}, "review_id": {"S": SUMMARY_SORT_KEY}},
        "UpdateExpression": f"ADD review_count :one, rating_total :rating, rating_{review.rating} :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":rating": {"N": str(review.rating)}},
    }


def _idempotency_item(record: IdempotencyRecord) -> dict:
    return {
        "product_id": {"S": f"#IDEMPOTENCY#{record.key}"},
        "review_id": {"S": "#IDEMPOTENCY"},
        "request_hash": {"S": record.request_hash},
        "response": {"S": record.response_body},
        "expires_at": {"N": str(record.expires_at)},
    }
