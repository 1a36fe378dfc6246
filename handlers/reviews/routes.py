"""The API's routes: the one list both the stack (API Gateway resources) and the handler use.

Stdlib only, because the stack imports this module at synth time without the Lambda's deps.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    # An API Gateway resource template, exactly as it arrives in event["resource"].
    path: str
    api_key_required: bool


ROUTES: tuple[Route, ...] = (
    Route("GET", "/reviews", api_key_required=False),
    Route("POST", "/reviews", api_key_required=True),
    Route("GET", "/products/{product_id}/rating", api_key_required=False),
)


def resource_paths() -> tuple[str, ...]:
    """Each resource path once, in ROUTES order; the stack adds an OPTIONS method to each."""
    return tuple(dict.fromkeys(route.path for route in ROUTES))


def methods_for(path: str) -> tuple[str, ...]:
    """The methods ROUTES defines on a resource path (without OPTIONS); empty if unknown."""
    return tuple(route.method for route in ROUTES if route.path == path)
