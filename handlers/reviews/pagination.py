"""Opaque next_token: where the previous page stopped, bound to the listing that produced it.

The token is base64url(JSON position + 8-byte checksum). The checksum catches corrupted and
hand-edited tokens; it is not a secret, so the decoded position is validated as well and can
only ever point inside the listing it was issued for.
"""

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from .errors import bad_request
from .ids import REVIEW_ID_PATTERN
from .validation import ID_PATTERN, Listing

_CHECKSUM_BYTES = 8
_CHECKSUM_KEY = b"product-reviews/next-token/v1"
_MAX_TOKEN_CHARS = 400


@dataclass(frozen=True)
class Position:
    """The key of the last review returned: DynamoDB's LastEvaluatedKey without the index key."""

    product_id: str
    review_id: str


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECKSUM_BYTES, key=_CHECKSUM_KEY).digest()


def encode_next_token(listing: Listing, position: Position) -> str:
    payload = json.dumps(
        [listing.kind, listing.owner_id, position.product_id, position.review_id],
        separators=(",", ":"),
    ).encode("utf-8")
    return base64.urlsafe_b64encode(payload + _checksum(payload)).rstrip(b"=").decode("ascii")


def decode_next_token(listing: Listing) -> Position | None:
    """The position listing.next_token points at; a 400 unless it was issued for this listing."""
    token = listing.next_token
    if token is None:
        return None
    try:
        if len(token) > _MAX_TOKEN_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, checksum = raw[:-_CHECKSUM_BYTES], raw[-_CHECKSUM_BYTES:]
        if not hmac.compare_digest(checksum, _checksum(payload)):
            raise ValueError("checksum mismatch")
        kind, owner_id, product_id, review_id = json.loads(payload)
    except (binascii.Error, ValueError, TypeError):
        raise _invalid_token() from None
    position = Position(product_id, review_id)
    if (kind, owner_id) != (listing.kind, listing.owner_id) or not _is_inside(listing, position):
        raise _invalid_token()
    return position


def _is_inside(listing: Listing, position: Position) -> bool:
    return (
        isinstance(position.product_id, str)
        and isinstance(position.review_id, str)
        and ID_PATTERN.fullmatch(position.product_id) is not None
        and REVIEW_ID_PATTERN.fullmatch(position.review_id) is not None
        and (listing.kind != "product" or position.product_id == listing.owner_id)
    )


def _invalid_token():
    return bad_request(
        "next_token is not a token this listing issued.",
        [{"field": "next_token", "message": "is malformed, altered or from a different listing"}],
    )
