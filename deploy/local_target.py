"""The local target (`REVIEWS_TARGET=local`): one environment deployed into the emulator on
this machine and served by the local gateway and storefront. In this project "local" always
means this target: its files are under `.local/`, its AWS stand-in is `localaws/`.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.gateway_process import GatewayProcess
from localaws.storefront import StorefrontProcess
from stacks.config import StackConfig

from .project_env import PROJECT_ROOT
from .workspace import Workspace


@dataclass(frozen=True)
class LocalTarget:
    """One environment on the local target: its emulator, workspace, gateway and storefront."""

    workspace: Workspace

    @classmethod
    def load(cls, settings: Mapping[str, str] | None = None, project_dir: Path = PROJECT_ROOT) -> "LocalTarget":
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

    def api_key(self) -> str:
        """The storefront's API key, read from the emulator (never written anywhere)."""
        return self.client("apigateway").get_api_key(apiKey=self.outputs()["api_key_id"], includeValue=True)["value"]
