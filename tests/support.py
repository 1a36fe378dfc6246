"""Helpers for tests that run the project's own commands in a copy of it.

Imported as `tests.support`, never from conftest (pytest loads conftest.py itself, under a
name of its own: importing it again would load it twice).
"""

import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# What deploying needs from the project (python -m deploy, pipenv run cdktf ...), copied so
# that a test can change it and write into it (cdktf.out/, .local/, build/); tests, docs and
# benchmarks stay behind ...
DEPLOYABLE_FILES = (
    "Pipfile",
    "Pipfile.lock",
    ".env",
    "cdktf.json",
    "main.py",
    ".terraform.lock.hcl",
    ".checkov.yaml",
    "environments",
    "stacks",
    "handlers",
    "deploy",
    "localaws",
)
# ... and what the copy shares: installed packages, Terraform CLI config, jsii and checkov.
SHARED = (".venv", "node_modules", ".terraformrc", ".cache")


def copy_project(destination: Path, names: tuple[str, ...] = DEPLOYABLE_FILES) -> Path:
    """A copy of the project's files and folders `names` in `destination`, sharing its installed
    tools and caches, so a test can run the project's commands (and edit its code) without
    touching the real tree."""
    for name in names:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, destination / name)
    (PROJECT_ROOT / ".cache").mkdir(exist_ok=True)
    for name in SHARED:
        (destination / name).symlink_to(PROJECT_ROOT / name)
    return destination
