"""The local gateway running in the background for one deployment: start it, find it, stop it.

The state directory holds gateway-<port>.json ({"pid"}) and gateway-<port>.log.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from localaws.emulator import PROJECT_ROOT

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
        """Starts the gateway (replacing one we started before) and waits until it answers."""
        self.stop()
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
                raise GatewayError(f"the gateway exited with {process.returncode}; see {self.log_file}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)
            except urllib.error.HTTPError:
                return process.pid  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.2)
        process.kill()
        raise GatewayError(f"the gateway did not answer on port {self.port}; see {self.log_file}")

    def stop(self) -> bool:
        if not self.state_file.exists():
            return False
        pid = json.loads(self.state_file.read_text())["pid"]
        self.state_file.unlink()
        try:
            os.killpg(pid, signal.SIGTERM)  # the gateway and its warm workers
        except ProcessLookupError:
            return False
        return True
