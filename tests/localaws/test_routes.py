"""Route matching as API Gateway does it: literal beats {param} beats {proxy+}."""

import pytest

from localaws.deployment import Deployment, Method


def deployment_with(*templates: str) -> Deployment:
    methods = {t: {"GET": Method("id", t, "GET", False, None)} for t in templates}
    return Deployment("", "api", "dev", (), methods, {}, None, None, {})


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/", ("/", {})),
        ("/reviews", ("/reviews", {})),
        ("/reviews/", ("/reviews", {})),
        ("/products/latest", ("/products/latest", {})),
        # {product_id}/rating also matches {id}/{any+}: the literal "rating" wins.
        ("/products/sku-1/rating", ("/products/{product_id}/rating", {"product_id": "sku-1"})),
        ("/products/a%20b/rating", ("/products/{product_id}/rating", {"product_id": "a b"})),
        ("/files/a/b/c", ("/files/{path+}", {"path": "a/b/c"})),
        ("/files", None),
        ("/products/sku-1", None),
        ("/nope", None),
    ],
)
def test_match(path, expected):
    routes = deployment_with(
        "/", "/reviews", "/products/latest", "/products/{product_id}/rating", "/products/{id}/{any+}", "/files/{path+}"
    )
    assert routes.match(path) == expected
