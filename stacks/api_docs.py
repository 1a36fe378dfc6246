"""The API's reference documents, generated from the contract's routes (`make docs`):
docs/openapi.json (the public OpenAPI document) and the route table of docs/api.md.

`python -m stacks.api_docs` writes both; tests fail while either is stale.
"""

import re
import sys
from pathlib import Path

from handlers.reviews import contract

from .openapi import public_document, to_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OPENAPI_FILE = PROJECT_ROOT / "docs" / "openapi.json"
API_FILE = PROJECT_ROOT / "docs" / "api.md"
TABLE_START = "<!-- routes: generated from handlers/reviews/contract.py by `make docs` -->"
TABLE_END = "<!-- end of routes -->"


def who(route: contract.Route) -> str:
    if not route.signed_in:
        return "no"
    return "required, author only" if route.author_only else "required"


def route_table() -> str:
    """The routes as a Markdown table, the CORS preflight last, between the two markers."""
    rows = [
        ("Method", "Path", "Signed-in reviewer + API key", "Purpose"),
        *((route.method, f"`{route.path}`", who(route), route.summary) for route in contract.ROUTES),
        ("OPTIONS", "every path above", "no", "CORS preflight"),
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |" for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join([TABLE_START, "", *lines, "", TABLE_END])


def api_markdown(current: str) -> str:
    """docs/api.md with its route table regenerated."""
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.DOTALL)
    if not pattern.search(current):
        raise ValueError(f"{API_FILE} lost its route table's markers: {TABLE_START} ... {TABLE_END}")
    return pattern.sub(lambda _: route_table(), current, count=1)


def write() -> None:
    OPENAPI_FILE.write_text(to_json(public_document()))
    API_FILE.write_text(api_markdown(API_FILE.read_text()))


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {OPENAPI_FILE.relative_to(PROJECT_ROOT)} and {API_FILE.relative_to(PROJECT_ROOT)}\n")
