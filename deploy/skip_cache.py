"""What `make up` remembers of its last deploy (`.local/<stack>/deployed.json`), so that it can
skip Terraform's refresh, or Terraform altogether, when nothing else touched the deployment.

The record holds the emulator's pid, the state's lineage and serial, and the sha256 of the
configuration applied. Only our own deploys write it, and a destroy forgets it.
"""

import json
from pathlib import Path
from typing import Any

from localaws import emulator

from .local_target import LocalTarget
from .private_files import write_private


def refresh_needed(target: LocalTarget, state: dict[str, Any]) -> bool:
    """Whether Terraform must refresh `state`; says so when ours_alone proves it need not."""
    if ours_alone(target, state):
        print("    nothing but our own deploys touched this state and emulator: skipping the refresh")
        return False
    return True


def ours_alone(target: LocalTarget, state: dict[str, Any]) -> bool:
    """True when the state is the one our last deploy wrote, in the emulator it wrote it to:
    then nothing else changed the deployment, and Terraform's refresh can be skipped."""
    last = _last_deploy(target)
    running = emulator.status(target.config.target.emulator_port)
    if not (last and running and state):
        return False
    return (last["emulator_pid"], last["lineage"], last["serial"]) == (running.pid, state["lineage"], state["serial"])


def unchanged_since_last_deploy(target: LocalTarget) -> bool:
    last = _last_deploy(target)
    return bool(last) and last["configuration"] == target.workspace.configuration_sha256()


def remember_deploy(target: LocalTarget, state: dict[str, Any]) -> None:
    running = emulator.status(target.config.target.emulator_port)
    if running and state:
        record = {
            "emulator_pid": running.pid,
            "lineage": state["lineage"],
            "serial": state["serial"],
            "configuration": target.workspace.configuration_sha256(),
        }
        write_private(_record(target), json.dumps(record))


def deployed(target: LocalTarget) -> bool:
    """Whether a deploy of ours is remembered (until a destroy or make clean-data)."""
    return _record(target).exists()


def forget_deploy(target: LocalTarget) -> None:
    _record(target).unlink(missing_ok=True)


def _record(target: LocalTarget) -> Path:
    return target.workspace.log_dir / "deployed.json"


def _last_deploy(target: LocalTarget) -> dict[str, Any]:
    remembered = _record(target)
    return json.loads(remembered.read_text()) if remembered.exists() else {}
