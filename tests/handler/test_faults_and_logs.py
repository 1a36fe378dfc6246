"""Logs, the Fault metric, and what a real fault looks like to the client."""

import json
import socket
import time

import boto3
import pytest
from botocore.config import Config

import api_events
from api_client import FUNCTION_NAME, Response, app_for, invoke
from handlers.reviews.app import DYNAMODB_CLIENT_CONFIG


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_one_structured_log_line_per_request_without_review_text(capsys, product_id, reviewer_id):
    secret_text = "my-very-private-review-text"
    event = api_events.post_review(
        {"product_id": product_id, "rating": 4, "title": secret_text, "comment": secret_text}, reviewer=reviewer_id
    )

    invoke(event)

    out = capsys.readouterr().out
    assert secret_text not in out
    [line] = [json.loads(line) for line in out.splitlines()]
    assert line["level"] == "INFO"
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/reviews", 201)
    assert isinstance(line["latency_ms"], (int, float))


def test_log_line_falls_back_to_the_lambda_request_id(capsys):
    event = api_events.get_rating("p")
    event["requestContext"] = {}

    invoke(event)

    assert log_lines(capsys)[-1]["request_id"] == "lambda-request-id"


@pytest.fixture
def app_with_missing_table(dynamodb):
    return app_for(dynamodb, "no-such-table", frozenset({api_events.ALLOWED_ORIGIN}), FUNCTION_NAME)


@pytest.mark.parametrize(
    "event",
    [
        api_events.get_rating("p"),
        api_events.get_reviews({"product_id": "p"}),
        api_events.post_review({"product_id": "p", "rating": 5}),
    ],
    ids=["rating", "list", "post"],
)
def test_a_real_fault_is_500_with_traceback_log_and_fault_metric_but_no_leak(capsys, app_with_missing_table, event):
    response = invoke(event, app_with_missing_table)

    assert response.status == 500
    assert response.json["error"] == "internal_error"
    assert "no-such-table" not in response.raw["body"] and "ResourceNotFound" not in response.raw["body"]
    assert response.headers["Access-Control-Allow-Origin"] == api_events.ALLOWED_ORIGIN
    lines = log_lines(capsys)
    [fault] = [line for line in lines if line.get("level") == "ERROR"]
    assert fault["request_id"] == event["requestContext"]["requestId"]
    assert "ResourceNotFoundException" in fault["traceback"]
    [metric] = [line for line in lines if "_aws" in line]
    assert metric["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "ProductReviews",
            "Dimensions": [["FunctionName"]],
            "Metrics": [{"Name": "Fault", "Unit": "Count"}],
        }
    ]
    assert metric["FunctionName"] == FUNCTION_NAME and metric["Fault"] == 1
    assert lines[-1]["status"] == 500


def test_client_errors_emit_no_fault_metric(capsys):
    invoke(api_events.post_review("{", raw=True))

    assert not [line for line in log_lines(capsys) if "_aws" in line]


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers: DynamoDB timing out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def unreachable_app(endpoint: str, config: Config):
    client = boto3.client("dynamodb", endpoint_url=endpoint, config=config)
    return app_for(client, "reviews-test", frozenset({api_events.ALLOWED_ORIGIN}), FUNCTION_NAME)


def assert_retryable_fault(response: Response, capsys) -> None:
    assert response.status == 503
    assert response.json["error"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Access-Control-Allow-Origin"] == api_events.ALLOWED_ORIGIN
    lines = log_lines(capsys)
    assert [line["message"] for line in lines if line.get("level") == "ERROR"][0].startswith("DynamoDB is unreachable")
    assert [line["Fault"] for line in lines if "_aws" in line] == [1]


def test_an_unreachable_table_is_503_with_retry_after_and_the_fault_metric(capsys):
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()

    response = invoke(api_events.get_rating("p"), unreachable_app(endpoint, DYNAMODB_CLIENT_CONFIG))

    assert_retryable_fault(response, capsys)
    assert time.monotonic() - started < 10  # the handler's own client settings fail fast


def test_a_table_that_times_out_is_503_with_retry_after_and_the_fault_metric(capsys, silent_server):
    quick = Config(connect_timeout=0.2, read_timeout=0.2, retries={"mode": "standard", "max_attempts": 1})
    event = api_events.post_review({"product_id": "p", "rating": 5})

    response = invoke(event, unreachable_app(silent_server, quick))

    assert_retryable_fault(response, capsys)
