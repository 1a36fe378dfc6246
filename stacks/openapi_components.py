"""The public OpenAPI document's parts: schemas, parameters, headers, answers and examples.

Limits, patterns, id rules, header names and error answers come from the contract, and so do
each operation's parameters and answers (`operation`, from its Route). The shapes are the
handler's (model.Review.to_dict, the listing and rating bodies in routing.py, responses.error_body);
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
        "description": f"A product or reviewer id: {contract.ID_RULE}",
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
                "description": f"The author: the `{contract.REVIEWER_CLAIM}` of their ID token "
                "(list their reviews with it)",
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


def parameter(name: str, where: str, schema: dict[str, object], description: str) -> dict[str, object]:
    return {"name": name, "in": where, "schema": schema, "description": description}


# By name: the query parameters and request headers a Route reads (its query= and headers=).
QUERY_PARAMETERS = {
    name: parameter(name, "query", schema, description)
    for name, schema, description in [
        ("product_id", ref("schemas", "Id"), f"List this product's reviews. {ONE_OWNER}"),
        ("reviewer_id", ref("schemas", "Id"), f"List this reviewer's reviews, across products. {ONE_OWNER}"),
        (
            "limit",
            {"type": "integer", "minimum": 1, "maximum": contract.MAX_LIMIT, "default": contract.DEFAULT_LIMIT},
            "Reviews per page",
        ),
        (
            "next_token",
            {"type": "string", "minLength": 1, "maxLength": contract.MAX_NEXT_TOKEN_CHARS},
            "The previous page's `next_token` (same listing)",
        ),
    ]
}
HEADER_PARAMETERS = {
    contract.IDEMPOTENCY_KEY_HEADER: {
        **parameter(
            contract.IDEMPOTENCY_KEY_HEADER,
            "header",
            {"type": "string", "pattern": anchored(contract.IDEMPOTENCY_KEY_PATTERN)},
            "Makes retries safe for 24 hours: the same key with the same review answers the first 201 again; "
            "with a different review, 422. Use a random value (a UUID).",
        ),
        "example": "7f9c2b1e-5d4a-4c1b-9e8f-2a3b4c5d6e7f",
    },
}


# --- Headers -------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, object]] = {
    contract.VARY_HEADER: {
        "required": True,
        "schema": {"type": "string", "pattern": contract.ORIGIN_HEADER},
        "description": "`Origin`: the answer depends on the request's Origin (CORS)",
    },
    contract.ALLOW_ORIGIN_HEADER: {
        "schema": {"type": "string"},
        "description": "The request's Origin when it is allowed, or `*` when any is",
    },
    contract.REPLAYED_HEADER: {
        "schema": {"const": "true"},
        "description": f"`true` when this is the stored answer to an {contract.IDEMPOTENCY_KEY_HEADER} retry",
    },
    contract.RETRY_AFTER_HEADER: {
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "Seconds to wait before retrying",
    },
    contract.ALLOW_HEADER: {
        "required": True,
        "schema": {"type": "string"},
        "description": "The methods the resource has",
    },
    contract.ALLOW_METHODS_HEADER: {"required": True, "schema": {"type": "string"}},
    contract.ALLOW_HEADERS_HEADER: {"required": True, "schema": {"type": "string"}},
    contract.MAX_AGE_HEADER: {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}
CORS_HEADERS = (contract.VARY_HEADER, contract.ALLOW_ORIGIN_HEADER)  # on every answer of the function


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


def function_error(
    description: str,
    *answers: contract.ErrorAnswer,
    message: str | None = None,
    details: list[dict[str, object]] | None = None,
    header_names: tuple[str, ...] = (),
) -> dict[str, object]:
    """The function's answer for some of the contract's errors; the example is the last one's."""
    example = answers[-1]
    return answer(
        description,
        error_body(*(found.code for found in answers)),
        error_example(example.code, message or example.message, details),
        *header_names,
    )


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
        f"The stored review. A retry with the same {contract.IDEMPOTENCY_KEY_HEADER} and review answers this "
        "again, with "
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
        **headers(contract.ALLOW_METHODS_HEADER, contract.ALLOW_HEADERS_HEADER, contract.MAX_AGE_HEADER),
    },
    "BadRequest": function_error(
        "`invalid_json`: the body is not UTF-8 JSON or not a JSON object. `bad_request`: invalid or unknown "
        "fields (a `reviewer_id` among them: the reviewer is the signed-in user), nothing to change, query "
        f"parameters (each at most once), path parameters, next_token or {contract.IDEMPOTENCY_KEY_HEADER}; "
        "`details` names each problem.",
        contract.INVALID_JSON,
        contract.BAD_REQUEST,
        details=[
            {"field": "rating", "message": f"must be an integer from {contract.MIN_RATING} to {contract.MAX_RATING}"}
        ],
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
        "No signed-in reviewer. API Gateway's Cognito authorizer: the "
        f"`{contract.AUTHORIZATION_HEADER}` header is missing, or holds no valid, unexpired ID token of the "
        "stack's user pool. The function (`unauthorized`): the "
        "request reached it without the authorizer's claims, a stage misconfiguration.",
        "Unauthorized",
        contract.NOT_SIGNED_IN,
    ),
    "NotTheAuthor": gateway_or_function(
        f"API Gateway: the `{contract.API_KEY_HEADER}` header is missing or not a key of this stage. The function "
        "(`not_the_author`): the signed-in reviewer did not write this review.",
        "Forbidden",
        contract.NOT_THE_AUTHOR,
    ),
    "ReviewNotFound": function_error(
        "No review has this product id and review id (or it was deleted)", contract.REVIEW_NOT_FOUND
    ),
    "Forbidden": gateway_answer(
        f"API Gateway: the `{contract.API_KEY_HEADER}` header is missing or not a key of this stage", "Forbidden"
    ),
    "NotFound": function_error(
        "The function's answer for a resource it does not serve. Through API Gateway a client gets "
        "403 Missing Authentication Token instead: the function only sees the documented paths.",
        contract.NOT_FOUND,
    ),
    "MethodNotAllowed": function_error(
        f"The function's answer for a method the resource lacks, with `{contract.ALLOW_HEADER}`. Through API "
        "Gateway a client gets 403 Missing Authentication Token instead.",
        contract.METHOD_NOT_ALLOWED,
        message=contract.METHOD_NOT_ALLOWED.message.format(allow="GET, POST, OPTIONS"),
        header_names=(contract.ALLOW_HEADER,),
    ),
    "ReviewExists": function_error(
        "The reviewer already reviewed this product (one review per reviewer and product); "
        "`details[0].review_id` is that review.",
        contract.REVIEW_EXISTS,
        details=[
            {
                "field": "reviewer_id",
                "message": contract.REVIEW_EXISTS.detail,
                "review_id": REVIEW_EXAMPLE["review_id"],
            }
        ],
    ),
    "PayloadTooLarge": function_error(f"The body is over {contract.MAX_BODY_BYTES} bytes", contract.PAYLOAD_TOO_LARGE),
    "UnsupportedMediaType": function_error(
        "A Content-Type other than application/json (parameters such as charset are fine; none means JSON)",
        contract.UNSUPPORTED_MEDIA_TYPE,
    ),
    "IdempotencyKeyReused": function_error(
        f"The signed-in reviewer first used this {contract.IDEMPOTENCY_KEY_HEADER} with a different review",
        contract.IDEMPOTENCY_KEY_REUSED,
    ),
    "TooManyRequests": gateway_answer(
        "API Gateway: over the stage's rate or burst (or the API key's daily quota)", "Too Many Requests"
    ),
    "InternalError": function_error(
        "A fault on our side. Nothing about it is returned; it is logged with the request id.",
        contract.INTERNAL_ERROR,
    ),
    "BadGateway": gateway_answer("API Gateway: the function failed", "Internal server error"),
    "ServiceUnavailable": function_error(
        "The table is throttling or unreachable, or a concurrent write collided: retry after "
        f"`{contract.RETRY_AFTER_HEADER}`",
        contract.SERVICE_UNAVAILABLE,
        header_names=(contract.RETRY_AFTER_HEADER,),
    ),
    "GatewayTimeout": gateway_answer("API Gateway: the function did not answer in time", "Endpoint request timed out"),
}


# The function's error answers a Route names (its errors=), by their name here.
ERROR_RESPONSES = {
    contract.NOT_THE_AUTHOR: "NotTheAuthor",
    contract.REVIEW_NOT_FOUND: "ReviewNotFound",
    contract.REVIEW_EXISTS: "ReviewExists",
    contract.IDEMPOTENCY_KEY_REUSED: "IdempotencyKeyReused",
}
# Every operation, the preflight too, can be throttled, and the function can fail or time out.
EVERY_OPERATION = {429: "TooManyRequests", 500: "InternalError", 502: "BadGateway", 504: "GatewayTimeout"}
# Every route can be sent invalid input, and find the table throttling or unreachable.
EVERY_ROUTE = {400: "BadRequest", 503: "ServiceUnavailable"}


def responses(chosen: dict[int, str]) -> dict[str, object]:
    """{"responses": {"201": {"$ref": ...}, ...}}, by status, with what every operation answers."""
    chosen = {**EVERY_OPERATION, **chosen}
    return {"responses": {str(status): ref("responses", chosen[status]) for status in sorted(chosen)}}


def route_responses(route: contract.Route) -> dict[int, str]:
    """A route's answers besides those of every operation: its answer and its own errors; a
    signed-in write's refusals by API Gateway (401 without an ID token, 403 without the API
    key, unless its own 403 says both); what a body can be refused for."""
    chosen = {
        route.answer[0]: route.answer[1],
        **EVERY_ROUTE,
        **{error.status: ERROR_RESPONSES[error] for error in route.errors},
    }
    if route.signed_in:
        chosen = {401: "Unauthorized", 403: "Forbidden", **chosen}
    if route.body:
        chosen = {413: "PayloadTooLarge", 415: "UnsupportedMediaType", **chosen}
    return chosen


# Request bodies' examples, by schema name (a Route's body=).
BODY_EXAMPLES: dict[str, dict[str, dict[str, object]]] = {
    "NewReview": {
        "full": {
            "product_id": "sku-123",
            "rating": 5,
            "title": "Great kettle",
            "comment": "Boils a litre in two minutes.",
        },
        "rating only": {"product_id": "sku-123", "rating": 3},
    },
    "ReviewEdit": {
        "new rating, comment cleared": {"rating": 4, "comment": None},
        "new title": {"title": "Still great"},
    },
}


def request_body(schema: str) -> dict[str, object]:
    return {
        "required": True,
        "description": f"At most {contract.MAX_BODY_BYTES} bytes",
        "content": {
            JSON: {
                "schema": ref("schemas", schema),
                "examples": {name: {"value": value} for name, value in BODY_EXAMPLES[schema].items()},
            }
        },
    }


def operation(route: contract.Route) -> dict[str, object]:
    """What the document says of a route besides its id, summary, parameters and security."""
    return {
        **({"description": route.description} if route.description else {}),
        **({"requestBody": request_body(route.body)} if route.body else {}),
        **responses(route_responses(route)),
    }


def parameters(route: contract.Route) -> list[dict[str, object]]:
    """A route's query parameters and request headers (its path parameters: openapi.py)."""
    return [*(QUERY_PARAMETERS[name] for name in route.query), *(HEADER_PARAMETERS[name] for name in route.headers)]


PREFLIGHT = responses({204: "Preflight"})

COMPONENTS = {"schemas": SCHEMAS, "headers": HEADERS, "responses": RESPONSES}
