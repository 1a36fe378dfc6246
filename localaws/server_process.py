"""A local server of ours running in the background (the gateway, the storefront): start it,
recognize it, stop it.

The state directory holds <name>-<port>.json ({"pid"}) and <name>-<port>.log. Each server
answers GET /_localaws/health with {"service", "pid"}: only the process we started is trusted
(sent anything secret, stopped), never whatever else answers on its port.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

from localaws.emulator import PROJECT_ROOT, health, pid_alive, port_in_use, wait_until

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
                [sys.executable, "-m", "localaws", *self.arguments()],
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.state_file.write_text(json.dumps({"pid": process.pid}))
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
        """Stops the server we started on this port (and its children); waits until it is gone."""
        if not self.state_file.exists():
            return False
        pid = json.loads(self.state_file.read_text())["pid"]
        self.state_file.unlink()
        try:
            os.killpg(pid, signal.SIGTERM)  # the server and its children (the gateway's warm workers)
        except ProcessLookupError:
            return False
        if not wait_until(lambda: not pid_alive(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return True

    def _last_log_line(self) -> str:
        lines = [line for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else "no output"


def deployment_options(emulator_endpoint: str, region: str, rest_api_name: str, stage: str) -> list[str]:
    """The command-line options with which a server finds the deployed stage it serves."""
    return ["--endpoint", emulator_endpoint, "--region", region, "--rest-api-name", rest_api_name, "--stage", stage]


def _owner_only(path: str, flags: int) -> int:
    """Opens a log readable by its owner alone, as everything under .local/ is."""
    return os.open(path, flags, 0o600)
