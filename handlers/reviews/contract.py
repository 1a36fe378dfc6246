"""What the infrastructure and the handler must agree on, defined once.

The stack (stacks/) builds the API, the table, the function's environment, the IAM policy and
the alarms from these names; the handler reads and writes with them; the OpenAPI document is
generated from them. Standard library only: the stack imports this module at synth time.
"""

from dataclasses import dataclass

# --- Routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    # An API Gateway resource template, exactly as it arrives in event["resource"].
    path: str
    # A write by a signed-in reviewer: API Gateway's Cognito authorizer admits it with the
    # reviewer's ID token. Reads are public.
    signed_in: bool
    operation_id: str
    summary: str

    @property
    def api_key_required(self) -> bool:
        """Every write also carries the storefront's API key: it identifies the application
        (its usage plan's quota and throttling), not the reviewer."""
        return self.signed_in


REVIEW_PATH = "/products/{product_id}/reviews/{review_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/reviews", False, "listReviews", "List reviews of a product or by a reviewer"),
    Route("POST", "/reviews", True, "createReview", "Create a review"),
    Route("GET", REVIEW_PATH, False, "getReview", "One review"),
    Route("PATCH", REVIEW_PATH, True, "editReview", "Edit your review"),
    Route("DELETE", REVIEW_PATH, True, "deleteReview", "Delete your review"),
    Route("GET", "/products/{product_id}/rating", False, "getRating", "Rating summary of a product"),
)
API_KEY_HEADER = "x-api-key"
STAGE_NAME = "v1"

# --- Identity: a Cognito user pool, and API Gateway's COGNITO_USER_POOLS authorizer ---------

# Carries the reviewer's ID token, the JWT itself. An authorizer whose method names no OAuth
# scopes accepts ID tokens, not access tokens (docs/api.md, "Signing in").
AUTHORIZATION_HEADER = "Authorization"
# The claims API Gateway hands the function (requestContext.authorizer.claims, every value a
# string): the reviewer's id is the token's subject, public and never reassigned ...
REVIEWER_CLAIM = "sub"
# ... and the name listings show is a required standard attribute of the pool, never the
# e-mail address (listings are public).
DISPLAY_NAME_ATTRIBUTE = "nickname"
DISPLAY_NAME_MAX_CHARS = 64


def resource_paths() -> tuple[str, ...]:
    """Each resource path once, in ROUTES order; every one also answers OPTIONS (CORS preflight)."""
    return tuple(dict.fromkeys(route.path for route in ROUTES))


def methods_for(path: str) -> tuple[str, ...]:
    """The methods ROUTES defines on a resource path (without OPTIONS); empty if unknown."""
    return tuple(route.method for route in ROUTES if route.path == path)


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

# --- Requests -------------------------------------------------------------------------------

# Ids exclude "#": the table reserves "#..." keys for its internal items.
ID_PATTERN = r"[A-Za-z0-9._:-]{1,64}"
# A ULID: 26 Crockford base32 characters, so review ids sort by creation time.
REVIEW_ID_PATTERN = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
IDEMPOTENCY_KEY_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TEXT_LIMITS = {"title": 200, "comment": 4000}  # characters after trimming whitespace
MIN_RATING, MAX_RATING = 1, 5
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_NEXT_TOKEN_CHARS = 400  # issued tokens are far shorter; longer ones are rejected unread
MAX_BODY_BYTES = 16 * 1024
RETRY_AFTER_SECONDS = 1
EDITABLE_FIELDS = ("rating", *TEXT_LIMITS)  # what PATCH may change

# --- Errors the API answers for identity and ownership --------------------------------------


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer, as the handler gives it and the OpenAPI document describes it."""

    status: int
    code: str
    message: str


NOT_SIGNED_IN = ErrorAnswer(401, "unauthorized", "This request needs a signed-in reviewer.")
NOT_THE_AUTHOR = ErrorAnswer(403, "not_the_author", "Only the review's author can change or delete it.")
REVIEW_NOT_FOUND = ErrorAnswer(404, "review_not_found", "No such review.")
