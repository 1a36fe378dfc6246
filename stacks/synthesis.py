"""Synthesizing the stack into a directory Terraform (and `cdktf deploy`) can use as it is."""

import shutil
from pathlib import Path

from cdktf import App

from .config import StackConfig
from .remembered_backend import REMEMBERED_BACKEND, backend_changed
from .reviews_stack import ReviewsStack

PROVIDER_LOCK_FILE = Path(__file__).resolve().parent.parent / ".terraform.lock.hcl"


def synthesize(app: App, config: StackConfig) -> Path:
    """Writes cdktf.out/stacks/<stack>/ and returns that directory."""
    ReviewsStack(app, config)
    app.synth()
    directory = Path(app.outdir) / "stacks" / config.stack_name
    # With the committed lock in place, init installs the pinned provider without asking the
    # registry, so the plain CLI (`cdktf deploy`) works offline without --skip-provider-lock.
    shutil.copyfile(PROVIDER_LOCK_FILE, directory / ".terraform.lock.hcl")
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
