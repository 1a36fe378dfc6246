"""A real DynamoDB API (moto server) with the stack's table schema, shared by the session.

Tests isolate themselves with fresh product and reviewer ids instead of recreating the table.
"""

import boto3
import pytest
from moto.server import ThreadedMotoServer

from api_client import new_id
from handlers.reviews import app as reviews_app
from review_table import ENVIRONMENT, TABLE_NAME, create_table


@pytest.fixture(scope="session", autouse=True)
def dynamodb():
    """Starts moto, points boto3 (and so the handler) at it, and creates the table."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**ENVIRONMENT, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}.items():
            env.setenv(name, value)
        reviews_app.default_app.cache_clear()
        client = boto3.client("dynamodb")
        create_table(client, TABLE_NAME)
        yield client
        reviews_app.default_app.cache_clear()
    server.stop()


@pytest.fixture
def product_id() -> str:
    return new_id("sku")


@pytest.fixture
def reviewer_id() -> str:
    return new_id("user")
