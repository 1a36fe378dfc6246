"""Every error a request can end in below the HTTP edge: invalid input, a missing sign-in,
ownership, a missing or existing review, idempotency, an unavailable table.

No HTTP here: responses.py answers each one, with the status and code the contract's error
table gives it.
"""

from dataclasses import dataclass

from .model import IdempotencyRecord


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


class InvalidInput(Exception):
    """The request cannot be served as sent; `problems` names each bad field or parameter."""

    def __init__(self, message: str, problems: list[Problem] | None = None, *, malformed: bool = False):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.malformed = malformed  # not parseable at all (e.g. not JSON), rather than invalid


class NotSignedIn(Exception):
    """A write arrived without a signed-in reviewer (the authorizer's claims are missing or
    unusable): API Gateway's authorizer should have refused it, so the stage is misconfigured."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotTheAuthor(Exception):
    """Someone other than the review's author tried to change or delete it."""


class ReviewNotFound(Exception):
    """No review has this key."""


class ReviewChanged(Exception):
    """The review changed (or went) between reading it and writing it: a concurrent write won."""


class ReviewExists(Exception):
    """The reviewer already reviewed this product: one review per reviewer and product."""

    def __init__(self, review_id: str):
        super().__init__(review_id)
        self.review_id = review_id


class IdempotencyKeyUsed(Exception):
    """The Idempotency-Key is already stored, with `record`."""

    def __init__(self, record: IdempotencyRecord):
        super().__init__(record.key)
        self.record = record


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was first used with a different request."""


class TemporarilyUnavailable(Exception):
    """The table cannot serve the request right now; retrying shortly may succeed.

    `fault` is True when the cause is ours to fix (the table unreachable or timing out), False
    when DynamoDB asked us to slow down (throttling) or a concurrent write collided.
    """

    def __init__(self, reason: str, *, fault: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.fault = fault
