"""The reviews table, through the low-level DynamoDB client: the handler's only I/O.

Item layout (partition product_id, sort review_id):
- review:      <product_id> / <ULID>                     the only items with reviewer_id (the
                                                          reviewer index is sparse); also
                                                          reviewer_name, updated_at when set
- guard:       <product_id> / #REVIEWER#<reviewer_id>    one review per reviewer and product
- summary:     <product_id> / #SUMMARY                   review_count, rating_total, rating_1..5
- idempotency: #IDEMPOTENCY#<reviewer_id>#<key>          request_hash, response (the review as
               / #IDEMPOTENCY                             JSON), expires_at (TTL); per reviewer
Review ids are ULIDs (>= "0") and every internal sort key starts with "#" (< "0"), so the key
condition review_id >= "0" keeps internal items out of listings without a filter. Ids and
keys never contain "#", so the parts of an internal key cannot run into each other.

Every change (create, edit, delete) is one transaction with conditions on what it read, so
the summary counts each stored review exactly once whatever runs at the same time.
"""

import json
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from . import contract
from .errors import IdempotencyKeyUsed, ReviewChanged, ReviewExists, TemporarilyUnavailable
from .model import IdempotencyRecord, Listing, Page, Position, RatingSummary, Review, ReviewKey

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
# A transaction DynamoDB cancels only because another one touched the same items is tried
# again, a few times, after a short random pause.
TRANSACTION_ATTEMPTS = 3
CONFLICT_PAUSE_SECONDS = 0.02


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
            self._summary_change(review.product_id, _counted(review, 1)),
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
            self._transact(items)
        except ClientError as error:
            _raise_cancellation_cause(error, idempotency)

    def get_review(self, key: ReviewKey) -> Review | None:
        """The review as last written (a strongly consistent read), or None."""
        response = _call(
            self.client.get_item,
            TableName=self.table_name,
            Key=_key(key.product_id, key.review_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _review(item) if item and contract.REVIEWER_INDEX.partition_key in item else None

    def replace_review(self, current: Review, edited: Review) -> None:
        """Writes `edited` over `current` and moves its rating in the summary, provided the
        stored review is still `current`; raises ReviewChanged if it is not."""
        condition, values = _unchanged(current)
        items = [self._put(_review_item(edited), condition, values, _UNCHANGED_NAMES)]
        if edited.rating != current.rating:
            moved = {f"rating_{current.rating}": -1, f"rating_{edited.rating}": 1}
            items.append(
                self._summary_change(current.product_id, {"rating_total": edited.rating - current.rating, **moved})
            )
        self._change_review(items)

    def delete_review(self, current: Review) -> None:
        """Deletes the review, frees its one-review-per-product guard and takes it out of the
        summary, provided the stored review is still `current`; raises ReviewChanged if not."""
        condition, values = _unchanged(current)
        delete = {
            "TableName": self.table_name,
            "Key": _key(current.product_id, current.review_id),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": _UNCHANGED_NAMES,
            "ExpressionAttributeValues": values,
        }
        guard = {"TableName": self.table_name, "Key": _guard_key(current.product_id, current.reviewer_id)}
        summary = self._summary_change(current.product_id, _counted(current, -1))
        self._change_review([{"Delete": delete}, {"Delete": guard}, summary])

    def _change_review(self, items: list[Item]) -> None:
        """An edit or delete whose first item is conditioned on the review as read."""
        try:
            self._transact(items)
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise ReviewChanged() from error
            _raise_transient_or(error, reasons)

    def _transact(self, items: list[Item]) -> None:
        """One TransactWriteItems, tried again while DynamoDB cancels it only for conflicts with
        other transactions. A cancellation for any other reason is raised as DynamoDB gave it.

        Every attempt carries a ClientRequestToken of its own. botocore would fill one in (the
        operation's idempotencyToken trait) and keep it when it resends a request whose answer
        was lost; setting it here makes that guarantee ours to see and test, instead of an SDK
        handler's: a resent transaction that DynamoDB already applied answers success within
        10 minutes, where running it again would fail its own conditions (a 409 or 404 for the
        caller's own write). Not derived from the Idempotency-Key: a retried request builds a
        new review (a new id), which under a reused token is IdempotentParameterMismatch; the
        idempotency record already makes those retries safe."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                _call(self.client.transact_write_items, TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
                return
            except ClientError as error:
                codes = {reason.get("Code") for reason in _cancellation_reasons(error)} - {"None", None}
                if codes != {"TransactionConflict"} or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise
            time.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * 2**attempt))

    def _summary_change(self, product_id: str, deltas: dict[str, int]) -> Item:
        """Adds each delta to its counter of the product's summary (created on first use)."""
        names = sorted(deltas)
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(product_id, SUMMARY_SORT_KEY),
                "UpdateExpression": "ADD " + ", ".join(f"{name} :d{n}" for n, name in enumerate(names)),
                "ExpressionAttributeValues": {f":d{n}": {"N": str(deltas[name])} for n, name in enumerate(names)},
            }
        }

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

    def _put(self, item: Item, condition: str, values: Item | None = None, names: dict[str, str] | None = None) -> Item:
        put: Item = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            put["ExpressionAttributeValues"] = values
        if names:
            put["ExpressionAttributeNames"] = names
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


def _cancellation_reasons(error: ClientError) -> list[Item]:
    """Why DynamoDB cancelled a transaction, item by item; [] for any other error."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return []
    # botocore-stubs type a reason's Item as {key, value}; DynamoDB sends an attribute map.
    return error.response.get("CancellationReasons", [])  # type: ignore[return-value]  # mistyped stubs


def _raise_cancellation_cause(error: ClientError, idempotency: IdempotencyRecord | None) -> None:
    """Turn a cancelled create_review transaction into the reason a client can act on."""
    reasons = _cancellation_reasons(error)
    codes = [reason.get("Code") for reason in reasons]
    # Item order as in create_review: review, guard, summary[, idempotency].
    if idempotency and len(reasons) == 4 and codes[3] == "ConditionalCheckFailed" and "Item" in reasons[3]:
        raise IdempotencyKeyUsed(_idempotency_record(idempotency, reasons[3]["Item"])) from error
    if len(reasons) >= 2 and codes[1] == "ConditionalCheckFailed" and "Item" in reasons[1]:
        raise ReviewExists(reasons[1]["Item"]["existing_review_id"]["S"]) from error
    _raise_transient_or(error, reasons)


def _raise_transient_or(error: ClientError, reasons: list[Item]) -> None:
    """TemporarilyUnavailable if a concurrent write or throttling cancelled the transaction;
    otherwise the error itself (a fault)."""
    if _TRANSIENT_CANCELLATION_CODES.intersection(reason.get("Code") for reason in reasons):
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


# Optional text attributes of a review item: absent when None.
_OPTIONAL_TEXT = ("reviewer_name", "title", "comment", "updated_at")
_UNCHANGED_NAMES = {"#author": contract.REVIEWER_INDEX.partition_key, "#rating": "rating", "#updated": "updated_at"}


def _review_item(review: Review) -> Item:
    item = {
        **_key(review.product_id, review.review_id),
        contract.REVIEWER_INDEX.partition_key: {"S": review.reviewer_id},
        "rating": {"N": str(review.rating)},
        "created_at": {"S": review.created_at},
    }
    for name in _OPTIONAL_TEXT:
        value = getattr(review, name)
        if value is not None:
            item[name] = {"S": value}
    return item


def _review(item: Item) -> Review:
    """A stored review; one stored before sign-in has no reviewer_name, one never edited no updated_at."""
    text = {name: item[name]["S"] if name in item else None for name in _OPTIONAL_TEXT}
    return Review(
        product_id=item[contract.PARTITION_KEY]["S"],
        review_id=item[contract.SORT_KEY]["S"],
        reviewer_id=item[contract.REVIEWER_INDEX.partition_key]["S"],
        rating=int(item["rating"]["N"]),
        created_at=item["created_at"]["S"],
        **text,
    )


def _unchanged(review: Review) -> tuple[str, Item]:
    """A condition (names in _UNCHANGED_NAMES) that holds while the stored review is still
    `review`: same author and rating (what the summary counted), and no edit since (each
    edit's updated_at is later than the one before)."""
    values = {":author": {"S": review.reviewer_id}, ":rating": {"N": str(review.rating)}}
    condition = "#author = :author AND #rating = :rating AND "
    if review.updated_at is None:
        return condition + "attribute_not_exists(#updated)", values
    return condition + "#updated = :updated", {**values, ":updated": {"S": review.updated_at}}


def _counted(review: Review, sign: int) -> dict[str, int]:
    """The summary's counters for one review: added (sign 1) or taken away (-1)."""
    return {"review_count": sign, "rating_total": sign * review.rating, f"rating_{review.rating}": sign}


def _guard_key(product_id: str, reviewer_id: str) -> Item:
    return _key(product_id, f"#REVIEWER#{reviewer_id}")


def _guard_item(review: Review) -> Item:
    return {**_guard_key(review.product_id, review.reviewer_id), "existing_review_id": {"S": review.review_id}}


def _idempotency_key(record: IdempotencyRecord) -> Item:
    """Per reviewer: another reviewer's identical key is another record."""
    return _key(f"#IDEMPOTENCY#{record.review.reviewer_id}#{record.key}", "#IDEMPOTENCY")


def _idempotency_item(record: IdempotencyRecord) -> Item:
    return {
        **_idempotency_key(record),
        "request_hash": {"S": record.request_hash},
        "response": {"S": json.dumps(record.review.to_dict(), separators=(",", ":"))},
        contract.TTL_ATTRIBUTE: {"N": str(record.expires_at)},
    }


def _idempotency_record(ours: IdempotencyRecord, item: Item) -> IdempotencyRecord:
    """The stored record under our record's key."""
    return IdempotencyRecord(
        key=ours.key,
        request_hash=item["request_hash"]["S"],
        review=Review(**json.loads(item["response"]["S"])),
        expires_at=int(item[contract.TTL_ATTRIBUTE]["N"]),
    )
