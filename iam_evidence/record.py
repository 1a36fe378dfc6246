"""`python -m iam_evidence record` (make iam-evidence): the app stack's whole lifecycle as CI
runs it, on an emulator of its own, with every AWS call recorded.

Each step is the command CI runs, in a copy of the project (so that the change step can edit
the handler), labelled with the role that runs it on AWS:

    plan role    plan of an empty environment (a first pull request) and its sealing with the
                 plan key, plan after the apply (nothing to change), the drift check, plan of a
                 change and its sealing
    deploy role  apply of the first sealed plan, apply of the change, destroy

First, unrecorded, `python -m deploy bootstrap` creates what an administrator creates once (the
plan key the sealed plans need).

Plans and drift checks run with --no-lock, as CI's read-only plan role does. The change
touches every kind of update the stack has: the handler's code, its memory, its CORS origins
(a new API definition and deployment), throttling, log retention, capacity limits, the
scaling target and the alarm e-mail (whose first address the recipient confirmed after the first
apply, so that the change's apply unsubscribes it).
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import make_up
from deploy.alarm_email import topic_arn
from deploy.emulator_lifecycle import start_emulator, stop_emulator
from deploy.local_target import LocalTarget
from deploy.project_copy import copy_project
from deploy.workspace import is_setting
from localaws import emulator

from .roles import ENVIRONMENT, SETTINGS

CHANGED = {
    "REVIEWS_LAMBDA_MEMORY_MB": "512",
    "REVIEWS_CORS_ORIGINS": "https://changed.example.com",
    "REVIEWS_THROTTLE_RATE": "12",
    "REVIEWS_LOG_RETENTION_DAYS": "14",
    "REVIEWS_MAX_CAPACITY": "30",
    "REVIEWS_TARGET_UTILIZATION": "60",
    "REVIEWS_ALARM_EMAIL": "oncall@example.com",
}
HANDLER_CHANGE = ("handlers/reviews/app.py", "\n# changed by python -m iam_evidence record\n")
COMMAND_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Step:
    name: str
    role: str  # plan | deploy
    arguments: tuple[str, ...]  # after `python -m deploy`; {out} is the step's output folder
    changed: bool = False  # with CHANGED settings and the handler change
    expect: str = ""  # printed by a step that did what it should
    # Before the step, unrecorded, the alarm e-mail's recipient follows SNS's confirmation link:
    # only a confirmed subscription of an address no longer configured is unsubscribed.
    recipient_confirms: bool = False


BOOTSTRAP = Step("bootstrap", "administrator", ("bootstrap",))
LIFECYCLE = (
    Step("plan", "plan", ("plan", "--no-lock", "--out", "{out}/plan")),
    Step("seal", "plan", ("seal", "--plan", "{out}/plan/plan.bin")),
    Step("apply", "deploy", ("apply", "--plan", "{out}/plan/plan.sealed"), expect="Apply complete!"),
    Step("plan-after-apply", "plan", ("plan", "--no-lock", "--out", "{out}/replan"), recipient_confirms=True),
    Step("drift", "plan", ("drift", "--no-lock", "--out", "{out}/drift"), expect="No drift"),
    Step("plan-change", "plan", ("plan", "--no-lock", "--out", "{out}/change"), changed=True),
    Step("seal-change", "plan", ("seal", "--plan", "{out}/change/plan.bin"), changed=True),
    Step(
        "apply-change",
        "deploy",
        ("apply", "--plan", "{out}/change/plan.sealed"),
        changed=True,
        expect="Apply complete!",
    ),
    Step("destroy", "deploy", (), changed=True),  # terraform destroy, as make down runs it
)


@dataclass
class Recording:
    """The recorded calls, and what each step synthesized (cdk.tf.json of each configuration)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    configurations: list[dict[str, Any]] = field(default_factory=list)


def record(echo=print) -> Recording:
    """Runs LIFECYCLE on a fresh emulator in a copy of the project; returns what it recorded."""
    with tempfile.TemporaryDirectory(prefix="iam-evidence-") as scratch:
        project = copy_project(Path(scratch))
        settings = {**SETTINGS, "ENVIRONMENT_SUFFIX": ENVIRONMENT, "REVIEWS_EMULATOR_PORT": str(emulator.free_port())}
        target = LocalTarget.load({**settings, "REVIEWS_TARGET": "local"}, project_dir=project)
        running = start_emulator(target)  # with the state bucket and its key, as deploys start it
        try:
            _run(BOOTSTRAP, project, settings, Path(scratch) / "build")  # before any recording starts
            recording = Recording()
            for step in LIFECYCLE:
                echo(f"--> {step.name} ({step.role} role)")
                _label(running.endpoint, {"role": step.role, "step": step.name})
                run_settings = {**settings, **(CHANGED if step.changed else {})}
                if step.changed:
                    _change_handler(project)
                if step.recipient_confirms:
                    _confirm_alarm_email(target)
                _run(step, project, run_settings, Path(scratch) / "build")
                recording.configurations.append(_configuration(target))
            recording.calls = _label(running.endpoint, None)
            return recording
        finally:
            stop_emulator(target)


def _run(step: Step, project: Path, settings: Mapping[str, str], out: Path) -> None:
    if not step.arguments:
        make_up.destroy(LocalTarget.load({**settings, "REVIEWS_TARGET": "local"}, project_dir=project))
        return
    arguments = [argument.replace("{out}", str(out)) for argument in step.arguments]
    environ = {
        **{name: value for name, value in os.environ.items() if not (is_setting(name) or name.startswith("AWS_"))},
        **settings,
    }
    command = [sys.executable, "-m", "deploy", *arguments, "--environment", ENVIRONMENT, "--target", "local"]
    done = subprocess.run(
        command, cwd=project, env=environ, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0 or step.expect not in done.stdout + done.stderr:
        raise RuntimeError(f"{step.name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def _change_handler(project: Path) -> None:
    path, addition = HANDLER_CHANGE
    handler = project / path
    if addition not in handler.read_text():
        handler.write_text(handler.read_text() + addition)


def _confirm_alarm_email(target: LocalTarget) -> None:
    config = target.config
    address = config.monitoring.alarm_email or ""
    if not emulator.confirm_subscription(target.endpoint, config.target.region, topic_arn(config), address):
        raise RuntimeError(f"no pending subscription of {address!r} to confirm")


def _configuration(target: LocalTarget) -> dict[str, Any]:
    return json.loads((target.workspace.stack_dir / "cdk.tf.json").read_text())


def _label(endpoint: str, label: dict[str, str] | None) -> list[dict[str, Any]]:
    """Labels the calls from now on; None stops the recording. Returns the calls recorded so far."""
    url = f"{endpoint}/_localaws/recording"
    if label:
        urllib.request.urlopen(urllib.request.Request(url, json.dumps(label).encode(), method="PUT")).close()
        return []
    with urllib.request.urlopen(url) as reply:
        calls: list[dict[str, Any]] = json.load(reply)
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE")).close()
    return calls
