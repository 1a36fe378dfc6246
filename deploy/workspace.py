"""One environment on one target: its settings, its synthesized stack, and Terraform in it.

Every path that deploys (make up, make plan, the CI plan, apply and drift jobs) goes through
a Workspace, so they synthesize with the same settings and run Terraform the same way.
"""

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from localaws import emulator
from stacks.config import StackConfig, load_config
from stacks.provider_version import pin_of
from stacks.remembered_backend import initialized, remembered_backend
from stacks.settings import ENVIRONMENT_SUFFIX, TARGET

from . import locks, terraform
from .errors import DeployError
from .project_env import PROJECT_ROOT, tool_settings
from .provider_server import shared_provider
from .secrets import redact_text


def file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def is_setting(name: str) -> bool:
    """Variables that decide what is deployed: the stack's settings (stacks/settings.py)."""
    return name.startswith("REVIEWS_") or name == ENVIRONMENT_SUFFIX.name


@dataclass
class Workspace:
    config: StackConfig
    settings: dict[str, str]  # the stack settings synth runs with
    project_dir: Path
    environ: Mapping[str, str]

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        target: str | None = None,
        environment: str | None = None,
        project_dir: Path = PROJECT_ROOT,
        bootstrapping: bool = False,
    ) -> "Workspace":
        """The workspace `environ`'s settings select; `target` and `environment` override
        REVIEWS_TARGET and ENVIRONMENT_SUFFIX (`bootstrapping`: see stacks.config.load_config)."""
        settings = {name: value for name, value in environ.items() if is_setting(name)}
        if target:
            settings[TARGET.name] = target
        if environment:
            settings[ENVIRONMENT_SUFFIX.name] = environment
        context = json.loads((project_dir / "cdktf.json").read_text()).get("context", {})
        config = load_config(context, settings, project_dir / "environments", bootstrapping=bootstrapping)
        return cls(config, settings, project_dir, environ)

    @property
    def stack_dir(self) -> Path:
        return self.project_dir / "cdktf.out" / "stacks" / self.config.stack_name

    @property
    def log_dir(self) -> Path:
        """Terraform's logs, and what deploys remember: under .local/ (the local target's
        folder) on the local target, under build/logs/ on a real account."""
        parent = ".local" if self.config.target.is_local else "build/logs"
        return self.project_dir / parent / self.config.stack_name

    def process_environment(self) -> dict[str, str]:
        """What synth and Terraform run with. The local target gets none of the caller's AWS_*
        variables (profile, keys, endpoint URLs): its settings alone decide where Terraform goes."""
        inherited = {
            name: value
            for name, value in self.environ.items()
            if not is_setting(name) and not (self.config.target.is_local and name.startswith("AWS_"))
        }
        return {**inherited, **tool_settings(self.project_dir), **self.settings}

    def synthesize(self, *program: str) -> Path:
        """`python main.py` with this workspace's settings: writes cdktf.out/stacks/<stack>/.
        `program` runs another synth instead (`-m stacks.bootstrap`)."""
        result = subprocess.run(
            [sys.executable, *(program or ["main.py"])],
            cwd=self.project_dir,
            env=self.process_environment(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise DeployError(result.stderr.strip() or f"synth exited {result.returncode}")
        if pin := pin_of(self.stack_dir):
            print(f"    note: {pin}")
        return self.stack_dir

    def configuration_sha256(self) -> str:
        """sha256 of everything synth wrote into the stack directory (cdk.tf.json, the provider
        lock file, the function's zip), by path. Terraform's own .terraform/ is left out."""
        digest = hashlib.sha256()
        for path in sorted(self.stack_dir.rglob("*")):
            relative = path.relative_to(self.stack_dir)
            if path.is_file() and relative.parts[0] != ".terraform":
                digest.update(f"{relative.as_posix()} {file_sha256(path)}\n".encode())
        return digest.hexdigest()

    def client(self, service: str) -> Any:
        """A boto3 client for where this workspace deploys: the emulator, or the account
        the caller's credentials reach."""
        if self.config.target.is_local:
            return emulator.client(service, self.config.target.endpoint, self.config.target.region)
        any_service: Callable[..., Any] = boto3.client  # boto3-stubs type a client only by a literal name
        return any_service(service, region_name=self.config.target.region)

    @contextmanager
    def terraform_session(self, redact: Callable[[str], str] = terraform.no_redaction) -> Iterator[terraform.Stack]:
        """Terraform in the initialized stack for a block of runs, one after the other. On the
        local target one AWS provider process serves them all (deploy/provider_server.py)."""
        stack = self.terraform(redact)
        with shared_provider(stack) if self.config.target.is_local else nullcontext(stack) as session:
            yield session

    def terraform(self, redact: Callable[[str], str] = terraform.no_redaction) -> terraform.Stack:
        return terraform.Stack(self.stack_dir, self.log_dir, self.process_environment(), redact)

    def initialize(self) -> None:
        """`terraform init`, unless this directory is already initialized for this backend.
        When only how the state is kept changed (a KMS key added), not where, init runs with
        -reconfigure: there is nothing to migrate, and Terraform refuses to run until then."""
        if initialized(self.stack_dir):
            return
        remembered = remembered_backend(self.stack_dir)
        location = (self.backend.bucket, self.backend.key)
        same_state = remembered is not None and (remembered.get("bucket"), remembered.get("key")) == location
        options = ("-reconfigure",) if same_state else ()
        self.terraform().run("init", *terraform.NON_INTERACTIVE, *options, log_name="init")

    @property
    def backend(self) -> locks.Backend:
        configuration = json.loads((self.stack_dir / "cdk.tf.json").read_text())
        backend = locks.Backend.of(configuration)
        if backend is None:
            raise DeployError(f"{self.stack_dir}/cdk.tf.json has no S3 backend")
        return backend

    def redaction(self) -> Callable[[str], str]:
        """Redacts the secrets the current state holds (the API key, ...) from any text."""
        secrets = self.terraform().state_secrets()
        return lambda text: redact_text(text, secrets)
