"""What the infrastructure and the handler must agree on, defined once.

The stack (stacks/) builds the API, the table, the function's environment, the IAM policy and
the alarms from these names; the handler reads and writes with them; the OpenAPI document is
generated from them. Standard library only: the stack imports this module at synth time.
"""

import re
from dataclasses import dataclass

# --- Headers --------------------------------------------------------------------------------

# The storefront application's key (its usage plan); API Gateway reads it.
API_KEY_HEADER = "x-api-key"
# Carries the reviewer's ID token, the JWT itself. An authorizer whose method names no OAuth
# scopes accepts ID tokens, not access tokens (docs/api.md, "Signing in").
AUTHORIZATION_HEADER = "Authorization"
CONTENT_TYPE_HEADER = "Content-Type"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_HEADER = "Retry-After"
ALLOW_HEADER = "Allow"
# CORS (every answer of the function carries VARY_HEADER: ORIGIN_HEADER).
ORIGIN_HEADER = "Origin"
VARY_HEADER = "Vary"
ALLOW_ORIGIN_HEADER = "Access-Control-Allow-Origin"
ALLOW_METHODS_HEADER = "Access-Control-Allow-Methods"
ALLOW_HEADERS_HEADER = "Access-Control-Allow-Headers"
MAX_AGE_HEADER = "Access-Control-Max-Age"
# What a browser may send: the CORS preflight's Access-Control-Allow-Headers.
REQUEST_HEADERS = (AUTHORIZATION_HEADER, CONTENT_TYPE_HEADER, API_KEY_HEADER, IDEMPOTENCY_KEY_HEADER)

# --- Requests -------------------------------------------------------------------------------


def characters_rule(pattern: str) -> str:
    """A pattern of one character class, in words: [A-Za-z0-9._:-]{1,64} -> "1-64 characters
    from A-Z a-z 0-9 . _ : -" (what a 400 says, and the OpenAPI document)."""
    found = re.fullmatch(r"\[(.+)\]\{(\d+),(\d+)\}", pattern)
    if found is None:
        raise ValueError(f"not a single character class with a length range: {pattern}")
    characters, shortest, longest = found.groups()
    return f"{shortest}-{longest} characters from {' '.join(re.findall(r'.-.(?!$)|.', characters))}"


# Product and reviewer ids exclude "#": the table reserves "#..." keys for its internal items.
ID_PATTERN = r"[A-Za-z0-9._:-]{1,64}"
ID_RULE = characters_rule(ID_PATTERN)
# A ULID: 26 Crockford base32 characters, so review ids sort by creation time.
REVIEW_ID_PATTERN = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
REVIEW_ID_RULE = "26 characters from 0-9 A-Z without I, L, O, U"
IDEMPOTENCY_KEY_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
IDEMPOTENCY_KEY_RULE = characters_rule(IDEMPOTENCY_KEY_PATTERN)
TEXT_LIMITS = {"title": 200, "comment": 4000}  # characters after trimming whitespace
MIN_RATING, MAX_RATING = 1, 5
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_NEXT_TOKEN_CHARS = 400  # issued tokens are far shorter; longer ones are rejected unread
MAX_BODY_BYTES = 16 * 1024
RETRY_AFTER_SECONDS = 1
EDITABLE_FIELDS = ("rating", *TEXT_LIMITS)  # what PATCH may change
# A listing's query parameters: exactly one owner (product or reviewer), then the page.
LISTING_QUERY = ("product_id", "reviewer_id", "limit", "next_token")

# --- Errors: every error the function answers -----------------------------------------------


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer, as the handler gives it and the OpenAPI document describes it:
    {"error": code, "message": message, "details": [...]} with this status."""

    status: int
    code: str
    # For people. A 400's message says what was invalid (validation.py has the others); the
    # table's are a body that is not JSON and an invalid review.
    message: str
    # The message of its one `details` entry, when it has one.
    detail: str = ""


INVALID_JSON = ErrorAnswer(400, "invalid_json", "The body is not valid UTF-8 JSON.")
BAD_REQUEST = ErrorAnswer(400, "bad_request", "The review is invalid.")
NOT_SIGNED_IN = ErrorAnswer(401, "unauthorized", "This request needs a signed-in reviewer.")
NOT_THE_AUTHOR = ErrorAnswer(403, "not_the_author", "Only the review's author can change or delete it.")
REVIEW_NOT_FOUND = ErrorAnswer(404, "review_not_found", "No such review.")
# Answers to requests API Gateway never passes on (it answers 403 itself for these).
NOT_FOUND = ErrorAnswer(404, "not_found", "No such resource.")
METHOD_NOT_ALLOWED = ErrorAnswer(405, "method_not_allowed", "Use one of: {allow}.")
REVIEW_EXISTS = ErrorAnswer(
    409, "review_exists", "This reviewer has already reviewed this product.", detail="already reviewed this product"
)
PAYLOAD_TOO_LARGE = ErrorAnswer(413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")
UNSUPPORTED_MEDIA_TYPE = ErrorAnswer(415, "unsupported_media_type", "Send the review as application/json.")
IDEMPOTENCY_KEY_REUSED = ErrorAnswer(
    422, "idempotency_key_reused", f"This {IDEMPOTENCY_KEY_HEADER} was used with a different request."
)
INTERNAL_ERROR = ErrorAnswer(500, "internal_error", "Something went wrong on our side.")
SERVICE_UNAVAILABLE = ErrorAnswer(503, "service_unavailable", "Too many requests right now; retry shortly.")
ERRORS: tuple[ErrorAnswer, ...] = (
    INVALID_JSON,
    BAD_REQUEST,
    NOT_SIGNED_IN,
    NOT_THE_AUTHOR,
    REVIEW_NOT_FOUND,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    REVIEW_EXISTS,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    IDEMPOTENCY_KEY_REUSED,
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
)

# --- Routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One operation of the API. API Gateway's definition, the CORS preflight, the public
    OpenAPI document and docs/api.md's route table (`make docs`) follow from this entry. Its
    code is the function of handlers/reviews/routing.py named after the operation id
    (`function_name`)."""

    method: str
    # An API Gateway resource template, exactly as it arrives in event["resource"].
    path: str
    operation_id: str
    summary: str
    # The answer when it succeeds: status, and the name of its answer in the OpenAPI document
    # (stacks/openapi_components.py, RESPONSES).
    answer: tuple[int, str]
    # A write by a signed-in reviewer: API Gateway's Cognito authorizer admits it with the
    # reviewer's ID token (a 401 without one, a 403 without the API key). Reads are public.
    signed_in: bool = False
    # The JSON body it reads, by schema name (stacks/openapi_components.py, SCHEMAS); a route
    # with a body can also answer 413 and 415.
    body: str | None = None
    query: tuple[str, ...] = ()  # query parameters it reads
    headers: tuple[str, ...] = ()  # request headers it reads, besides the signed-in ones
    # The errors particular to it; every route can also answer 400 and 503.
    errors: tuple[ErrorAnswer, ...] = ()
    description: str = ""

    @property
    def api_key_required(self) -> bool:
        """Every write also carries the storefront's API key: it identifies the application
        (its usage plan's quota and throttling), not the reviewer."""
        return self.signed_in

    @property
    def author_only(self) -> bool:
        """Only the review's author may call it (403 for anyone else)."""
        return NOT_THE_AUTHOR in self.errors

    @property
    def function_name(self) -> str:
        """The function of routing.py serving it: the operation id in snake case."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.operation_id)


REVIEW_PATH = "/products/{product_id}/reviews/{review_id}"
ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/reviews",
        "listReviews",
        "List reviews of a product or by a reviewer",
        answer=(200, "ReviewPage"),
        query=LISTING_QUERY,
        description="Newest first, by product or by reviewer, a page at a time.",
    ),
    Route(
        "POST",
        "/reviews",
        "createReview",
        "Create a review",
        answer=(201, "ReviewCreated"),
        signed_in=True,
        body="NewReview",
        headers=(IDEMPOTENCY_KEY_HEADER,),
        errors=(REVIEW_EXISTS, IDEMPOTENCY_KEY_REUSED),
        description="One review per reviewer and product. The review, the product's rating summary and "
        "the idempotency record are written together or not at all.",
    ),
    Route("GET", REVIEW_PATH, "getReview", "One review", answer=(200, "Review"), errors=(REVIEW_NOT_FOUND,)),
    Route(
        "PATCH",
        REVIEW_PATH,
        "editReview",
        "Edit your review",
        answer=(200, "ReviewEdited"),
        signed_in=True,
        body="ReviewEdit",
        errors=(NOT_THE_AUTHOR, REVIEW_NOT_FOUND),
        description="Only the review's author. The review and the product's rating summary change together.",
    ),
    Route(
        "DELETE",
        REVIEW_PATH,
        "deleteReview",
        "Delete your review",
        answer=(204, "ReviewDeleted"),
        signed_in=True,
        errors=(NOT_THE_AUTHOR, REVIEW_NOT_FOUND),
        description="Only the review's author. The review leaves the product's rating summary in the same "
        "transaction, and its author may review the product again.",
    ),
    Route(
        "GET",
        "/products/{product_id}/rating",
        "getRating",
        "Rating summary of a product",
        answer=(200, "RatingSummary"),
    ),
)
STAGE_NAME = "v1"


def resource_paths() -> tuple[str, ...]:
    """Each resource path once, in ROUTES order; every one also answers OPTIONS (CORS preflight)."""
    return tuple(dict.fromkeys(route.path for route in ROUTES))


def methods_for(path: str) -> tuple[str, ...]:
    """The methods ROUTES defines on a resource path (without OPTIONS); empty if unknown."""
    return tuple(route.method for route in ROUTES if route.path == path)


def route_for(method: str, path: str) -> Route | None:
    return next((route for route in ROUTES if (route.method, route.path) == (method, path)), None)


# --- Identity: a Cognito user pool, and API Gateway's COGNITO_USER_POOLS authorizer ---------

# The claims API Gateway hands the function (requestContext.authorizer.claims, every value a
# string): the reviewer's id is the token's subject, public and never reassigned ...
REVIEWER_CLAIM = "sub"
# ... and the name listings show is a required standard attribute of the pool, never the
# e-mail address (listings are public).
DISPLAY_NAME_ATTRIBUTE = "nickname"
DISPLAY_NAME_MAX_CHARS = 64


# --- Table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str
    projection: str  # ALL, KEYS_ONLY or INCLUDE


PARTITION_KEY = "product_id"
SORT_KEY = "review_id"
# review_id is time-ordered (a ULID), so it also orders a reviewer's reviews.
REVIEWER_INDEX = Index("ReviewerIdIndex", partition_key="reviewer_id", sort_key="review_id", projection="ALL")
INDEXES: tuple[Index, ...] = (REVIEWER_INDEX,)
# Idempotency records expire through DynamoDB TTL on this attribute.
TTL_ATTRIBUTE = "expires_at"
# Every key attribute, of the table and its indexes, is a string.
KEY_ATTRIBUTES: tuple[str, ...] = tuple(
    dict.fromkeys([PARTITION_KEY, SORT_KEY, *(k for i in INDEXES for k in (i.partition_key, i.sort_key))])
)

# What the handler calls, and so exactly what its IAM policy grants. TransactWriteItems is
# authorized per item, as PutItem / UpdateItem / DeleteItem.
TABLE_ACTIONS = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
INDEX_ACTIONS = ("dynamodb:Query",)

# --- The function's environment -------------------------------------------------------------

TABLE_NAME_VARIABLE = "TABLE_NAME"
REVIEWER_INDEX_VARIABLE = "REVIEWER_INDEX_NAME"
ALLOWED_ORIGINS_VARIABLE = "ALLOWED_ORIGINS"  # comma-separated; "*" allows any origin

# --- Metrics (CloudWatch Embedded Metric Format) --------------------------------------------

METRIC_NAMESPACE = "ProductReviews"
FAULT_METRIC = "Fault"  # a request the handler could not serve: a bug or an unreachable table
METRIC_DIMENSION = "FunctionName"
