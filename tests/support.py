"""Helpers for tests that run the project's own commands in a copy of it.

Imported as `tests.support`, never from conftest (pytest loads conftest.py itself, under a
name of its own: importing it again would load it twice).
"""

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from deploy.workspace import is_setting

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


def without_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus any stack setting a developer's shell may hold."""
    return {name: value for name, value in environ.items() if not is_setting(name)}


DEPLOY_TIMEOUT_SECONDS = 900


def deploy_command(command: str, environment: str, *args: str) -> list[str]:
    """`python -m deploy <command> --environment <environment> --target local <args>`."""
    return [sys.executable, "-m", "deploy", command, "--environment", environment, "--target", "local", *args]


def run_deploy(
    project: Path, command: str, environment: str, *args: str, environ: Mapping[str, str]
) -> subprocess.CompletedProcess:
    """That command in the copy `project`, with `environ` as its whole environment, as a CI job runs it."""
    return subprocess.run(
        deploy_command(command, environment, *args),
        cwd=project,
        env=dict(environ),
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT_SECONDS,
        check=False,
    )


def terraform_validate(directory: Path) -> dict:
    """`terraform init -backend=false` then `terraform validate -json` in `directory`: the result."""
    init = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    validate = subprocess.run(
        ["terraform", "validate", "-json", "-no-color"], cwd=directory, capture_output=True, text=True
    )
    return json.loads(validate.stdout)
