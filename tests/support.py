"""Helpers for tests that run the project's own commands in a copy of it.

Imported as `tests.support`, never from conftest (pytest loads conftest.py itself, under a
name of its own: importing it again would load it twice).
"""

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from deploy.project_copy import DEPLOYABLE_FILES, PROJECT_ROOT, copy_project
from deploy.workspace import is_setting

__all__ = [
    "DEPLOY_TIMEOUT_SECONDS",
    "DEPLOYABLE_FILES",
    "PROJECT_ROOT",
    "copy_project",
    "deploy_command",
    "run_deploy",
    "terraform_validate",
    "without_settings",
]


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
