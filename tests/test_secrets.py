"""Which strings of a Terraform state are secrets, and redacting them."""

from collections.abc import Sequence

from deploy.secrets import REDACTED, redact_text, secrets_in_state

API_KEY = "YVhMFaqG4HxDylnop1AstbWX9rCNcf7iKvjE5mZe"
REST_API_ID = "1trvgasmio"


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
    ]
}


def test_the_api_key_is_a_secret_wherever_the_state_holds_it():
    assert API_KEY in secrets_in_state(STATE)


def test_a_sensitive_value_that_is_public_elsewhere_in_the_state_is_not_redacted():
    secrets = secrets_in_state(STATE)
    assert REST_API_ID not in secrets  # the REST API's own id is no secret
    assert "hunter2-hunter2" in secrets  # sensitive, and nowhere public
    line_start = f"aws_api_gateway_stage.stage: Destroying... [id=ags-{REST_API_ID}-v1] key="
    assert redact_text(line_start + API_KEY, secrets) == line_start + REDACTED  # the stage id is kept
