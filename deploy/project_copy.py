"""A copy of the project to run its own commands in (tests, `python -m iam_evidence record`),
sharing its installed tools and caches, so that a run can change code and write into the
copy (cdktf.out/, .local/, build/) without touching the real tree."""

import shutil
from pathlib import Path

from .project_env import PROJECT_ROOT

# What deploying needs from the project (python -m deploy, pipenv run cdktf ...); tests, docs
# and benchmarks stay behind ...
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
    "iam_evidence",
)
# ... and what the copy shares: installed packages, Terraform CLI config, jsii and checkov.
SHARED = (".venv", "node_modules", ".terraformrc", ".cache")


def copy_project(destination: Path, names: tuple[str, ...] = DEPLOYABLE_FILES) -> Path:
    """A copy of the project's files and folders `names` in `destination`, sharing its installed
    tools and caches."""
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
