"""The local gateway running in the background for one deployment: start it, find it, stop it.

The state directory holds gateway-<port>.json ({"pid"}) and gateway-<port>.log.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from localaws.emulator import PROJECT_ROOT, health, pid_alive, port_in_use, wait_until

START_TIMEOUT_SECONDS = 30


class GatewayError(RuntimeError):
    pass


@dataclass(frozen=True)
class GatewayProcess:
    emulator_endpoint: str
    region: str
    rest_api_name: str
    stage: str
    port: int
    state_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    @property
    def state_file(self) -> Path:
        return self.state_dir / f"gateway-{self.port}.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"gateway-{self.port}.log"

    def start(self) -> int:
        """Starts the gateway (replacing one we started before) and waits until the process
        answering on the port is the one just started; returns its pid."""
        self.stop()
        if port_in_use(self.port):
            raise GatewayError(
                f"port {self.port} is taken by another process, so the local gateway cannot listen on "
                f"127.0.0.1:{self.port}. Stop that process, or choose another port with REVIEWS_GATEWAY_PORT."
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "localaws", "gateway",
                 "--endpoint", self.emulator_endpoint, "--region", self.region,
                 "--rest-api-name", self.rest_api_name, "--stage", self.stage, "--port", str(self.port)],
                cwd=PROJECT_ROOT, stdout=log, stderr=log, start_new_session=True,
            )
        self.state_file.write_text(json.dumps({"pid": process.pid}))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise GatewayError(f"the local gateway exited with {process.returncode} instead of serving on "
                                   f"port {self.port}: {self._last_log_line()}. Full log: {self.log_file}")
            if self.is_ours(process.pid):
                return process.pid
            time.sleep(0.2)
        self.stop()
        raise GatewayError(f"the local gateway did not answer on port {self.port} within "
                           f"{START_TIMEOUT_SECONDS} s; see {self.log_file}")

    def is_ours(self, pid: int) -> bool:
        """True if the process answering on the port is the gateway with this pid: its identity
        route (/_localaws/health) says so. Anything else on the port is a stranger, and is sent
        nothing secret."""
        identity = health(f"http://127.0.0.1:{self.port}") or {}
        return identity.get("service") == "localaws-gateway" and identity.get("pid") == pid

    def require_ours(self, pid: int) -> None:
        """Before anything secret (the API key) is sent: the gateway started as `pid` still answers."""
        if not self.is_ours(pid):
            raise GatewayError(f"the process answering on port {self.port} is not the local gateway "
                               f"started as pid {pid}; nothing was sent to it")

    def stop(self) -> bool:
        """Stops the gateway we started on this port (and its warm workers); waits until it is gone."""
        if not self.state_file.exists():
            return False
        pid = json.loads(self.state_file.read_text())["pid"]
        self.state_file.unlink()
        try:
            os.killpg(pid, signal.SIGTERM)  # the gateway and its warm workers
        except ProcessLookupError:
            return False
        if not wait_until(lambda: not pid_alive(pid)):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return True

    def _last_log_line(self) -> str:
        lines = [line for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip() if lines else "no output"
