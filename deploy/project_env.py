"""The project's tool settings from .env, as pipenv and make read them."""

import os
import re
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def tool_settings(project_root: Path = PROJECT_ROOT, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """NAME=value lines of .env with ${NAME} expanded (from the environment, or a line above);
    ${PWD} is the project root, where every command runs."""
    known = {**environ, "PWD": str(project_root)}
    settings = {}
    for line in (project_root / ".env").read_text().splitlines():
        found = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", line.strip())
        if found:
            settings[found[1]] = re.sub(r"\$\{(\w+)\}", lambda name: known.get(name[1], ""), found[2])
            known[found[1]] = settings[found[1]]
    return settings
