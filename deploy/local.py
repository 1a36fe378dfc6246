"""`make up` and `make down` on the local target: the real stack, deployed by
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
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.reviews import contract
from localaws import emulator
from localaws.gateway_process import GatewayProcess
from localaws.storefront import StorefrontProcess
from stacks.config import StackConfig

from . import locks
from .failures import explain
from .private_files import write_private
from .project_env import PROJECT_ROOT
from .reviewers import (
    DEMO_REVIEWERS,
    SMOKE_REVIEWER,
    ensure_demo_reviewers,
    ensure_reviewers,
    id_token,
    set_password,
    sign_in_instructions,
)
from .secrets import redact_text, secrets_in_state
from .terraform import TerraformFailed
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
    def load(cls, settings: Mapping[str, str] | None = None, project_dir: Path = PROJECT_ROOT) -> "Local":
        """This process's environment, with `settings` (REVIEWS_* ...) on top."""
        return cls(Workspace.load({**os.environ, **(settings or {})}, target="local", project_dir=project_dir))

    @property
    def config(self) -> StackConfig:
        return self.workspace.config

    @property
    def endpoint(self) -> str:
        return self.config.target.endpoint

    @property
    def state_dir(self) -> Path:
        """Where the emulator and gateway of this project keep their pid files and logs."""
        return self.workspace.project_dir / ".local"

    @property
    def gateway(self) -> GatewayProcess:
        return GatewayProcess(
            self.endpoint,
            self.config.target.region,
            self.config.api.name,
            self.config.api.stage_name,
            self.config.target.gateway_port,
            self.state_dir,
        )

    @property
    def storefront(self) -> StorefrontProcess:
        """The storefront demo page (localaws/storefront.py), calling the API from another origin."""
        return StorefrontProcess(
            self.endpoint,
            self.config.target.region,
            self.config.api.name,
            self.config.api.stage_name,
            self.gateway.url,
            self.config.target.storefront_port,
            self.state_dir,
        )

    def state(self) -> dict[str, Any]:
        """The Terraform state, read straight from the emulator's S3 ({} before the first deploy)."""
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=self.config.backend.bucket, Key=self.config.backend.key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return {}
        return json.loads(body)

    def client(self, service: str) -> Any:
        return self.workspace.client(service)

    def outputs(self) -> dict[str, str]:
        return json.loads((self.workspace.log_dir / "outputs.json").read_text())


def start_emulator(local: Local) -> emulator.Emulator:
    with step(f"Starting the emulator (moto server) on 127.0.0.1:{local.config.target.emulator_port}"):
        running = emulator.start(local.config.target.emulator_port, local.state_dir)
        print(f"    {'reusing' if running.reused else 'started'} pid {running.pid}")
    with step(f"Checking the Terraform state bucket {local.config.backend.bucket}"):
        if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.config.target.region):
            print("    the emulator holds no state (new or restarted): nothing is deployed there yet")
    return running


@contextmanager
def emulator_running(local: Local) -> Iterator[emulator.Emulator]:
    """The emulator, started as `make up` starts it, for the duration of a plan or apply;
    stopped afterwards only if it was started here (`make up`'s keeps running)."""
    running = start_emulator(local)
    try:
        yield running
    finally:
        if not running.reused:
            with step(f"Stopping the emulator started for this run (port {running.port})"):
                emulator.stop(running.port, local.state_dir)


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
        unlock = locks.force_unlock_command(local.workspace.stack_dir, lock.id)
        raise DeployError(
            f"the Terraform state {backend.key} is locked by a run that may still be going ({lock.describe()}; "
            f"held by {holders}). Wait for it to finish, or stop it, then run make up again. If it is "
            f"certainly gone, release the lock with:\n  {unlock}"
        )
    locks.release(s3, backend, lock)
    print(f"    released a stale {lock.describe()}: {reason}")


def deploy(local: Local) -> dict[str, str]:
    """Starts the emulator unless it runs, synthesizing meanwhile, and applies the stack;
    returns its outputs."""
    workspace = local.workspace
    with ThreadPoolExecutor(max_workers=1) as background:
        synthesized = background.submit(workspace.synthesize)
        start_emulator(local)
        with step(f"Synthesizing {local.config.stack_name} (started alongside the emulator)"):
            synthesized.result()
    with step("Preparing Terraform (init when needed, stale lock check)"):
        workspace.initialize()
        release_stale_lock(local)
        state = local.state()
        refresh = refresh_needed(local, state)
    if not refresh and unchanged_since_last_deploy(local):
        print("--> Nothing to apply: this exact configuration is what the last deploy applied")
        return local.outputs()
    with step(f"Applying {local.config.stack_name} (terraform apply)"):
        secrets = secrets_in_state(state)
        options = () if refresh else ("-refresh=false",)
        try:
            with workspace.terraform_session(lambda text: redact_text(text, secrets)) as stack:
                output = stack.run(
                    "apply", "-auto-approve", *options, *_NON_INTERACTIVE, log_name="apply", echo=_progress
                )
        except TerraformFailed as failure:
            raise DeployError(explain(failure, workspace)) from None
        summary = [line for line in output.splitlines() if line.startswith(("Apply complete", "No changes"))]
        print(f"    {summary[-1] if summary else 'applied'}")
    state = local.state()
    remember_deploy(local, state)
    outputs = {name: output["value"] for name, output in state.get("outputs", {}).items()}
    write_private(local.workspace.log_dir / "outputs.json", json.dumps(outputs, indent=1))
    return outputs


def refresh_needed(local: Local, state: dict[str, Any]) -> bool:
    """Whether Terraform must refresh `state`; says so when ours_alone proves it need not."""
    if ours_alone(local, state):
        print("    nothing but our own deploys touched this state and emulator: skipping the refresh")
        return False
    return True


def ours_alone(local: Local, state: dict[str, Any]) -> bool:
    """True when the state is the one our last deploy wrote, in the emulator it wrote it to:
    then nothing else changed the deployment, and Terraform's refresh can be skipped."""
    last = _last_deploy(local)
    running = emulator.status(local.config.target.emulator_port)
    if not (last and running and state):
        return False
    return (last["emulator_pid"], last["lineage"], last["serial"]) == (running.pid, state["lineage"], state["serial"])


def unchanged_since_last_deploy(local: Local) -> bool:
    last = _last_deploy(local)
    return bool(last) and last["configuration"] == local.workspace.configuration_sha256()


def remember_deploy(local: Local, state: dict[str, Any]) -> None:
    running = emulator.status(local.config.target.emulator_port)
    if running and state:
        write_private(
            local.workspace.log_dir / "deployed.json",
            json.dumps(
                {
                    "emulator_pid": running.pid,
                    "lineage": state["lineage"],
                    "serial": state["serial"],
                    "configuration": local.workspace.configuration_sha256(),
                }
            ),
        )


def _last_deploy(local: Local) -> dict[str, Any]:
    remembered = local.workspace.log_dir / "deployed.json"
    return json.loads(remembered.read_text()) if remembered.exists() else {}


_NON_INTERACTIVE = ("-input=false", "-no-color")


_PROGRESS = re.compile(r"^\S+: (Creating|Modifying|Destroying|Creation|Modifications|Destruction)|^(│ )?Error")


def _progress(line: str) -> None:
    """Terraform's per-resource progress lines and errors, indented under the step."""
    if _PROGRESS.match(line):
        print(f"    {line.strip()}", flush=True)


def api_key_value(local: Local) -> str:
    return local.client("apigateway").get_api_key(apiKey=local.outputs()["api_key_id"], includeValue=True)["value"]


def create_demo_reviewers(local: Local, outputs: dict[str, str]) -> None:
    with step("Demo reviewers in the user pool (make reviewers says how to sign in)"):
        created = ensure_demo_reviewers(local.client("cognito-idp"), outputs["user_pool_id"])
        print(f"    created {', '.join(r.email for r in created)}" if created else "    already there")


def reviewer_passwords(local: Local) -> dict[str, str]:
    """A fresh password for each demo reviewer (created first if missing), by e-mail."""
    cognito, pool_id = local.client("cognito-idp"), local.outputs()["user_pool_id"]
    ensure_demo_reviewers(cognito, pool_id)
    return {reviewer.email: set_password(cognito, pool_id, reviewer) for reviewer in DEMO_REVIEWERS}


def reviewers_text(local: Local) -> str:
    """What `make reviewers` prints: new passwords, and how to sign in with them."""
    passwords = reviewer_passwords(local)
    return sign_in_instructions(local.endpoint, local.outputs()["user_pool_client_id"], local.gateway.url, passwords)


def request(
    method: str, url: str, body: dict[str, object] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def up(local: Local) -> None:
    outputs = deploy(local)
    create_demo_reviewers(local, outputs)
    with step(f"Starting the local API gateway on 127.0.0.1:{local.config.target.gateway_port}"):
        gateway_pid = local.gateway.start()
    url = local.gateway.url
    smoke_test(local, gateway_pid)
    storefront = start_storefront(local)
    print(f"""
The Product Reviews API is up (deployed to the emulator at {local.endpoint}).
  API URL:  {url}
  API key:  `make api-key` prints it (it is never written to a file or log)
  Reviewers:  `make reviewers` sets new passwords for the demo reviewers and prints them, with
              curl lines that sign in and post a review (no password is written to a file or log)
  Storefront demo:  {storefront}  (sign in, post, edit and delete reviews: docs/storefront.md)

Try it:
  curl -s '{url}/reviews?product_id={SMOKE_PRODUCT}'
  curl -s '{url}/products/{SMOKE_PRODUCT}/rating'

Logs: {local.state_dir}/ (apply, gateway, storefront). Everything stays up until `make down`.""")


def smoke_test(local: Local, gateway_pid: int) -> None:
    """A reviewer of its own signs in and posts a review (on later runs: 409, theirs is there),
    then the product's reviews are listed."""
    with step("Smoke test: a reviewer signs in and posts a review, then the product's reviews are listed"):
        local.gateway.require_ours(gateway_pid)  # the key and the token go only to the gateway make up started
        cognito, outputs = local.client("cognito-idp"), local.outputs()
        ensure_reviewers(cognito, outputs["user_pool_id"], (SMOKE_REVIEWER,))
        password = set_password(cognito, outputs["user_pool_id"], SMOKE_REVIEWER)
        headers = {
            contract.API_KEY_HEADER: api_key_value(local),
            contract.AUTHORIZATION_HEADER: id_token(cognito, outputs["user_pool_client_id"], SMOKE_REVIEWER, password),
        }
        review = {"product_id": SMOKE_PRODUCT, "rating": 5, "title": "Works locally"}
        status, body = request("POST", f"{local.gateway.url}/reviews", review, headers)
        print(f"    POST /reviews -> {status} {body}")
        status, body = request("GET", f"{local.gateway.url}/reviews?product_id={SMOKE_PRODUCT}&limit=2")
        print(f"    GET /reviews?product_id={SMOKE_PRODUCT}&limit=2 -> {status} {body}")


def start_storefront(local: Local) -> str:
    """Serves the storefront demo page; returns its URL."""
    origin = local.config.target.storefront_origin
    with step(f"Starting the storefront demo page on {origin}"):
        local.storefront.start()
        allowed = local.config.api.cors_origins
        if "*" not in allowed and origin not in allowed:
            print(
                f"    warning: {origin} is not in REVIEWS_CORS_ORIGINS ({', '.join(allowed)}): the browser "
                "will refuse the API's answers to the page; add it and run make up again"
            )
    return f"{origin}/?product={SMOKE_PRODUCT}"


def disposable_settings(environment: str) -> dict[str, str]:
    """Settings for a throwaway deployment (tests, benchmarks): its own environment name, and
    an emulator, gateway and storefront on ports nothing else uses, so that it never meets
    `make up`'s or another test's. Deletion protection is off, as the deployment is discarded."""
    return {
        "ENVIRONMENT_SUFFIX": environment,
        "REVIEWS_DELETION_PROTECTION": "false",  # on by default outside dev
        "REVIEWS_EMULATOR_PORT": str(emulator.free_port()),
        "REVIEWS_GATEWAY_PORT": str(emulator.free_port()),
        "REVIEWS_STOREFRONT_PORT": str(emulator.free_port()),
    }


@contextmanager
def serving(local: Local) -> Iterator[Local]:
    """Emulator, deployment, gateway and storefront for as long as the block runs (tests,
    benchmarks); stops them afterwards, which discards the deployment."""
    try:
        create_demo_reviewers(local, deploy(local))
        local.gateway.start()
        start_storefront(local)
        yield local
    finally:
        local.storefront.stop()
        local.gateway.stop()
        emulator.stop(local.config.target.emulator_port, local.state_dir)


def destroy(local: Local) -> None:
    """Destroys the deployment in a running emulator (nothing to do if it holds no state)."""
    with step(f"Destroying {local.config.stack_name} (terraform destroy)"):
        if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.config.target.region):
            print("    no state on the emulator: nothing to destroy")
            return
        workspace = local.workspace
        workspace.synthesize()
        workspace.initialize()
        release_stale_lock(local)
        secrets = secrets_in_state(local.state())
        try:
            with workspace.terraform_session(lambda text: redact_text(text, secrets)) as stack:
                output = stack.run("destroy", "-auto-approve", *_NON_INTERACTIVE, log_name="destroy", echo=_progress)
        except TerraformFailed as failure:
            raise DeployError(explain(failure, workspace)) from None
        summary = [line for line in output.splitlines() if line.startswith(("Destroy complete", "No changes"))]
        print(f"    {summary[-1] if summary else 'destroyed'}")
        (workspace.log_dir / "deployed.json").unlink(missing_ok=True)


def down(local: Local) -> None:
    with step("Stopping the storefront demo page"):
        print("    stopped" if local.storefront.stop() else "    none running")
    with step("Stopping the local API gateway"):
        print("    stopped" if local.gateway.stop() else "    none running")
    if emulator.status(local.config.target.emulator_port):
        destroy(local)
    with step(f"Stopping the emulator on port {local.config.target.emulator_port}"):
        stopped = emulator.stop(local.config.target.emulator_port, local.state_dir)
        print("    stopped" if stopped else "    none running")
