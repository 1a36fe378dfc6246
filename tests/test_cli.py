"""The plain CDKTF CLI as a pipenv user types it, without make: `pipenv run cdktf deploy`,
`output`, `diff` and `destroy` against the emulator, in a copy of the project as `make deps`
leaves it (docs/cli.md).

pipenv loads .env, and .env alone must make the CLI quiet (no Node.js banner, no
checkpoint call home), offline-safe (the committed provider lock: cdktf runs no `providers
lock` against the registry) and aimed at REVIEWS_EMULATOR_PORT. So the commands run without
this test process's own copy of those settings (tests/conftest.py loads them).
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.project_env import tool_settings
from deploy.workspace import is_setting
from localaws import emulator
from stacks import framework
from tests.support import PROJECT_ROOT, copy_project

pytestmark = pytest.mark.emulator

# The installed framework's CLI: cdktf, or cdktn on a tree switched to CDK Terrain.
CLI = framework.installed().name
NOISE = re.compile(r"!!|end-of-life|checkpoint|ENOTFOUND", re.IGNORECASE)
TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
COMMAND_TIMEOUT_SECONDS = 240


def shell_environment(project: Path, settings: dict[str, str]) -> dict[str, str]:
    """A fresh shell's environment in `project`, with these stack settings: none of .env's
    tool settings, no activated virtualenv, no AWS or stack settings of the caller's."""
    dropped = set(tool_settings(project)) | {"VIRTUAL_ENV", "PIPENV_ACTIVE"}
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not is_setting(name) and not name.startswith("AWS_")
    }
    activated = {str(Path(sys.prefix) / "bin")}  # tests/conftest.py puts it first (stacks.jsii_kernel)
    path = [
        entry
        for entry in os.environ["PATH"].split(os.pathsep)
        if not entry.endswith("node_modules/.bin") and entry not in activated
    ]
    return {**inherited, "PATH": os.pathsep.join(path), "PWD": str(project), "PIPENV_VENV_IN_PROJECT": "1", **settings}


def pipenv_run(project: Path, environ: dict[str, str], *command: str) -> str:
    """`pipenv run <command>`'s output; fails on an error exit or on noise in the output."""
    process = subprocess.Popen(
        ["python3", "-m", "pipenv", "run", *command],
        cwd=project,
        env=environ,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output = process.communicate(timeout=COMMAND_TIMEOUT_SECONDS)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # cdktf's node and terraform processes too
        process.communicate()
        raise
    output = TERMINAL_CODES.sub("", output)
    assert process.returncode == 0, f"{' '.join(command)} exited {process.returncode}:\n{output[-4000:]}"
    noise = sorted({line.strip() for line in output.splitlines() if NOISE.search(line)})
    assert not noise, f"{' '.join(command)} printed: {noise}"
    return output


def test_pipenv_run_cdktf_deploys_outputs_diffs_and_destroys_on_the_emulator(tmp_path):
    project = copy_project(tmp_path)
    emulator_port, gateway_port = emulator.free_port(), emulator.free_port()
    environ = shell_environment(
        project,
        {
            "ENVIRONMENT_SUFFIX": "cli",
            "REVIEWS_DELETION_PROTECTION": "false",  # on by default outside dev
            "REVIEWS_EMULATOR_PORT": str(emulator_port),
            "REVIEWS_GATEWAY_PORT": str(gateway_port),
        },
    )
    functions = emulator.client("lambda", emulator.endpoint_for(emulator_port), "us-east-2")
    try:
        pipenv_run(project, environ, "python", "-m", "deploy", "emulator")

        assert "Apply complete!" in pipenv_run(project, environ, CLI, "deploy", "--auto-approve")
        assert [f["FunctionName"] for f in functions.list_functions()["Functions"]] == ["ReviewProcessor-cli"]
        stack_dir = project / "cdktf.out" / "stacks" / "product-reviews-cli-local"
        lock = (stack_dir / ".terraform.lock.hcl").read_text()
        assert lock == (PROJECT_ROOT / ".terraform.lock.hcl").read_text(), "the CLI changed the provider lock"

        outputs = pipenv_run(project, environ, CLI, "output")
        assert f"api_url = http://127.0.0.1:{gateway_port}/v1" in outputs

        assert "No changes." in pipenv_run(project, environ, CLI, "diff")

        assert "Destroy complete!" in pipenv_run(project, environ, CLI, "destroy", "--auto-approve")
        assert functions.list_functions()["Functions"] == []
    finally:
        emulator.stop(emulator_port, project / ".local")
