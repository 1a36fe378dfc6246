"""make watch sends a change to the right path: handler code straight to the function, and
anything the stack is built from through make up."""

import ast
from pathlib import Path

from deploy import watch
from tests.support import PROJECT_ROOT


def handler_modules_the_stack_imports() -> set[str]:
    found = set()
    for path in (PROJECT_ROOT / "stacks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handlers"):
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("handlers")}
    return found


def test_every_handler_module_the_stack_imports_goes_through_make_up():
    imported = {name.replace(".", "/") + ".py" for name in handler_modules_the_stack_imports()}
    assert imported and imported <= set(watch.STACK_INPUTS)


def test_stamps_see_a_saved_file_and_skip_bytecode(tmp_path: Path):
    handler = tmp_path / "handlers" / "reviews" / "app.py"
    handler.parent.mkdir(parents=True)
    handler.write_text("x = 1\n")
    (handler.parent / "__pycache__").mkdir()
    (handler.parent / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"")
    before = watch.stamps(tmp_path)
    assert list(before) == ["handlers/reviews/app.py"]
    handler.write_text("x = 22\n")
    assert watch.stamps(tmp_path) != before
