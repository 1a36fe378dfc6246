"""Running Terraform in a synthesized stack directory: one place for its environment, its log,
secret redaction, and what happens when the caller is interrupted.

Terraform runs in a session of its own, so a Ctrl-C or `kill` aimed at the caller never
reaches it directly. The caller's first SIGINT/SIGTERM is forwarded to Terraform as one
SIGINT, which Terraform treats as "stop safely": in-flight operations finish, the state is
written and the state lock released. The caller waits for that, then reports Interrupted.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .private_files import private_directory, write_private
from .secrets import redact_text, secrets_in_state

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TERRAFORMRC = PROJECT_ROOT / ".terraformrc"
# Without a tty Terraform would still wait for input on a prompt; every command says so.
NON_INTERACTIVE = ("-input=false", "-no-color")


class TerraformFailed(RuntimeError):
    def __init__(self, command: str, returncode: int, output: str):
        super().__init__(f"terraform {command} exited {returncode}")
        self.command = command
        self.returncode = returncode
        self.output = output


class Interrupted(RuntimeError):
    """The caller was interrupted; Terraform was stopped safely first."""


def no_redaction(text: str) -> str:
    return text


@dataclass
class Stack:
    """One synthesized stack directory and how to run Terraform in it."""

    directory: Path
    log_dir: Path
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    redact: Callable[[str], str] = no_redaction

    @property
    def name(self) -> str:
        return self.directory.name

    def env(self) -> dict[str, str]:
        return {
            **self.environ,
            "TF_CLI_CONFIG_FILE": str(TERRAFORMRC),
            "TF_IN_AUTOMATION": "1",  # no "run terraform apply next" hints meant for humans
            "CHECKPOINT_DISABLE": "1",
        }

    def run(
        self, *args: str, log_name: str | None = None, echo: Callable[[str], None] | None = None, check: bool = True
    ) -> str:
        """Runs `terraform <args>` here; returns its (redacted) output.

        Each line is passed to `echo` as it arrives; the whole output is written to
        log_dir/<log_name>.log (mode 0600) when a log name is given.
        """
        command = ["terraform", f"-chdir={self.directory}", *args]
        with _forwarding_interrupts() as interrupts:
            process = subprocess.Popen(
                command,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            interrupts.process = process
            if interrupts.received:  # interrupted while it was starting
                os.killpg(process.pid, signal.SIGINT)
            lines = []
            assert process.stdout is not None
            for line in process.stdout:
                line = self.redact(line)
                lines.append(line)
                if echo:
                    echo(line.rstrip("\n"))
            returncode = process.wait()
        output = "".join(lines)
        if log_name:
            write_private(private_directory(self.log_dir) / f"{log_name}.log", output)
        if interrupts.received:
            raise Interrupted(f"interrupted by {interrupts.received}; Terraform stopped safely (exit {returncode})")
        if check and returncode != 0:
            raise TerraformFailed(args[0], returncode, output)
        return output

    def state_secrets(self) -> set[str]:
        """The secret strings the current state holds (the API key, ...)."""
        pulled = self.run("state", "pull")
        return secrets_in_state(json.loads(pulled)) if pulled.strip() else set()

    def redacting(self, secrets: Iterable[str]) -> "Stack":
        """This stack with `secrets` redacted from everything Terraform prints from now on."""
        secrets = frozenset(secrets)
        return dataclasses.replace(self, redact=lambda text: redact_text(text, secrets))

    def plan_has_changes(
        self, *args: str, log_name: str | None = None, echo: Callable[[str], None] | None = None
    ) -> bool:
        """`terraform plan -detailed-exitcode <args>`: True when it plans changes. Terraform
        says so by exiting 2, which is no failure."""
        try:
            self.run("plan", "-detailed-exitcode", *args, log_name=log_name, echo=echo)
        except TerraformFailed as exited:
            if exited.returncode != 2:
                raise
            return True
        return False


@dataclass
class _Interrupts:
    process: subprocess.Popen[str] | None = None
    received: str = ""


@contextmanager
def _forwarding_interrupts() -> Iterator[_Interrupts]:
    """While Terraform runs, SIGINT/SIGTERM ask it to stop safely instead of killing us."""
    state = _Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield state  # signal handlers can only be installed on the main thread
        return

    def forward(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if state.received:
            print(f"\n{name} again: still waiting for Terraform to stop safely", file=sys.stderr, flush=True)
            return
        state.received = name
        print(
            f"\n{name}: asking Terraform to stop safely (finishing what it started, "
            "saving the state, releasing the lock) ...",
            file=sys.stderr,
            flush=True,
        )
        if state.process and state.process.poll() is None:
            os.killpg(state.process.pid, signal.SIGINT)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
