"""Request validation: untrusted input in, typed model values out, or InvalidInput listing every problem."""

import json
import re
from collections.abc import Mapping

from . import contract
from .errors import InvalidInput, NotSignedIn, Problem
from .ids import REVIEW_ID
from .model import Listing, ListingKind, NewReview, ReviewEdit, Reviewer, ReviewKey
from .tokens import decode_next_token

ID = re.compile(contract.ID_PATTERN)
IDEMPOTENCY_KEY = re.compile(contract.IDEMPOTENCY_KEY_PATTERN)
REVIEW_FIELDS = frozenset({"product_id", "rating", *contract.TEXT_LIMITS})
# Fields a client may not set: who wrote a review is the signed-in reviewer, and a review's
# key never changes.
SET_BY_SIGN_IN = "is not accepted: the reviewer is the signed-in user"
FIXED_FIELDS = {
    "reviewer_id": SET_BY_SIGN_IN,
    "reviewer_name": SET_BY_SIGN_IN,
    "product_id": "cannot be changed",
    "review_id": "cannot be changed",
}
LISTING_PARAMETERS = frozenset(contract.LISTING_QUERY)
LISTING_OWNERS: dict[str, ListingKind] = {"product_id": "product", "reviewer_id": "reviewer"}


def id_problem(field: str, value: object) -> Problem | None:
    if isinstance(value, str) and ID.fullmatch(value):
        return None
    return Problem(field, f"must be {contract.ID_RULE}")


def text_problem(field: str, value: object) -> Problem | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return Problem(field, "must be a string or null")
    limit = contract.TEXT_LIMITS[field]
    stripped = value.strip()
    if not 1 <= len(stripped) <= limit:
        return Problem(field, f"must have 1-{limit} characters after trimming whitespace")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(field, "must be valid Unicode")
    return None


def parse_rating(value: object) -> int | None:
    """1-5 as a JSON integer; 5.0 counts as 5, but booleans, strings and 4.5 do not."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int and contract.MIN_RATING <= value <= contract.MAX_RATING:
        return value
    return None


def parse_json_object(body: bytes) -> dict[str, object]:
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(contract.INVALID_JSON.message, malformed=True) from None
    if not isinstance(document, dict):
        raise InvalidInput("The body must be a JSON object.", malformed=True)
    return document


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def unknown_field_problems(document: Mapping[str, object], known: frozenset[str]) -> list[Problem]:
    return [Problem(name, FIXED_FIELDS.get(name, "is not a known field")) for name in sorted(document.keys() - known)]


def rating_problem() -> Problem:
    return Problem("rating", f"must be an integer from {contract.MIN_RATING} to {contract.MAX_RATING}")


def parse_review(body: bytes) -> NewReview:
    document = parse_json_object(body)
    problems = unknown_field_problems(document, REVIEW_FIELDS)
    problems += [
        found
        for found in (
            id_problem("product_id", document.get("product_id")),
            text_problem("title", document.get("title")),
            text_problem("comment", document.get("comment")),
        )
        if found
    ]
    rating = parse_rating(document.get("rating"))
    if rating is None:
        problems.append(rating_problem())
    if problems or rating is None:
        raise InvalidInput(contract.BAD_REQUEST.message, problems)
    return NewReview(
        product_id=str(document["product_id"]),
        rating=rating,
        title=_stripped(document.get("title")),
        comment=_stripped(document.get("comment")),
    )


def parse_edit(body: bytes) -> ReviewEdit:
    """A PATCH body: some of rating, title, comment (absent: unchanged; null title or comment:
    cleared); nothing to change is a 400."""
    document = parse_json_object(body)
    problems = unknown_field_problems(document, frozenset(contract.EDITABLE_FIELDS))
    changed = frozenset(document.keys() & set(contract.EDITABLE_FIELDS))
    rating = parse_rating(document.get("rating")) if "rating" in changed else None
    if "rating" in changed and rating is None:
        problems.append(rating_problem())
    problems += [
        found
        for field in sorted(changed & contract.TEXT_LIMITS.keys())
        if (found := text_problem(field, document[field]))
    ]
    if not changed and not problems:
        fields = ", ".join(contract.EDITABLE_FIELDS)
        problems.append(Problem("body", f"must change at least one of {fields}"))
    if problems:
        raise InvalidInput("The edit is invalid.", problems)
    return ReviewEdit(
        changed=changed,
        rating=rating,
        title=_stripped(document.get("title")),
        comment=_stripped(document.get("comment")),
    )


def _stripped(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None


def parse_product_id(path_parameters: dict[str, str]) -> str:
    value = path_parameters.get("product_id")
    found = id_problem("product_id", value)
    if found or value is None:
        raise InvalidInput("The product id is invalid.", [found] if found else [])
    return value


def parse_review_key(path_parameters: dict[str, str]) -> ReviewKey:
    product_id = parse_product_id(path_parameters)
    review_id = path_parameters.get("review_id")
    if review_id is None or not REVIEW_ID.fullmatch(review_id):
        rule = f"must be a review id: {contract.REVIEW_ID_RULE}"
        raise InvalidInput("The review id is invalid.", [Problem("review_id", rule)])
    return ReviewKey(product_id, review_id)


def parse_reviewer(claims: Mapping[str, object] | None) -> Reviewer:
    """The signed-in reviewer from the claims API Gateway's Cognito authorizer passes on
    (requestContext.authorizer.claims, every value a string): the subject and display name."""
    if not claims:
        raise NotSignedIn("the request carries no authorizer claims")
    subject = claims.get(contract.REVIEWER_CLAIM)
    if not isinstance(subject, str) or not ID.fullmatch(subject):
        raise NotSignedIn(f"the {contract.REVIEWER_CLAIM} claim is missing or not a reviewer id")
    name = claims.get(contract.DISPLAY_NAME_ATTRIBUTE)
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= contract.DISPLAY_NAME_MAX_CHARS or not name.isprintable():
        raise NotSignedIn(f"the {contract.DISPLAY_NAME_ATTRIBUTE} claim is missing or not a display name")
    return Reviewer(id=subject, name=name)


def parse_idempotency_key(values: tuple[str, ...]) -> str | None:
    if not values:
        return None
    if len(values) > 1 or not IDEMPOTENCY_KEY.fullmatch(values[0]):
        rule = f"must be one value of {contract.IDEMPOTENCY_KEY_RULE}"
        raise InvalidInput(
            f"The {contract.IDEMPOTENCY_KEY_HEADER} header is invalid.",
            [Problem(contract.IDEMPOTENCY_KEY_HEADER, rule)],
        )
    return values[0]


def parse_listing(query: dict[str, tuple[str, ...]]) -> Listing:
    problems = [Problem(name, "is not a known parameter") for name in sorted(query.keys() - LISTING_PARAMETERS)]
    problems += [Problem(name, "must be given once") for name, values in sorted(query.items()) if len(values) != 1]
    if problems:
        raise InvalidInput("The query string is invalid.", problems)
    single = {name: values[0] for name, values in query.items()}

    owners = [name for name in LISTING_OWNERS if name in single]
    if len(owners) != 1:
        raise InvalidInput(
            "Give exactly one of product_id or reviewer_id.",
            [Problem("product_id", "exactly one of product_id or reviewer_id is required")],
        )
    [owner_field] = owners
    found = id_problem(owner_field, single[owner_field])
    limit_text = single.get("limit", str(contract.DEFAULT_LIMIT))
    # isdecimal() rejects signs, spaces and non-ASCII digits that int() would accept;
    # the length bound keeps int() away from its 4300-digit ValueError.
    is_small_number = limit_text.isascii() and limit_text.isdecimal() and len(limit_text) <= 3
    limit = int(limit_text) if is_small_number else 0
    problems = [found] if found else []
    if not 1 <= limit <= contract.MAX_LIMIT:
        problems.append(Problem("limit", f"must be an integer from 1 to {contract.MAX_LIMIT}"))
    if problems:
        raise InvalidInput("The query string is invalid.", problems)
    kind, owner_id = LISTING_OWNERS[owner_field], single[owner_field]
    token = single.get("next_token")
    after = decode_next_token(kind, owner_id, token) if token is not None else None
    return Listing(kind=kind, owner_id=owner_id, limit=limit, after=after)
