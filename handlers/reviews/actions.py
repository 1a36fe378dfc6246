"""Creating a review, in domain terms: the one action with rules beyond the repository's.

Takes validated model values, works through the repository, returns model values or raises
the model's errors. Knows nothing of HTTP. (Listings and rating summaries are single
repository reads; the routes call the repository for those directly.)
"""

import time
from dataclasses import dataclass

from .ids import ReviewIdGenerator
from .model import (
    IdempotencyKeyReused,
    IdempotencyKeyUsed,
    IdempotencyRecord,
    NewReview,
    Review,
)
from .repository import ReviewRepository

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Created:
    review: Review
    replayed: bool  # True: an Idempotency-Key retry, answered with the review it created first


def create_review(
    repository: ReviewRepository,
    review_ids: ReviewIdGenerator,
    new_review: NewReview,
    idempotency_key: str | None,
    now: float,
) -> Created:
    """Stores a new review; raises ReviewExists, IdempotencyKeyReused or TemporarilyUnavailable."""
    now_ms = int(now * 1000)
    review = Review(
        product_id=new_review.product_id,
        review_id=review_ids.new_id(now_ms),
        reviewer_id=new_review.reviewer_id,
        rating=new_review.rating,
        title=new_review.title,
        comment=new_review.comment,
        created_at=iso_timestamp(now_ms),
    )
    record = None
    if idempotency_key:
        record = IdempotencyRecord(
            idempotency_key, new_review.fingerprint(), review, int(now) + IDEMPOTENCY_TTL_SECONDS
        )
    try:
        repository.create_review(review, record, int(now))
    except IdempotencyKeyUsed as used:
        if record is None or used.record.request_hash != record.request_hash:
            raise IdempotencyKeyReused() from None
        return Created(used.record.review, replayed=True)
    return Created(review, replayed=False)


def iso_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000)) + f".{epoch_ms % 1000:03d}Z"
