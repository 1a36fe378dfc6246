"""The code's shape, held in place: the handler's layers point downward, and every project
module loads under one name only."""

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLER = PROJECT_ROOT / "handlers" / "reviews"

# What each handler module may import from its own package: the model and its errors at the
# bottom, then validation and the repository, then the HTTP edge (responses: the HTTP answers
# and HttpError), then the wiring.
ALLOWED_IMPORTS = {
    "contract": set(),
    "model": {"contract"},
    "errors": {"model"},
    "ids": {"contract"},
    "tokens": {"contract", "errors", "ids", "model"},
    "validation": {"contract", "errors", "ids", "model", "tokens"},
    "repository": {"contract", "errors", "model"},
    "actions": {"errors", "ids", "model", "repository"},
    "telemetry": {"contract"},
    "responses": {"contract", "errors", "model"},
    "events": {"contract", "errors", "model", "responses"},
    "routing": {
        "actions",
        "contract",
        "errors",
        "events",
        "ids",
        "model",
        "repository",
        "responses",
        "tokens",
        "validation",
    },
    "app": {"contract", "errors", "events", "ids", "model", "repository", "responses", "routing", "telemetry"},
}


def package_imports(path: Path) -> set[str]:
    """The sibling modules a handler module imports (`from . import x`, `from .x import y`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update({node.module} if node.module else {alias.name for alias in node.names})
    return found


def test_every_handler_module_has_its_place_in_the_layers():
    modules = {path.stem for path in HANDLER.glob("*.py")} - {"__init__"}
    assert modules == set(ALLOWED_IMPORTS)


@pytest.mark.parametrize("module", sorted(ALLOWED_IMPORTS))
def test_handler_modules_import_only_from_the_layers_below(module):
    imported = package_imports(HANDLER / f"{module}.py")
    assert imported <= ALLOWED_IMPORTS[module], f"{module} imports {sorted(imported - ALLOWED_IMPORTS[module])}"


def test_only_the_http_edge_knows_http():
    http_aware = {module for module, allowed in ALLOWED_IMPORTS.items() if "responses" in allowed}
    assert http_aware == {"events", "routing", "app"}


PROJECT_PACKAGES = ("handlers", "stacks", "deploy", "localaws")


def project_file(module: object) -> Path | None:
    """The source file of a module of ours (not of an installed package or a test)."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    if not path.is_relative_to(PROJECT_ROOT) or path.relative_to(PROJECT_ROOT).parts[0] not in PROJECT_PACKAGES:
        return None
    return path


def test_every_project_module_loads_under_one_name():
    for package in ("handlers.reviews", "stacks", "deploy", "localaws"):
        root = importlib.import_module(package)
        for found in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not found.name.endswith("__main__"):
                importlib.import_module(found.name)
    names_by_file: dict[Path, list[str]] = {}
    for name, module in list(sys.modules.items()):
        path = project_file(module)
        if path:
            names_by_file.setdefault(path, []).append(name)
    assert len(names_by_file) > 40  # every module above was found
    assert {path: names for path, names in names_by_file.items() if len(names) > 1} == {}
