"""Synthesizing the stack into a directory Terraform (and `cdktf deploy`) can use as it is."""

import json
import sys
from pathlib import Path

from . import provider_version
from .config import StackConfig
from .framework import App
from .reviews_stack import ReviewsStack


def synthesize(app: App, config: StackConfig) -> Path:
    """Writes cdktf.out/stacks/<stack>/ and returns that directory."""
    ReviewsStack(app, config)
    app.synth()
    directory = Path(app.outdir) / "stacks" / config.stack_name
    # With the committed lock in place, init installs the pinned provider without asking the
    # registry, so the plain CLI (`cdktf deploy`) works offline without --skip-provider-lock.
    pin = provider_version.settle(directory)
    if pin:
        print(f"warning: {pin.message()}", file=sys.stderr)
    if config.target.is_local:
        forget_moved_emulator(directory)
    return directory


def forget_moved_emulator(directory: Path) -> None:
    """Terraform remembers the backend's settings in .terraform/ and refuses a changed endpoint
    (another REVIEWS_EMULATOR_PORT) unless init is given -reconfigure, which `cdktf deploy`
    cannot pass. The local state lives in the emulator, so forgetting the remembered settings
    when the endpoint moved is exactly that -reconfigure."""
    remembered = directory / ".terraform" / "terraform.tfstate"
    if not remembered.exists():
        return
    configured = json.loads((directory / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
    cached = json.loads(remembered.read_text()).get("backend", {}).get("config", {})
    # Terraform remembers every endpoint the backend knows, unset ones as null.
    cached_endpoints = {service: url for service, url in (cached.get("endpoints") or {}).items() if url}
    if cached_endpoints != configured.get("endpoints", {}):
        remembered.unlink()
