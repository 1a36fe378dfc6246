"""The writes, in domain terms: creating a review, and an author editing or deleting theirs.

Takes validated model values, works through the repository, returns model values or raises
the model's errors. Knows nothing of HTTP. (Reading one review, a listing or a rating summary
is a single repository read; the routes call the repository for those directly.)
"""

import calendar
import random
import time
from dataclasses import dataclass

from .errors import (
    IdempotencyKeyReused,
    IdempotencyKeyUsed,
    NotTheAuthor,
    ReviewChanged,
    ReviewNotFound,
    TemporarilyUnavailable,
)
from .ids import ReviewIdGenerator
from .model import IdempotencyRecord, NewReview, Review, ReviewEdit, Reviewer, ReviewKey
from .repository import ReviewRepository

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
# An edit or delete reads the review, then writes on condition that it is unchanged; when a
# concurrent write got there first, it pauses a random moment (longer each time, so racing
# writers spread out) and reads again, this many times in all.
CHANGE_ATTEMPTS = 5
LOST_RACE_PAUSE_SECONDS = 0.01


@dataclass(frozen=True)
class Created:
    review: Review
    replayed: bool  # True: an Idempotency-Key retry, answered with the review it created first


def create_review(
    repository: ReviewRepository,
    review_ids: ReviewIdGenerator,
    author: Reviewer,
    new_review: NewReview,
    idempotency_key: str | None,
    now: float,
) -> Created:
    """Stores a new review; raises ReviewExists, IdempotencyKeyReused or TemporarilyUnavailable."""
    now_ms = int(now * 1000)
    review = Review(
        product_id=new_review.product_id,
        review_id=review_ids.new_id(now_ms),
        reviewer_id=author.id,
        reviewer_name=author.name,
        rating=new_review.rating,
        title=new_review.title,
        comment=new_review.comment,
        created_at=iso_timestamp(now_ms),
        updated_at=None,
    )
    record = None
    if idempotency_key:
        fingerprint = new_review.fingerprint(author.id)
        record = IdempotencyRecord(idempotency_key, fingerprint, review, int(now) + IDEMPOTENCY_TTL_SECONDS)
    try:
        repository.create_review(review, record, int(now))
    except IdempotencyKeyUsed as used:
        if record is None or used.record.request_hash != record.request_hash:
            raise IdempotencyKeyReused() from None
        return Created(used.record.review, replayed=True)
    return Created(review, replayed=False)


def edit_review(repository: ReviewRepository, author: Reviewer, key: ReviewKey, edit: ReviewEdit, now: float) -> Review:
    """The author's review with the edit applied and a new updated_at; created_at and the
    review id stay. Raises ReviewNotFound, NotTheAuthor or TemporarilyUnavailable."""
    for attempt in range(CHANGE_ATTEMPTS):
        current = authors_review(repository, author, key)
        edited = edit.applied_to(current, author, next_update(current, int(now * 1000)))
        try:
            repository.replace_review(current, edited)
            return edited
        except ReviewChanged:
            pause_after_lost_race(attempt)
    raise TemporarilyUnavailable("the review kept changing under concurrent writes")


def delete_review(repository: ReviewRepository, author: Reviewer, key: ReviewKey) -> None:
    """Deletes the author's review and frees their one review of the product. Raises
    ReviewNotFound, NotTheAuthor or TemporarilyUnavailable."""
    for attempt in range(CHANGE_ATTEMPTS):
        current = authors_review(repository, author, key)
        try:
            repository.delete_review(current)
            return
        except ReviewChanged:
            pause_after_lost_race(attempt)
    raise TemporarilyUnavailable("the review kept changing under concurrent writes")


def pause_after_lost_race(attempt: int) -> None:
    """A concurrent edit or delete won: wait a little before looking again."""
    time.sleep(random.uniform(0, LOST_RACE_PAUSE_SECONDS * 2**attempt))


def authors_review(repository: ReviewRepository, author: Reviewer, key: ReviewKey) -> Review:
    """The stored review, if `author` wrote it."""
    review = repository.get_review(key)
    if review is None:
        raise ReviewNotFound()
    if review.reviewer_id != author.id:
        raise NotTheAuthor()
    return review


def next_update(review: Review, now_ms: int) -> str:
    """Now, or just after the review's last update if a clock lags behind it: every edit's
    updated_at is later than the one before, which is what the write's condition checks."""
    last_ms = parse_timestamp(review.updated_at) if review.updated_at else -1
    return iso_timestamp(max(now_ms, last_ms + 1))


def iso_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000)) + f".{epoch_ms % 1000:03d}Z"


def parse_timestamp(timestamp: str) -> int:
    """Epoch milliseconds of an iso_timestamp."""
    seconds = calendar.timegm(time.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(timestamp[20:23])
