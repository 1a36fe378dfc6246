"""`make up`, `make down` and `make plan` on the local target: the real stack, deployed by
Terraform into the emulator and served on localhost by the local gateway.

Every step says what it does and how long it took. An interrupted `make up` (Ctrl-C, kill)
stops Terraform safely; the next `make up` releases a lock left behind only when it can
prove its holder is gone (deploy/locks.py), replaces what was left half-created (tainted),
and carries on.
"""

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws import emulator
from localaws.gateway_process import GatewayProcess

from . import locks
from stacks.config import StackConfig

from .private_files import write_private
from .workspace import DeployError, Workspace

SMOKE_PRODUCT = "demo-product"


@contextmanager
def step(description: str) -> Iterator[None]:
    print(f"--> {description}", flush=True)
    started = time.monotonic()
    yield
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


@dataclass(frozen=True)
class Local:
    """The local target of one environment: its emulator, workspace and gateway."""

    workspace: Workspace

    @classmethod
    def load(cls, environ: dict[str, str] | None = None) -> "Local":
        return cls(Workspace.load(os.environ if environ is None else environ, target="local"))

    @property
    def config(self) -> StackConfig:
        return self.workspace.config

    @property
    def endpoint(self) -> str:
        return self.config.target.endpoint

    @property
    def state_dir(self) -> Path:
        return self.workspace.log_dir

    @property
    def gateway(self) -> GatewayProcess:
        return GatewayProcess(
            self.endpoint, self.config.target.region, self.config.api.name, self.config.api.stage_name,
            self.config.target.gateway_port, self.state_dir,
        )

    def client(self, service: str) -> Any:
        return emulator.client(service, self.endpoint, self.config.target.region)

    def outputs(self) -> dict[str, str]:
        return json.loads((self.state_dir / "outputs.json").read_text())


def start_emulator(local: Local) -> emulator.Emulator:
    with step(f"Starting the emulator (moto server) on 127.0.0.1:{local.config.target.emulator_port}"):
        running = emulator.start(local.config.target.emulator_port, emulator.DEFAULT_STATE_DIR)
        print(f"    {'reusing' if running.reused else 'started'} pid {running.pid}")
    with step(f"Checking the Terraform state bucket {local.config.backend.bucket}"):
        if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.config.target.region):
            print("    the emulator holds no state (new or restarted): deploying from scratch")
    return running


def release_stale_lock(local: Local) -> None:
    """A lock left by an interrupted run is released when its holder is provably gone."""
    s3 = local.client("s3")
    backend = local.workspace.backend
    lock = locks.read_lock(s3, backend)
    if lock is None:
        return
    reason = locks.stale_reason(lock, backend)
    if reason is None:
        holders = ", ".join(locks.holders(backend)) or f"a process on {lock.host}"
        raise DeployError(
            f"the Terraform state {backend.key} is locked by a run still in progress ({lock.describe()}; "
            f"held by {holders}). Wait for it to finish, or stop it, then run make up again."
        )
    locks.release(s3, backend, lock)
    print(f"    released a stale {lock.describe()}: {reason}")


def deploy(local: Local) -> dict[str, str]:
    """Synthesizes and applies the stack; returns its outputs."""
    workspace = local.workspace
    with step(f"Synthesizing {local.config.stack_name}"):
        workspace.synthesize()
    with step("Preparing Terraform (init when needed, stale lock check)"):
        workspace.initialize()
        release_stale_lock(local)
    with step(f"Applying {local.config.stack_name} (terraform apply)"):
        stack = workspace.terraform(workspace.redaction())
        output = stack.run("apply", "-auto-approve", *_NON_INTERACTIVE, log_name="apply", echo=_progress)
        summary = [line for line in output.splitlines() if line.startswith(("Apply complete", "No changes"))]
        print(f"    {summary[-1] if summary else 'applied'}")
        outputs = {name: o["value"] for name, o in json.loads(stack.run("output", "-json")).items()}
        write_private(local.state_dir / "outputs.json", json.dumps(outputs, indent=1))
    return outputs


_NON_INTERACTIVE = ("-input=false", "-no-color")


_PROGRESS = re.compile(r"^\S+: (Creating|Modifying|Destroying|Creation|Modifications|Destruction)|^(│ )?Error")


def _progress(line: str) -> None:
    """Terraform's per-resource progress lines and errors, indented under the step."""
    if _PROGRESS.match(line):
        print(f"    {line.strip()}", flush=True)


def api_key_value(local: Local) -> str:
    return local.client("apigateway").get_api_key(apiKey=local.outputs()["api_key_id"], includeValue=True)["value"]


def request(method: str, url: str, body: dict[str, object] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def up(local: Local) -> None:
    start_emulator(local)
    deploy(local)
    with step(f"Starting the local API gateway on 127.0.0.1:{local.config.target.gateway_port}"):
        gateway_pid = local.gateway.start()
    url = local.gateway.url
    with step("Smoke test: POST a review, then list the product's reviews"):
        local.gateway.require_ours(gateway_pid)  # the key goes only to the gateway make up started
        reviewer = f"smoke-{int(time.time())}"
        status, body = request("POST", f"{url}/reviews", {
            "product_id": SMOKE_PRODUCT, "reviewer_id": reviewer, "rating": 5, "title": "Works locally",
        }, {"x-api-key": api_key_value(local)})
        print(f"    POST /reviews -> {status} {body}")
        status, body = request("GET", f"{url}/reviews?product_id={SMOKE_PRODUCT}&limit=2")
        print(f"    GET /reviews?product_id={SMOKE_PRODUCT}&limit=2 -> {status} {body}")
    print(f"""
The Product Reviews API is up (deployed to the emulator at {local.endpoint}).
  API URL:  {url}
  API key:  `make api-key` prints it (it is never written to a file or log)

Try it:
  curl -s -X POST {url}/reviews -H "x-api-key: $(make -s api-key)" -H 'Content-Type: application/json' \\
       -d '{{"product_id": "p-1", "reviewer_id": "r-1", "rating": 4, "comment": "Sturdy"}}'
  curl -s '{url}/reviews?product_id=p-1'
  curl -s '{url}/reviews?reviewer_id=r-1'
  curl -s '{url}/products/p-1/rating'

Logs: {local.state_dir}/ (apply, gateway). Everything stays up until `make down`.""")


def down(local: Local) -> None:
    with step("Stopping the local API gateway"):
        print("    stopped" if local.gateway.stop() else "    none running")
    if emulator.status(local.config.target.emulator_port):
        with step(f"Destroying {local.config.stack_name} (terraform destroy)"):
            if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.config.target.region):
                print("    no state on the emulator: nothing to destroy")
            else:
                workspace = local.workspace
                workspace.synthesize()
                workspace.initialize()
                release_stale_lock(local)
                stack = workspace.terraform(workspace.redaction())
                output = stack.run("destroy", "-auto-approve", *_NON_INTERACTIVE, log_name="destroy", echo=_progress)
                summary = [line for line in output.splitlines() if line.startswith(("Destroy complete", "No changes"))]
                print(f"    {summary[-1] if summary else 'destroyed'}")
    with step(f"Stopping the emulator on port {local.config.target.emulator_port}"):
        stopped = emulator.stop(local.config.target.emulator_port, emulator.DEFAULT_STATE_DIR)
        print("    stopped" if stopped else "    none running")
