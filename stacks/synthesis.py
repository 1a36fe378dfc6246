"""Synthesizing the stack into a directory Terraform (and `cdktf deploy`) can use as it is."""

import sys
from pathlib import Path

from . import provider_version
from .config import StackConfig
from .framework import App
from .remembered_backend import REMEMBERED_BACKEND, backend_changed
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
        forget_changed_backend(directory)
    return directory


def forget_changed_backend(directory: Path) -> None:
    """Terraform remembers the backend's settings in .terraform/ and refuses to run once they
    changed (another REVIEWS_EMULATOR_PORT, a state key added) until init is given
    -reconfigure, which `cdktf deploy` cannot pass. The local state lives in the emulator, so
    forgetting the remembered settings is exactly that -reconfigure."""
    if backend_changed(directory):
        (directory / REMEMBERED_BACKEND).unlink()
