"""What Terraform remembers of a stack's backend after `terraform init` (in .terraform/), and
whether the synthesized configuration still matches it: Terraform refuses to plan or apply
after a backend setting changed until init runs again with -reconfigure or -migrate-state.

No cdktf here: `python -m deploy` reads this without starting a jsii kernel.
"""

import json
from pathlib import Path

REMEMBERED_BACKEND = Path(".terraform") / "terraform.tfstate"  # in a stack's directory


def backend_changed(directory: Path) -> bool:
    """Whether the synthesized backend (its type, or a setting) differs from the one Terraform
    remembers from the last init in `directory` (False before any init)."""
    remembered = _remembered(directory)
    if remembered is None:
        return False
    [(kind, configured)] = json.loads((directory / "cdk.tf.json").read_text())["terraform"]["backend"].items()
    return remembered.get("type") != kind or _set_settings(remembered.get("config", {})) != _set_settings(configured)


def initialized(directory: Path) -> bool:
    """Whether `terraform init` ran in `directory` for the backend it configures now."""
    providers = (directory / ".terraform" / "providers").exists()
    return _remembered(directory) is not None and providers and not backend_changed(directory)


def remembered_backend(directory: Path) -> dict | None:
    """The backend settings of the last `terraform init` in `directory`, or None."""
    remembered = _remembered(directory)
    return None if remembered is None else remembered.get("config", {})


def _remembered(directory: Path) -> dict | None:
    remembered = directory / REMEMBERED_BACKEND
    return json.loads(remembered.read_text()).get("backend", {}) if remembered.exists() else None


def _set_settings(settings: dict) -> dict:
    """The settings that are set: Terraform remembers every setting the backend knows, unset
    ones as null (inside `endpoints` too), false or empty."""
    found = {}
    for name, value in settings.items():
        if isinstance(value, dict):
            value = {key: inner for key, inner in value.items() if inner is not None}
        if value not in (None, False, "", [], {}):
            found[name] = value
    return found
