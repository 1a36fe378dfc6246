"""The storefront page is configured from the deployment each time it is served: the API key,
and where reviewers sign in (Cognito's endpoint, the user pool the API's authorizer trusts and
its app client), so the same page works against API Gateway and a real pool when served with
their values. Its content policy lets it call the API and Cognito, and nothing else.
"""

import re
import threading
import urllib.request

import pytest

from handlers.reviews import contract
from localaws.storefront import StorefrontServer, deployed_page_config
from tests.localaws.apis import REGION, ProxyMethod, aws_client, create_api_key, create_proxy_api, deploy_stage
from tests.localaws.identity import create_user_pool

API_URL = "http://127.0.0.1:8080/v1"
# A stage needs a method; the page never calls it here.
METHODS = [ProxyMethod("GET", "/reviews", "arn:aws:lambda:us-east-1:123456789012:function:not-called")]


def serve_page(endpoint: str, api_name: str) -> tuple[dict[str, str], str]:
    """(meta name -> content, Content-Security-Policy) of the page served for `api_name`."""
    server = StorefrontServer(0, API_URL, deployed_page_config(endpoint, REGION, api_name, "dev"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=10) as reply:
            page, policy = reply.read().decode(), reply.headers["Content-Security-Policy"]
    finally:
        server.shutdown()
        server.server_close()
    return dict(re.findall(r'<meta name="(reviews-[a-z-]+)" content="([^"]*)">', page)), policy


@pytest.fixture(scope="module")
def api_without_sign_in(running_emulator) -> str:
    api_id = create_proxy_api(running_emulator.endpoint, "storefront-config-public", METHODS)
    deploy_stage(running_emulator.endpoint, api_id, "dev", rate=10, burst=10)
    return "storefront-config-public"


def test_the_page_signs_in_to_the_pool_the_apis_authorizer_trusts(running_emulator):
    endpoint = running_emulator.endpoint
    pool = create_user_pool(endpoint, "storefront-config")
    apigateway = aws_client(endpoint, "apigateway")
    api_id = create_proxy_api(endpoint, "storefront-config-api", METHODS)
    apigateway.create_authorizer(
        restApiId=api_id,
        name="reviewers",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool.arn],
        identitySource=f"method.request.header.{contract.AUTHORIZATION_HEADER}",
    )
    deploy_stage(endpoint, api_id, "dev", rate=10, burst=10)
    api_key = create_api_key(endpoint, api_id, "dev", "storefront-config-key")

    meta, policy = serve_page(endpoint, "storefront-config-api")

    assert meta["reviews-api-url"] == API_URL
    assert meta["reviews-api-key"] == api_key
    assert meta["reviews-cognito-endpoint"] == endpoint
    assert (meta["reviews-user-pool-id"], meta["reviews-user-pool-client-id"]) == (pool.id, pool.client_id)
    assert meta["reviews-authorization-header"] == contract.AUTHORIZATION_HEADER
    assert meta["reviews-api-key-header"] == contract.API_KEY_HEADER
    assert meta["reviews-reviewer-claim"] == contract.REVIEWER_CLAIM
    assert meta["reviews-display-name-claim"] == contract.DISPLAY_NAME_ATTRIBUTE
    assert "connect-src http://127.0.0.1:8080 " + endpoint + ";" in policy


def test_an_api_without_an_authorizer_gets_a_page_without_sign_in(running_emulator, api_without_sign_in):
    meta, policy = serve_page(running_emulator.endpoint, api_without_sign_in)

    assert (meta["reviews-cognito-endpoint"], meta["reviews-user-pool-id"], meta["reviews-user-pool-client-id"]) == (
        "",
        "",
        "",
    )
    assert "connect-src http://127.0.0.1:8080;" in policy
