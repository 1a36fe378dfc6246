"""A local server of ours running in the background (the gateway, the storefront): start it,
recognize it, stop it.

The state directory holds <name>-<port>.json ({"pid", "start_ticks"}) and <name>-<port>.log.
Each server answers GET /_localaws/health with {"service", "pid"}: only the process we started
is trusted (sent anything secret), never whatever else answers on its port; and only the
process recorded in the state file, if /proc still shows that very process (`processes`), is
ever stopped.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

from localaws.emulator import PROJECT_ROOT, health, pid_alive, port_in_use, wait_until
from localaws.processes import Identity, listening_pids, signal_if_same

START_TIMEOUT_SECONDS = 30


class ServerProcessError(RuntimeError):
    pass


class ServerProcess:
    """Subclasses (frozen dataclasses with `port` and `state_dir` fields) say what they run."""

    name: ClassVar[str]  # in file names: <name>-<port>.json
    service: ClassVar[str]  # what its identity route calls it
    description: ClassVar[str]  # in messages: "the local gateway"
    port_setting: ClassVar[str]  # the setting that chooses its port
    port: int
    state_dir: Path

    def arguments(self) -> list[str]:
        """The command line after `python -m localaws`."""
        raise NotImplementedError

    @property
    def state_file(self) -> Path:
        return self.state_dir / f"{self.name}-{self.port}.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}-{self.port}.log"

    def start(self) -> int:
        """Starts the server (replacing one we started before) and waits until the process
        answering on the port is the one just started; returns its pid."""
        self.stop()
        if port_in_use(self.port):
            raise ServerProcessError(
                f"port {self.port} is taken by another process, so {self.description} cannot listen on "
                f"127.0.0.1:{self.port}. Stop that process, or choose another port with {self.port_setting}."
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab", opener=_owner_only) as log:
            process = subprocess.Popen(
                [sys.executable, *self._command()],
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        started = Identity.of(process.pid)
        self.state_file.write_text(
            json.dumps({"pid": process.pid, "start_ticks": started.start_ticks if started else 0})
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerProcessError(
                    f"{self.description} exited with {process.returncode} instead of serving on port "
                    f"{self.port}: {self._last_log_line()}. Full log: {self.log_file}"
                )
            if self.is_ours(process.pid):
                return process.pid
            time.sleep(0.2)
        self.stop()
        raise ServerProcessError(
            f"{self.description} did not answer on port {self.port} within "
            f"{START_TIMEOUT_SECONDS} s; see {self.log_file}"
        )

    def is_ours(self, pid: int) -> bool:
        """True if the process answering on the port is our server with this pid: its identity
        route (/_localaws/health) says so. Anything else on the port is a stranger, and is sent
        nothing secret."""
        identity = health(f"http://127.0.0.1:{self.port}") or {}
        return identity.get("service") == self.service and identity.get("pid") == pid

    def require_ours(self, pid: int) -> None:
        """Before anything secret (the API key) is sent: the server started as `pid` still answers."""
        if not self.is_ours(pid):
            raise ServerProcessError(
                f"the process answering on port {self.port} is not {self.description} "
                f"started as pid {pid}; nothing was sent to it"
            )

    def stop(self) -> bool:
        """Stops the server we started on this port (and its children); waits until it is gone.
        A pid in the state file that is now another process (the pid was reused) is left alone."""
        if not self.state_file.exists():
            return False
        recorded = json.loads(self.state_file.read_text())
        self.state_file.unlink()
        identity = Identity.of(recorded["pid"])
        if not (identity and self._started_here(identity, recorded.get("start_ticks"))):
            return False
        # The server and its children (the gateway's warm workers): its process group.
        if not signal_if_same(identity, signal.SIGTERM, group=True):
            return False
        if not wait_until(lambda: not pid_alive(identity.pid)):
            signal_if_same(identity, signal.SIGKILL, group=True)
        return True

    def _started_here(self, identity: Identity, start_ticks: int | None) -> bool:
        """The process we started: its command line, and its start time as recorded (or, for a
        record without one, the socket listening on our port)."""
        if not identity.runs(*self._command()):
            return False
        return identity.start_ticks == start_ticks or identity.pid in listening_pids(self.port)

    def _command(self) -> tuple[str, ...]:
        return ("-m", "localaws", *self.arguments())

    def _last_log_line(self) -> str:
        lines = [line for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else "no output"


def deployment_options(emulator_endpoint: str, region: str, rest_api_name: str, stage: str) -> list[str]:
    """The command-line options with which a server finds the deployed stage it serves."""
    return ["--endpoint", emulator_endpoint, "--region", region, "--rest-api-name", rest_api_name, "--stage", stage]


def _owner_only(path: str, flags: int) -> int:
    """Opens a log readable by its owner alone, as everything under .local/ is."""
    return os.open(path, flags, 0o600)
