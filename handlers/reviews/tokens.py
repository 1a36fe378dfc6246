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
import re

from . import contract
from .errors import InvalidInput, Problem
from .ids import REVIEW_ID
from .model import Listing, ListingKind, Position

_CHECKSUM_BYTES = 8
_CHECKSUM_KEY = b"product-reviews/next-token/v1"
_ID = re.compile(contract.ID_PATTERN)


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECKSUM_BYTES, key=_CHECKSUM_KEY).digest()


def encode_next_token(listing: Listing, position: Position) -> str:
    payload = json.dumps(
        [listing.kind, listing.owner_id, position.product_id, position.review_id],
        separators=(",", ":"),
    ).encode("utf-8")
    return base64.urlsafe_b64encode(payload + _checksum(payload)).rstrip(b"=").decode("ascii")


def decode_next_token(kind: ListingKind, owner_id: str, token: str) -> Position:
    """The position `token` points at; InvalidInput unless it was issued for this listing."""
    try:
        if len(token) > contract.MAX_NEXT_TOKEN_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, checksum = raw[:-_CHECKSUM_BYTES], raw[-_CHECKSUM_BYTES:]
        if not hmac.compare_digest(checksum, _checksum(payload)):
            raise ValueError("checksum mismatch")
        token_kind, token_owner, product_id, review_id = json.loads(payload)
    except (binascii.Error, ValueError, TypeError):
        raise _invalid_token() from None
    if (token_kind, token_owner) != (kind, owner_id) or not _is_inside(kind, owner_id, product_id, review_id):
        raise _invalid_token()
    return Position(product_id, review_id)


def _is_inside(kind: str, owner_id: str, product_id: object, review_id: object) -> bool:
    return (
        isinstance(product_id, str)
        and isinstance(review_id, str)
        and _ID.fullmatch(product_id) is not None
        and REVIEW_ID.fullmatch(review_id) is not None
        and (kind != "product" or product_id == owner_id)
    )


def _invalid_token() -> InvalidInput:
    return InvalidInput(
        "next_token is not a token this listing issued.",
        [Problem("next_token", "is malformed, altered or from a different listing")],
    )
