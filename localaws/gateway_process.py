"""The local gateway running in the background for one deployment (`server_process`).

The state directory holds gateway-<port>.json ({"pid"}) and gateway-<port>.log.
"""

from dataclasses import dataclass
from pathlib import Path

from localaws.server_process import ServerProcess, deployment_options


@dataclass(frozen=True)
class GatewayProcess(ServerProcess):
    name = "gateway"
    service = "localaws-gateway"
    description = "the local gateway"
    port_setting = "REVIEWS_GATEWAY_PORT"

    emulator_endpoint: str
    region: str
    rest_api_name: str
    stage: str
    port: int
    state_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    def arguments(self) -> list[str]:
        deployed = deployment_options(self.emulator_endpoint, self.region, self.rest_api_name, self.stage)
        return ["gateway", *deployed, "--port", str(self.port), "--runtimes-dir", str(self.state_dir)]
