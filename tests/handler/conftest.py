"""A real DynamoDB API with the stack's table schema, shared by the session: the project's
emulator (moto with localaws' fixes), not plain moto, because plain moto runs a resent
transaction again. Under load a write can outlast the handler's read timeout; botocore then
resends it with the same ClientRequestToken, which DynamoDB (and the emulator) answers as the
first, while plain moto ran it twice and turned the caller's own create into a 409.

Tests isolate themselves with fresh product and reviewer ids instead of recreating the table.
"""

import boto3
import pytest

from api_client import new_id
from handlers.reviews import app as reviews_app
from review_table import ENVIRONMENT, TABLE_NAME, create_table


@pytest.fixture(scope="session", autouse=True)
def dynamodb(running_emulator):
    """Points boto3 (and so the handler) at the emulator, and creates the table."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**ENVIRONMENT, "AWS_ENDPOINT_URL": running_emulator.endpoint}.items():
            env.setenv(name, value)
        reviews_app.default_app.cache_clear()
        client = boto3.client("dynamodb")
        create_table(client, TABLE_NAME)
        yield client
        reviews_app.default_app.cache_clear()


@pytest.fixture
def product_id() -> str:
    return new_id("sku")


@pytest.fixture
def reviewer_id() -> str:
    return new_id("user")
