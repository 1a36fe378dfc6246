"""The domain: reviews, listings and rating summaries (its errors: errors.py).

The bottom layer: no I/O and no HTTP. Validation and the repository produce and consume these
types.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class Reviewer:
    """The signed-in reviewer: the ID token's subject and display name (never the body's word)."""

    id: str
    name: str


@dataclass(frozen=True)
class NewReview:
    """A validated review as the client sent it."""

    product_id: str
    rating: int
    title: str | None
    comment: str | None

    def fingerprint(self, reviewer_id: str) -> str:
        """Hash of the canonical request by this reviewer, so an idempotent retry can be told
        from a new request (the display name is left out: renaming oneself changes no review)."""
        canonical = json.dumps({**asdict(self), "reviewer_id": reviewer_id}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Review:
    product_id: str
    review_id: str  # a ULID: sorts by creation time
    reviewer_id: str  # the author's id (the token's subject)
    # The author's display name when the review was written or last edited; None for reviews
    # stored before reviewers signed in.
    reviewer_name: str | None
    rating: int
    title: str | None
    comment: str | None
    created_at: str  # ISO-8601 UTC with milliseconds
    updated_at: str | None  # the last edit, later than any before it; None if never edited

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ReviewKey:
    product_id: str
    review_id: str


@dataclass(frozen=True)
class ReviewEdit:
    """A validated PATCH: the fields in `changed` take these values (a None title or comment
    clears it); the others keep theirs."""

    changed: frozenset[str]
    rating: int | None
    title: str | None
    comment: str | None

    def applied_to(self, review: Review, author: Reviewer, updated_at: str) -> Review:
        values = {name: getattr(self, name) for name in sorted(self.changed)}
        return replace(review, **values, reviewer_name=author.name, updated_at=updated_at)


@dataclass(frozen=True)
class Position:
    """Where a page stopped: the key of the last review returned."""

    product_id: str
    review_id: str


ListingKind = Literal["product", "reviewer"]


@dataclass(frozen=True)
class Listing:
    """Which reviews to list: a product's (the table) or a reviewer's (the index), newest first."""

    kind: ListingKind
    owner_id: str
    limit: int
    after: Position | None = None


@dataclass(frozen=True)
class Page:
    reviews: list[Review]
    next_position: Position | None  # None: nothing after this page


@dataclass(frozen=True)
class RatingSummary:
    product_id: str
    review_count: int
    rating_total: int
    # counts[star - 1] is the number of reviews with that star rating.
    counts: tuple[int, ...]

    @property
    def average(self) -> float | None:
        return round(self.rating_total / self.review_count, 2) if self.review_count else None


@dataclass(frozen=True)
class IdempotencyRecord:
    """What an Idempotency-Key stands for: the request it came with and the review it created."""

    key: str
    request_hash: str
    review: Review
    expires_at: int  # epoch seconds (DynamoDB TTL)
