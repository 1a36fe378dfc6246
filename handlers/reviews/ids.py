"""Review ids: ULIDs, so a review id sorts by creation time (newest-first listings rely on it)."""

import re
import secrets

from . import contract

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
REVIEW_ID = re.compile(contract.REVIEW_ID_PATTERN)


def encode_ulid(value: int) -> str:
    """128 bits as 26 Crockford base32 characters, most significant first."""
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class ReviewIdGenerator:
    """48-bit millisecond timestamp + 80 random bits.

    Within one millisecond (or if the clock steps back) the random part is incremented
    instead of redrawn, so ids from one execution environment strictly increase.
    """

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0

    def new_id(self, now_ms: int) -> str:
        if now_ms > self._last_ms:
            self._last_ms, self._last_random = now_ms, secrets.randbits(_RANDOM_BITS)
        elif self._last_random + 1 < 1 << _RANDOM_BITS:
            self._last_random += 1
        else:
            self._last_ms, self._last_random = self._last_ms + 1, secrets.randbits(_RANDOM_BITS)
        return encode_ulid(self._last_ms << _RANDOM_BITS | self._last_random)
