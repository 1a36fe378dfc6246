"""The public OpenAPI document's parts: schemas, parameters, headers, answers and examples.

Limits, patterns and header names come from the contract. The shapes are the handler's
(model.Review.to_dict, the listing and rating bodies in routing.py, responses.error_body);
every answer the handler tests produce is checked against this document
(tests/openapi_document.py), so a change on one side that the other does not follow fails.
"""

from handlers.reviews import contract

JSON = "application/json"


def ref(kind: str, name: str) -> dict[str, object]:
    return {"$ref": f"#/components/{kind}/{name}"}


def anchored(pattern: str) -> str:
    """A contract pattern (the handler matches it whole) as a JSON Schema pattern (a search)."""
    return f"^(?:{pattern})$"


def text(field: str) -> dict[str, object]:
    limit = contract.TEXT_LIMITS[field]
    return {
        "type": ["string", "null"],
        "minLength": 1,
        "maxLength": limit,
        "description": f"Optional; null or absent for none. 1-{limit} characters once surrounding "
        "whitespace is trimmed (the review stores the trimmed text); blank is invalid.",
    }


def error_body(*codes: str) -> dict[str, object]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["error", "message", "details"],
        "properties": {
            "error": {"enum": list(codes), "description": "What went wrong, for programs"},
            "message": {"type": "string", "description": "What went wrong, for people"},
            "details": {
                "type": "array",
                "items": ref("schemas", "Problem"),
                "description": "One entry per invalid field or parameter (400); empty otherwise",
            },
        },
    }


# --- Schemas -------------------------------------------------------------------------------

STARS = [str(star) for star in range(contract.MIN_RATING, contract.MAX_RATING + 1)]
RATING_FIELD = {**ref("schemas", "Rating"), "description": 'A JSON integer; 5.0 counts as 5, "5" and 4.5 do not'}
# A request's text must hold something besides whitespace.
REQUEST_TEXT = {field: {**text(field), "pattern": r"\S"} for field in contract.TEXT_LIMITS}
TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
}
SCHEMAS: dict[str, dict[str, object]] = {
    "Id": {
        "type": "string",
        "pattern": anchored(contract.ID_PATTERN),
        "examples": ["sku-123"],
        "description": "A product or reviewer id: 1-64 characters from A-Z a-z 0-9 . _ : -",
    },
    "ReviewId": {
        "type": "string",
        "pattern": anchored(contract.REVIEW_ID_PATTERN),
        "examples": ["01JDQ3Z8M4X7V2K9T6B1N5R0CE"],
        "description": "A ULID (26 Crockford base32 characters): review ids sort by creation time",
    },
    "Rating": {"type": "integer", "minimum": contract.MIN_RATING, "maximum": contract.MAX_RATING},
    "NewReview": {
        "type": "object",
        "additionalProperties": False,
        "required": ["product_id", "rating"],
        "description": "The reviewer is the signed-in user: a `reviewer_id` in the body is a 400.",
        "properties": {
            "product_id": ref("schemas", "Id"),
            "rating": RATING_FIELD,
            "title": REQUEST_TEXT["title"],
            "comment": REQUEST_TEXT["comment"],
        },
    },
    "ReviewEdit": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": "What to change: an absent field keeps its value, a null title or comment clears it. "
        "Nothing to change is a 400.",
        "properties": {"rating": RATING_FIELD, "title": REQUEST_TEXT["title"], "comment": REQUEST_TEXT["comment"]},
    },
    "Review": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "product_id",
            "review_id",
            "reviewer_id",
            "reviewer_name",
            "rating",
            "title",
            "comment",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "product_id": ref("schemas", "Id"),
            "review_id": ref("schemas", "ReviewId"),
            "reviewer_id": {
                **ref("schemas", "Id"),
                "description": "The author: the `sub` of their ID token (list their reviews with it)",
            },
            "reviewer_name": {
                "type": ["string", "null"],
                "minLength": 1,
                "maxLength": contract.DISPLAY_NAME_MAX_CHARS,
                "description": "The author's display name when they wrote or last edited the review; "
                "null for reviews stored before reviewers signed in",
            },
            "rating": ref("schemas", "Rating"),
            "title": text("title"),
            "comment": text("comment"),
            "created_at": {**TIMESTAMP, "description": "When the review was stored: ISO-8601 UTC with milliseconds"},
            "updated_at": {
                **TIMESTAMP,
                "type": ["string", "null"],
                "description": "When its author last edited it (each edit later than the one before); null if never",
            },
        },
    },
    "ReviewPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reviews", "next_token"],
        "properties": {
            "reviews": {
                "type": "array",
                "items": ref("schemas", "Review"),
                "maxItems": contract.MAX_LIMIT,
                "description": "Newest first; `limit` reviews except on the last page (which can be empty)",
            },
            "next_token": {
                "type": ["string", "null"],
                "pattern": "^[A-Za-z0-9_-]+$",
                "maxLength": contract.MAX_NEXT_TOKEN_CHARS,
                "description": "Pass it as `next_token` with the same listing for the next page; null on the last page",
            },
        },
    },
    "RatingSummary": {
        "type": "object",
        "additionalProperties": False,
        "required": ["product_id", "review_count", "average_rating", "ratings"],
        "properties": {
            "product_id": ref("schemas", "Id"),
            "review_count": {"type": "integer", "minimum": 0},
            "average_rating": {
                "type": ["number", "null"],
                "minimum": contract.MIN_RATING,
                "maximum": contract.MAX_RATING,
                "description": "Rounded to 2 decimals; null while the product has no reviews",
            },
            "ratings": {
                "type": "object",
                "additionalProperties": False,
                "required": STARS,
                "properties": {star: {"type": "integer", "minimum": 0} for star in STARS},
                "description": "How many reviews gave each star rating",
            },
        },
    },
    "Problem": {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "The field, query parameter or header at fault"},
            "message": {"type": "string"},
            "review_id": {**ref("schemas", "ReviewId"), "description": "409: the reviewer's existing review"},
        },
    },
    "GatewayMessage": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
        "description": "An answer of API Gateway itself, not of the function",
    },
}


# --- Parameters ----------------------------------------------------------------------------

PATH_PARAMETERS = {"review_id": ref("schemas", "ReviewId")}  # the others are Ids

ONE_OWNER = "Exactly one of `product_id` and `reviewer_id` is required."
PARAMETERS: dict[str, list[dict[str, object]]] = {  # by operation id, besides path parameters
    "listReviews": [
        {
            "name": "product_id",
            "in": "query",
            "schema": ref("schemas", "Id"),
            "description": f"List this product's reviews. {ONE_OWNER}",
        },
        {
            "name": "reviewer_id",
            "in": "query",
            "schema": ref("schemas", "Id"),
            "description": f"List this reviewer's reviews, across products. {ONE_OWNER}",
        },
        {
            "name": "limit",
            "in": "query",
            "description": "Reviews per page",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": contract.MAX_LIMIT,
                "default": contract.DEFAULT_LIMIT,
            },
        },
        {
            "name": "next_token",
            "in": "query",
            "description": "The previous page's `next_token` (same listing)",
            "schema": {"type": "string", "minLength": 1, "maxLength": contract.MAX_NEXT_TOKEN_CHARS},
        },
    ],
    "createReview": [
        {
            "name": contract.IDEMPOTENCY_KEY_HEADER,
            "in": "header",
            "schema": {"type": "string", "pattern": anchored(contract.IDEMPOTENCY_KEY_PATTERN)},
            "example": "7f9c2b1e-5d4a-4c1b-9e8f-2a3b4c5d6e7f",
            "description": "Makes retries safe for 24 hours: the same key with the same review answers the "
            "first 201 again; with a different review, 422. Use a random value (a UUID).",
        },
    ],
    "getReview": [],
    "editReview": [],
    "deleteReview": [],
    "getRating": [],
}


# --- Headers -------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, object]] = {
    "Vary": {
        "required": True,
        "schema": {"type": "string", "pattern": "Origin"},
        "description": "`Origin`: the answer depends on the request's Origin (CORS)",
    },
    "Access-Control-Allow-Origin": {
        "schema": {"type": "string"},
        "description": "The request's Origin when it is allowed, or `*` when any is",
    },
    contract.REPLAYED_HEADER: {
        "schema": {"const": "true"},
        "description": "`true` when this is the stored answer to an Idempotency-Key retry",
    },
    "Retry-After": {
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "Seconds to wait before retrying",
    },
    "Allow": {"required": True, "schema": {"type": "string"}, "description": "The methods the resource has"},
    "Access-Control-Allow-Methods": {"required": True, "schema": {"type": "string"}},
    "Access-Control-Allow-Headers": {"required": True, "schema": {"type": "string"}},
    "Access-Control-Max-Age": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}
CORS_HEADERS = ("Vary", "Access-Control-Allow-Origin")  # on every answer of the function


def headers(*names: str) -> dict[str, object]:
    return {"headers": {name: ref("headers", name) for name in (*CORS_HEADERS, *names)}}


# --- Answers -------------------------------------------------------------------------------


def answer(description: str, schema: dict[str, object], example: object, *header_names: str) -> dict[str, object]:
    """An answer of the function: JSON, with the CORS headers."""
    return {
        "description": description,
        **headers(*header_names),
        "content": {JSON: {"schema": schema, "example": example}},
    }


def gateway_answer(description: str, message: str) -> dict[str, object]:
    """An answer of API Gateway itself: {"message"}, before or instead of the function."""
    return {
        "description": description,
        "content": {JSON: {"schema": ref("schemas", "GatewayMessage"), "example": {"message": message}}},
    }


def error_example(code: str, message: str, details: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"error": code, "message": message, "details": details or []}


def contract_error(answer: contract.ErrorAnswer) -> dict[str, object]:
    """The function's answer for one of the contract's errors."""
    return {"schema": error_body(answer.code), "example": error_example(answer.code, answer.message)}


def gateway_or_function(description: str, gateway_message: str, answer: contract.ErrorAnswer) -> dict[str, object]:
    """A status API Gateway answers itself ({"message"}) and the function answers too."""
    function = contract_error(answer)
    return {
        "description": description,
        **headers(),
        "content": {
            JSON: {
                "schema": {"anyOf": [ref("schemas", "GatewayMessage"), function["schema"]]},
                "examples": {
                    "API Gateway": {"value": {"message": gateway_message}},
                    "the function": {"value": function["example"]},
                },
            }
        },
    }


REVIEW_EXAMPLE = {
    "product_id": "sku-123",
    "review_id": "01JDQ3Z8M4X7V2K9T6B1N5R0CE",
    "reviewer_id": "6d0f2d3c-8b1e-4a5f-9c7d-2e3f4a5b6c7d",
    "reviewer_name": "Kettle Fan",
    "rating": 5,
    "title": "Great kettle",
    "comment": None,
    "created_at": "2025-11-26T23:30:10.123Z",
    "updated_at": None,
}
RESPONSES: dict[str, dict[str, object]] = {
    "ReviewCreated": answer(
        "The stored review. A retry with the same Idempotency-Key and review answers this again, with "
        f"`{contract.REPLAYED_HEADER}: true`.",
        ref("schemas", "Review"),
        REVIEW_EXAMPLE,
        contract.REPLAYED_HEADER,
    ),
    "ReviewPage": answer(
        "One page of reviews, newest first",
        ref("schemas", "ReviewPage"),
        {
            "reviews": [REVIEW_EXAMPLE],
            "next_token": "WyJwcm9kdWN0Iiwic2t1LTEyMyIsInNrdS0xMjMiLCIwMUpEUTNZMUEyQjNDNEQ1RTZGN0c4SDlKSyJdC2oOsts8SSs",
        },
    ),
    "RatingSummary": answer(
        "The product's rating summary (zero counts without reviews)",
        ref("schemas", "RatingSummary"),
        {
            "product_id": "sku-123",
            "review_count": 4,
            "average_rating": 3.75,
            "ratings": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 2},
        },
    ),
    "Preflight": {
        "description": "The CORS preflight: the methods of this path and the headers a request may send",
        **headers("Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"),
    },
    "BadRequest": answer(
        "`invalid_json`: the body is not UTF-8 JSON or not a JSON object. `bad_request`: invalid or unknown "
        "fields (a `reviewer_id` among them: the reviewer is the signed-in user), nothing to change, query "
        "parameters (each at most once), path parameters, next_token or Idempotency-Key; `details` names "
        "each problem.",
        error_body("invalid_json", "bad_request"),
        error_example(
            "bad_request", "The review is invalid.", [{"field": "rating", "message": "must be an integer from 1 to 5"}]
        ),
    ),
    "Review": answer("The review", ref("schemas", "Review"), REVIEW_EXAMPLE),
    "ReviewEdited": answer(
        "The review as stored after the edit: `created_at` and the id kept, `updated_at` new",
        ref("schemas", "Review"),
        {**REVIEW_EXAMPLE, "rating": 4, "updated_at": "2025-11-27T08:02:45.310Z"},
    ),
    "ReviewDeleted": {
        "description": "Deleted: the product's summary no longer counts it, and its author may review the "
        "product again",
        **headers(),
    },
    "Unauthorized": gateway_or_function(
        "No signed-in reviewer. API Gateway's Cognito authorizer: the `Authorization` header is missing, or "
        "holds no valid, unexpired ID token of the stack's user pool. The function (`unauthorized`): the "
        "request reached it without the authorizer's claims, a stage misconfiguration.",
        "Unauthorized",
        contract.NOT_SIGNED_IN,
    ),
    "NotTheAuthor": gateway_or_function(
        "API Gateway: the `x-api-key` header is missing or not a key of this stage. The function "
        "(`not_the_author`): the signed-in reviewer did not write this review.",
        "Forbidden",
        contract.NOT_THE_AUTHOR,
    ),
    "ReviewNotFound": {
        "description": "No review has this product id and review id (or it was deleted)",
        **headers(),
        "content": {JSON: contract_error(contract.REVIEW_NOT_FOUND)},
    },
    "Forbidden": gateway_answer(
        "API Gateway: the `x-api-key` header is missing or not a key of this stage", "Forbidden"
    ),
    "NotFound": answer(
        "The function's answer for a resource it does not serve. Through API Gateway a client gets "
        "403 Missing Authentication Token instead: the function only sees the documented paths.",
        error_body("not_found"),
        error_example("not_found", "No such resource."),
    ),
    "MethodNotAllowed": answer(
        "The function's answer for a method the resource lacks, with `Allow`. Through API Gateway a "
        "client gets 403 Missing Authentication Token instead.",
        error_body("method_not_allowed"),
        error_example("method_not_allowed", "Use one of: GET, POST, OPTIONS."),
        "Allow",
    ),
    "ReviewExists": answer(
        "The reviewer already reviewed this product (one review per reviewer and product); "
        "`details[0].review_id` is that review.",
        error_body("review_exists"),
        error_example(
            "review_exists",
            "This reviewer has already reviewed this product.",
            [
                {
                    "field": "reviewer_id",
                    "message": "already reviewed this product",
                    "review_id": REVIEW_EXAMPLE["review_id"],
                }
            ],
        ),
    ),
    "PayloadTooLarge": answer(
        f"The body is over {contract.MAX_BODY_BYTES} bytes",
        error_body("payload_too_large"),
        error_example("payload_too_large", f"The body exceeds {contract.MAX_BODY_BYTES} bytes."),
    ),
    "UnsupportedMediaType": answer(
        "A Content-Type other than application/json (parameters such as charset are fine; none means JSON)",
        error_body("unsupported_media_type"),
        error_example("unsupported_media_type", "Send the review as application/json."),
    ),
    "IdempotencyKeyReused": answer(
        f"The signed-in reviewer first used this {contract.IDEMPOTENCY_KEY_HEADER} with a different review",
        error_body("idempotency_key_reused"),
        error_example(
            "idempotency_key_reused", f"This {contract.IDEMPOTENCY_KEY_HEADER} was used with a different request."
        ),
    ),
    "TooManyRequests": gateway_answer(
        "API Gateway: over the stage's rate or burst (or the API key's daily quota)", "Too Many Requests"
    ),
    "InternalError": answer(
        "A fault on our side. Nothing about it is returned; it is logged with the request id.",
        error_body("internal_error"),
        error_example("internal_error", "Something went wrong on our side."),
    ),
    "BadGateway": gateway_answer("API Gateway: the function failed", "Internal server error"),
    "ServiceUnavailable": answer(
        "The table is throttling or unreachable, or a concurrent write collided: retry after `Retry-After`",
        error_body("service_unavailable"),
        error_example("service_unavailable", "Too many requests right now; retry shortly."),
        "Retry-After",
    ),
    "GatewayTimeout": gateway_answer("API Gateway: the function did not answer in time", "Endpoint request timed out"),
}


def responses(**by_status: str) -> dict[str, object]:
    """{"201": {"$ref": ...}, ...} from status_201="ReviewCreated", ...; every operation can also be
    throttled, and the function can fail or time out."""
    chosen = {name.removeprefix("status_"): response for name, response in by_status.items()}
    chosen.update({"429": "TooManyRequests", "500": "InternalError", "502": "BadGateway", "504": "GatewayTimeout"})
    return {"responses": {status: ref("responses", chosen[status]) for status in sorted(chosen)}}


READ_ERRORS = {"status_400": "BadRequest", "status_503": "ServiceUnavailable"}


def request_body(schema: str, examples: dict[str, dict[str, object]]) -> dict[str, object]:
    return {
        "required": True,
        "description": f"At most {contract.MAX_BODY_BYTES} bytes",
        "content": {
            JSON: {
                "schema": ref("schemas", schema),
                "examples": {name: {"value": value} for name, value in examples.items()},
            }
        },
    }


OPERATIONS: dict[str, dict[str, object]] = {  # by operation id
    "listReviews": {
        "description": "Newest first, by product or by reviewer, a page at a time.",
        **responses(status_200="ReviewPage", **READ_ERRORS),
    },
    "createReview": {
        "description": "One review per reviewer and product. The review, the product's rating summary and "
        "the idempotency record are written together or not at all.",
        "requestBody": request_body(
            "NewReview",
            {
                "full": {
                    "product_id": "sku-123",
                    "rating": 5,
                    "title": "Great kettle",
                    "comment": "Boils a litre in two minutes.",
                },
                "rating only": {"product_id": "sku-123", "rating": 3},
            },
        ),
        **responses(
            status_201="ReviewCreated",
            status_401="Unauthorized",
            status_403="Forbidden",
            status_409="ReviewExists",
            status_413="PayloadTooLarge",
            status_415="UnsupportedMediaType",
            status_422="IdempotencyKeyReused",
            **READ_ERRORS,
        ),
    },
    "getReview": responses(status_200="Review", status_404="ReviewNotFound", **READ_ERRORS),
    "editReview": {
        "description": "Only the review's author. The review and the product's rating summary change together.",
        "requestBody": request_body(
            "ReviewEdit",
            {"new rating, comment cleared": {"rating": 4, "comment": None}, "new title": {"title": "Still great"}},
        ),
        **responses(
            status_200="ReviewEdited",
            status_401="Unauthorized",
            status_403="NotTheAuthor",
            status_404="ReviewNotFound",
            status_413="PayloadTooLarge",
            status_415="UnsupportedMediaType",
            **READ_ERRORS,
        ),
    },
    "deleteReview": {
        "description": "Only the review's author. The review leaves the product's rating summary in the same "
        "transaction, and its author may review the product again.",
        **responses(
            status_204="ReviewDeleted",
            status_401="Unauthorized",
            status_403="NotTheAuthor",
            status_404="ReviewNotFound",
            **READ_ERRORS,
        ),
    },
    "getRating": responses(status_200="RatingSummary", **READ_ERRORS),
}
PREFLIGHT = responses(status_204="Preflight")

COMPONENTS = {"schemas": SCHEMAS, "headers": HEADERS, "responses": RESPONSES}
