"""`make up` / `make down`: the real stack, deployed by `cdktf deploy` into the emulator and
served on localhost by the local gateway. Every step says what it does and how long it took.

Settings (environment variables): REVIEWS_EMULATOR_PORT (default 4566), REVIEWS_GATEWAY_PORT
(default 8080), plus the stack's own settings (ENVIRONMENT_SUFFIX, REVIEWS_REGION, ...; see
stacks/config.py). The target is always the local emulator here.
"""

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localaws import emulator
from localaws.gateway_process import GatewayProcess
from stacks.config import StackConfig, load_config


class DeployError(RuntimeError):
    """A cdktf/Terraform run failed; the message says why and what to do."""


def is_setting(name: str) -> bool:
    """Variables that decide what is deployed where: the stack's settings and AWS's own."""
    return name.startswith(("REVIEWS_", "AWS_")) or name == "ENVIRONMENT_SUFFIX"


@dataclass(frozen=True)
class LocalDeployment:
    """Where everything of one local deployment lives."""

    project_dir: Path
    state_dir: Path
    emulator_port: int
    gateway_port: int
    settings: dict  # the stack settings (REVIEWS_*, ENVIRONMENT_SUFFIX) cdktf synthesizes with
    config: StackConfig

    @classmethod
    def from_environment(cls, project_dir: Path = emulator.PROJECT_ROOT, state_dir: Path | None = None,
                         environ: dict | None = None) -> "LocalDeployment":
        environ = os.environ if environ is None else environ
        settings = {
            name: value for name, value in environ.items()
            if is_setting(name) and not name.startswith("AWS_")
        }
        settings["REVIEWS_TARGET"] = "local"
        config = load_config({}, settings)
        return cls(
            project_dir=project_dir,
            state_dir=state_dir or project_dir / ".local",
            emulator_port=config.target.emulator_port,
            gateway_port=config.target.gateway_port,
            settings=settings,
            config=config,
        )

    @property
    def endpoint(self) -> str:
        return emulator.endpoint_for(self.emulator_port)

    @property
    def region(self) -> str:
        return self.config.target.region

    @property
    def stack_dir(self) -> Path:
        return self.project_dir / "cdktf.out" / "stacks" / self.config.stack_name

    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def gateway(self) -> GatewayProcess:
        return GatewayProcess(self.endpoint, self.region, self.config.api.name, self.config.api.stage_name,
                              self.gateway_port, self.state_dir)

    def outputs(self) -> dict:
        """The stack outputs of the last deploy (api_key_id, api_url, table_name, ...)."""
        return json.loads((self.state_dir / "outputs.json").read_text())[self.config.stack_name]

    def cdktf_environment(self) -> dict:
        # No AWS_* variable of the caller's (profile, keys, endpoint URLs) reaches a local
        # deploy: the stack's emulator settings alone decide where Terraform goes.
        return {
            **{name: value for name, value in os.environ.items() if not is_setting(name)},
            **self.settings,
            "CI": "1",  # plain, non-interactive cdktf output
        }


@contextmanager
def step(description: str):
    print(f"--> {description}", flush=True)
    started = time.monotonic()
    yield
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def run_cdktf(local: LocalDeployment, command: str) -> str:
    """Runs `cdktf deploy|destroy` from the pinned cdktf-cli; returns its output, or raises
    DeployError naming the cause (a held state lock gets its own explanation)."""
    log_file = local.state_dir / f"{command}.log"
    local.state_dir.mkdir(parents=True, exist_ok=True)
    # --skip-provider-lock: cdktf would otherwise ask the registry for every platform's
    # checksums, which fails offline; `terraform init` still writes the lock file.
    args = ["npx", "--no-install", "cdktf", command, "--auto-approve", "--skip-provider-lock"]
    if command == "deploy":
        args += ["--outputs-file", str(local.state_dir / "outputs.json")]
    # Terraform caches the backend settings in .terraform/ and refuses a changed endpoint
    # (another emulator port) without -reconfigure, which cdktf cannot pass. The state lives
    # in the emulator, so forgetting the cached settings is that -reconfigure.
    (local.stack_dir / ".terraform" / "terraform.tfstate").unlink(missing_ok=True)
    result = subprocess.run(
        args, cwd=local.project_dir, env=local.cdktf_environment(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", result.stdout)
    log_file.write_text(output)
    if result.returncode == 0:
        return output
    if "Error acquiring the state lock" in output:
        lock = dict(re.findall(r"^\W*(ID|Who|Created):\s+(\S.*?)\s*$", output, re.MULTILINE))
        raise DeployError(
            f"the Terraform state {local.config.backend.key} is locked by another run "
            f"(lock {lock.get('ID', 'unknown')}, held by {lock.get('Who', 'unknown')} since "
            f"{lock.get('Created', 'unknown')}). Wait for it to finish; if no other run is active, "
            f"release it with `terraform force-unlock <lock id>` in {local.stack_dir}. "
            f"Full log: {log_file}"
        )
    errors = [line.strip() for line in output.splitlines() if "Error" in line][:5]
    raise DeployError(f"cdktf {command} failed: {' | '.join(errors) or 'see log'}. Full log: {log_file}")


def deploy(local: LocalDeployment) -> dict:
    """Deploys the stack to the emulator (creating the state bucket if it is gone)."""
    with step(f"Checking the Terraform state bucket {local.config.backend.bucket}"):
        if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.region):
            print("    the emulator holds no state (new or restarted): deploying from scratch")
    with step(f"Deploying {local.config.stack_name} with cdktf deploy (synth, init, apply)"):
        output = run_cdktf(local, "deploy")
        summary = re.search(r"Apply complete!.*", output)
        print(f"    {summary.group(0) if summary else 'no changes'}")
    return local.outputs()


def api_key_value(local: LocalDeployment, key_id: str) -> str:
    apigateway = emulator.client("apigateway", local.endpoint, local.region)
    return apigateway.get_api_key(apiKey=key_id, includeValue=True)["value"]


def request(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextmanager
def serving(local: LocalDeployment):
    """Emulator, deployment and gateway for as long as the block runs (tests, benchmarks);
    stops the gateway and the emulator afterwards, which discards the deployment."""
    emulator.start(local.emulator_port, local.state_dir)
    try:
        deploy(local)
        local.gateway.start()
        yield local
    finally:
        local.gateway.stop()
        emulator.stop(local.emulator_port, local.state_dir)


def up(local: LocalDeployment) -> None:
    with step(f"Starting the emulator (moto server) on 127.0.0.1:{local.emulator_port}"):
        running = emulator.start(local.emulator_port, local.state_dir)
        print(f"    {'reusing' if running.reused else 'started'} pid {running.pid}")
    outputs = deploy(local)
    with step(f"Starting the local API gateway on 127.0.0.1:{local.gateway_port}"):
        gateway_pid = local.gateway.start()
    key = api_key_value(local, outputs["api_key_id"])
    url = local.api_url
    with step("Smoke test: POST a review, then list the product's reviews"):
        local.gateway.require_ours(gateway_pid)  # the key goes only to the gateway we started
        reviewer = f"smoke-{int(time.time())}"
        status, body = request("POST", f"{url}/reviews", {
            "product_id": "demo-product", "reviewer_id": reviewer, "rating": 5, "title": "Works locally",
        }, {"x-api-key": key})
        print(f"    POST /reviews -> {status} {body}")
        status, body = request("GET", f"{url}/reviews?product_id=demo-product&limit=2")
        print(f"    GET /reviews?product_id=demo-product&limit=2 -> {status} {body}")
    print(f"""
The Product Reviews API is up (deployed to the emulator at {local.endpoint}).
  API URL:  {url}
  API key:  {key}

Try it:
  curl -s -X POST {url}/reviews -H 'x-api-key: {key}' -H 'Content-Type: application/json' \\
       -d '{{"product_id": "p-1", "reviewer_id": "r-1", "rating": 4, "comment": "Sturdy"}}'
  curl -s '{url}/reviews?product_id=p-1'
  curl -s '{url}/reviews?reviewer_id=r-1'
  curl -s '{url}/products/p-1/rating'

Gateway log: {local.state_dir}/gateway-{local.gateway_port}.log
Everything stays up until `make down`.""")


def down(local: LocalDeployment) -> None:
    with step("Stopping the local API gateway"):
        print("    stopped" if local.gateway.stop() else "    none running")
    if emulator.status(local.emulator_port):
        with step(f"Destroying {local.config.stack_name} with cdktf destroy"):
            if emulator.ensure_state_bucket(local.endpoint, local.config.backend.bucket, local.region):
                print("    no state on the emulator: nothing to destroy")
            else:
                summary = re.search(r"Destroy complete!.*", run_cdktf(local, "destroy"))
                print(f"    {summary.group(0) if summary else 'nothing to destroy'}")
    with step(f"Stopping the emulator on port {local.emulator_port}"):
        print("    stopped" if emulator.stop(local.emulator_port, local.state_dir) else "    none running")
