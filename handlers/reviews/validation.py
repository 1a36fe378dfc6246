"""Request validation: turns untrusted input into typed values or a 400 listing every problem."""

import hashlib
import json
import re
from dataclasses import dataclass

from .errors import ApiError, bad_request

# Ids are restricted to a charset without "#": the table reserves "#..." sort keys and
# partitions for its internal guard, summary and idempotency items.
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TEXT_LIMITS = {"title": 200, "comment": 4000}
REVIEW_FIELDS = frozenset({"product_id", "reviewer_id", "rating", *TEXT_LIMITS})
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
LISTING_PARAMETERS = frozenset({"product_id", "reviewer_id", "limit", "next_token"})


@dataclass(frozen=True)
class NewReview:
    product_id: str
    reviewer_id: str
    rating: int
    title: str | None
    comment: str | None

    def fingerprint(self) -> str:
        """Hash of the canonical request, so an idempotent retry can be told from a new request."""
        canonical = json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Listing:
    """Which reviews to list: by "product" (the table) or by "reviewer" (the index)."""

    kind: str
    owner_id: str
    limit: int
    next_token: str | None


def problem(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def id_problem(field: str, value) -> dict | None:
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return None
    return problem(field, "must be 1-64 characters from A-Z a-z 0-9 . _ : -")


def text_problem(field: str, value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return problem(field, "must be a string or null")
    limit = TEXT_LIMITS[field]
    stripped = value.strip()
    if not 1 <= len(stripped) <= limit:
        return problem(field, f"must have 1-{limit} characters after trimming whitespace")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        return problem(field, "must be valid Unicode")
    return None


def parse_rating(value) -> int | None:
    """1-5 as a JSON integer; 5.0 counts as 5, but booleans, strings and 4.5 do not."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int and 1 <= value <= 5:
        return value
    return None


def parse_json_object(body: bytes) -> dict:
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The body is not valid UTF-8 JSON.") from None
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return document


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_review(body: bytes) -> NewReview:
    document = parse_json_object(body)
    problems = [problem(name, "is not a known field") for name in sorted(document.keys() - REVIEW_FIELDS)]
    problems += [
        found
        for found in (
            id_problem("product_id", document.get("product_id")),
            id_problem("reviewer_id", document.get("reviewer_id")),
            text_problem("title", document.get("title")),
            text_problem("comment", document.get("comment")),
        )
        if found
    ]
    rating = parse_rating(document.get("rating"))
    if rating is None:
        problems.append(problem("rating", "must be an integer from 1 to 5"))
    if problems:
        raise bad_request("The review is invalid.", problems)
    return NewReview(
        product_id=document["product_id"],
        reviewer_id=document["reviewer_id"],
        rating=rating,
        title=_stripped(document.get("title")),
        comment=_stripped(document.get("comment")),
    )


def _stripped(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def parse_product_id(path_parameters: dict[str, str]) -> str:
    value = path_parameters.get("product_id")
    found = id_problem("product_id", value)
    if found:
        raise bad_request("The product id is invalid.", [found])
    return value


def parse_idempotency_key(values: tuple[str, ...]) -> str | None:
    if not values:
        return None
    if len(values) > 1 or not IDEMPOTENCY_KEY_PATTERN.fullmatch(values[0]):
        raise bad_request(
            "The Idempotency-Key header is invalid.",
            [problem("Idempotency-Key", "must be one value of 1-128 characters from A-Z a-z 0-9 . _ : -")],
        )
    return values[0]


def parse_listing(query: dict[str, tuple[str, ...]]) -> Listing:
    problems = [problem(name, "is not a known parameter") for name in sorted(query.keys() - LISTING_PARAMETERS)]
    problems += [problem(name, "must be given once") for name, values in sorted(query.items()) if len(values) != 1]
    if problems:
        raise bad_request("The query string is invalid.", problems)
    single = {name: values[0] for name, values in query.items()}

    owners = [name for name in ("product_id", "reviewer_id") if name in single]
    if len(owners) != 1:
        raise bad_request(
            "Give exactly one of product_id or reviewer_id.",
            [problem("product_id", "exactly one of product_id or reviewer_id is required")],
        )
    owner_field = owners[0]
    found = id_problem(owner_field, single[owner_field])
    limit_text = single.get("limit", str(DEFAULT_LIMIT))
    # isdecimal() rejects signs, spaces and non-ASCII digits that int() would accept;
    # the length bound keeps int() away from its 4300-digit ValueError.
    is_small_number = limit_text.isascii() and limit_text.isdecimal() and len(limit_text) <= 3
    limit = int(limit_text) if is_small_number else 0
    problems = [found] if found else []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(problem("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    if problems:
        raise bad_request("The query string is invalid.", problems)
    return Listing(
        kind=owner_field.removesuffix("_id"),
        owner_id=single[owner_field],
        limit=limit,
        next_token=single.get("next_token"),
    )
