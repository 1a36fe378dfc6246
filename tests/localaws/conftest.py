"""Fixtures for the local AWS stand-in: an emulator, and APIs deployed into it with boto3.

Everything started here is stopped in a finally, also when a test fails.
"""

import pytest

from localaws import emulator
from localaws.gateway import LocalGateway
from tests.localaws.apis import (
    REGION,
    ProxyMethod,
    TestApi,
    aws_client,
    create_api_key,
    create_function_role,
    create_proxy_api,
    create_test_function,
    deploy_stage,
    serve_in_thread,
    stop_serving,
)


@pytest.fixture
def unused_port() -> int:
    return emulator.free_port()


@pytest.fixture(scope="session")
def test_api(running_emulator) -> TestApi:
    """A REST API deployed with boto3 the way Terraform deploys the real one.

    Stage `dev` (generous throttling, API key bound) and stage `limited` (rate 1, burst 2,
    no usage plan). Routes: GET /reviews, POST /reviews (API key), GET
    /products/{product_id}/rating, GET /tables, /crash, /malformed, /slow (one function each).
    """
    endpoint = running_emulator.endpoint
    role = create_function_role(endpoint, "local-test-fn")
    functions = {
        handler: create_test_function(endpoint, role, "local-test", handler, timeout)
        for handler, timeout in [("echo", 3), ("tables", 10), ("crash", 3), ("malformed", 3), ("slow", 1)]
    }

    api_id = create_proxy_api(
        endpoint,
        "local-test-api",
        [
            ProxyMethod("GET", "/reviews", functions["echo"]),
            ProxyMethod("POST", "/reviews", functions["echo"], api_key_required=True),
            ProxyMethod("GET", "/products/{product_id}/rating", functions["echo"]),
            *(
                ProxyMethod("GET", f"/{handler}", functions[handler])
                for handler in ("tables", "crash", "malformed", "slow")
            ),
        ],
    )
    deploy_stage(endpoint, api_id, "dev", rate=1000, burst=1000)
    deploy_stage(endpoint, api_id, "limited", rate=1, burst=2)
    api_key = create_api_key(endpoint, api_id, "dev", "local-test-key")
    aws_client(endpoint, "dynamodb").create_table(
        TableName="reviews-test",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return TestApi(endpoint, "local-test-api", api_key)


@pytest.fixture(scope="session")
def serve(test_api):
    """serve(stage) -> base URL of a gateway for that stage (one per stage, stopped at the end)."""
    running = {}

    def _serve(stage: str) -> str:
        if stage not in running:
            gateway = LocalGateway(test_api.endpoint, REGION, test_api.name, stage, refresh_seconds=0)
            running[stage] = serve_in_thread(gateway)
        return f"http://127.0.0.1:{running[stage][1].server_address[1]}/{stage}"

    try:
        yield _serve
    finally:
        for gateway, server in running.values():
            stop_serving(gateway, server)
