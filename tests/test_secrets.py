"""Which strings of a Terraform state are secrets, and redacting them."""

from collections.abc import Sequence

from deploy.secrets import REDACTED, redact_text, secrets_in_state

API_KEY = "YVhMFaqG4HxDylnop1AstbWX9rCNcf7iKvjE5mZe"
REST_API_ID = "1trvgasmio"
USER_POOL_ID = "us-east-2_Ab12Cd34E"
CLIENT_ID = "4k2f7s9d1q0p8r6t5v3w2x1y0z"


def resource(resource_type: str, attributes: dict, sensitive: Sequence[str] = ()) -> dict:
    paths = [[{"type": "get_attr", "value": name}] for name in sensitive]
    return {"type": resource_type, "instances": [{"attributes": attributes, "sensitive_attributes": paths}]}


STATE = {
    "resources": [
        resource("aws_api_gateway_rest_api", {"id": REST_API_ID, "name": "ProductReviewsAPI-dev"}),
        resource("aws_api_gateway_api_key", {"id": "sgkqm8grw6", "value": API_KEY}, sensitive=["value"]),
        # The provider leaves the usage plan key's copy of the API key unmarked.
        resource("aws_api_gateway_usage_plan_key", {"id": "sgkqm8grw6", "value": API_KEY}),
        # It marks every SSM parameter value sensitive, even a String that publishes an id.
        resource(
            "aws_ssm_parameter",
            {"name": "/productreviews/dev/api/gateway-id", "value": REST_API_ID},
            sensitive=["value"],
        ),
        resource(
            "aws_ssm_parameter",
            {"name": "/productreviews/dev/db-password", "value": "hunter2-hunter2"},
            sensitive=["value"],
        ),
        # The user pool and its app client (no secret: a browser client) publish their ids too.
        resource("aws_cognito_user_pool", {"id": USER_POOL_ID, "name": "ProductReviews-dev"}),
        resource("aws_cognito_user_pool_client", {"id": CLIENT_ID, "client_secret": ""}, sensitive=["client_secret"]),
        resource(
            "aws_ssm_parameter",
            {"name": "/productreviews/dev/cognito/user-pool-id", "value": USER_POOL_ID},
            sensitive=["value"],
        ),
        resource(
            "aws_ssm_parameter",
            {"name": "/productreviews/dev/cognito/storefront-client-id", "value": CLIENT_ID},
            sensitive=["value"],
        ),
    ]
}


def test_the_api_key_is_a_secret_wherever_the_state_holds_it():
    assert API_KEY in secrets_in_state(STATE)


def test_a_sensitive_value_that_is_public_elsewhere_in_the_state_is_not_redacted():
    secrets = secrets_in_state(STATE)
    assert REST_API_ID not in secrets  # the REST API's own id is no secret
    assert {USER_POOL_ID, CLIENT_ID}.isdisjoint(secrets)  # what a sign-in page needs stays readable
    assert "hunter2-hunter2" in secrets  # sensitive, and nowhere public
    line_start = f"aws_api_gateway_stage.stage: Destroying... [id=ags-{REST_API_ID}-v1] key="
    assert redact_text(line_start + API_KEY, secrets) == line_start + REDACTED  # the stage id is kept
