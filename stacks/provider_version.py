"""The AWS provider version a synthesized stack requires: the one its bindings were generated
from, unless this machine's Terraform cannot install that one.

Synth requires exactly the version of hashicorp/aws the framework's prebuilt bindings were
generated from: 5.100.0 for CDKTF's (cdktf-cdktf-provider-aws 20.1.0), a 6.x for CDK Terrain's
(cdktn-provider-aws). Where Terraform installs providers only from a filesystem mirror (the
project's Terraform CLI configuration on a machine with such a mirror and no registry:
scripts/terraformrc.sh) and the mirror lacks that version, `terraform init` would fail. There
the stack requires the version the committed lock (.terraform.lock.hcl) names instead, when
the mirror has it, and records the pin in cdk.tf.json, where deploys, plans and reviews find
it (pin_of) and say so. The committed lock goes beside every stack whose required version it
names, so that init needs no registry (`cdktf deploy` included); elsewhere init writes its own.

The stack's arguments must mean the same to both versions: docs/framework.md has the check
against the provider's 6.0 upgrade guide.
"""

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROVIDER_LOCK_FILE = PROJECT_ROOT / ".terraform.lock.hcl"
PROVIDER = "registry.terraform.io/hashicorp/aws"
# Where cdk.tf.json records a pin: Terraform ignores the "//" key (comments).
PIN_NOTE = ("//", "aws_provider_pin")


@dataclass(frozen=True)
class ProviderPin:
    bindings: str  # the version the bindings were generated from
    pinned: str  # the version the stack requires instead
    mirror: str  # the only place Terraform installs providers from here

    def message(self) -> str:
        return (
            f"AWS provider pinned to {self.pinned}: the framework's bindings are for {self.bindings}, "
            f"which this machine's Terraform cannot install (it installs providers only from {self.mirror})"
        )


def mirror_only(cli_config: Path) -> Path | None:
    """The filesystem mirror a Terraform CLI configuration installs registry providers from,
    when it never asks the registry for them; None when it may."""
    text = cli_config.read_text() if cli_config.is_file() else ""
    mirror = re.search(r'filesystem_mirror\s*\{[^}]*path\s*=\s*"([^"]+)"', text)
    no_registry = re.search(r'direct\s*\{[^}]*exclude\s*=\s*\[[^]]*"registry\.terraform\.io/\*/\*"', text)
    return Path(mirror[1]) if mirror and no_registry else None


def mirrored_versions(mirror: Path) -> set[str]:
    return {path.name for path in (mirror / PROVIDER).glob("*") if path.is_dir()}


def locked_version(lock_file: Path) -> str:
    found = re.search(rf'provider "{re.escape(PROVIDER)}" \{{\s*version\s*=\s*"([^"]+)"', lock_file.read_text())
    if not found:
        raise ValueError(f"{lock_file} locks no {PROVIDER}")
    return found[1]


def settle(directory: Path, lock_file: Path = PROVIDER_LOCK_FILE, cli_config: Path | None = None) -> ProviderPin | None:
    """Makes the stack synthesized in `directory` (cdk.tf.json, or cdk.tf from `synth --hcl`)
    require a provider version Terraform can install here, and puts the lock beside it when
    the lock names that version."""
    cli_config = cli_config or Path(os.environ.get("TF_CLI_CONFIG_FILE", PROJECT_ROOT / ".terraformrc"))
    configuration = _Configuration(directory)
    locked = locked_version(lock_file)
    mirror = mirror_only(cli_config)
    pin = None
    if mirror and configuration.version not in mirrored_versions(mirror) and locked in mirrored_versions(mirror):
        pin = ProviderPin(bindings=configuration.version, pinned=locked, mirror=str(mirror))
        configuration.pin(pin)
    if configuration.version == locked:
        shutil.copyfile(lock_file, directory / ".terraform.lock.hcl")
    return pin


def pin_of(directory: Path) -> str | None:
    """The pin settle() recorded in the stack synthesized in `directory`, as a sentence; None
    also for a directory the frameworks did not synthesize (a configuration written by hand)."""
    if not any((directory / name).exists() for name in ("cdk.tf.json", "cdk.tf")):
        return None
    return _Configuration(directory).pin_note()


class _Configuration:
    """The synthesized configuration file: Terraform JSON, where a pin is recorded under the
    "//" key Terraform ignores, or HCL, where it is a comment on the first line."""

    HCL_VERSION = re.compile(r'(required_providers \{\s*aws = \{\s*version = ")([^"]+)(")')
    HCL_NOTE = "# "

    def __init__(self, directory: Path):
        self.json_file, self.hcl_file = directory / "cdk.tf.json", directory / "cdk.tf"
        self.is_json = self.json_file.exists() or not self.hcl_file.exists()
        self.text = (self.json_file if self.is_json else self.hcl_file).read_text()

    @property
    def version(self) -> str:
        if self.is_json:
            return json.loads(self.text)["terraform"]["required_providers"]["aws"]["version"]
        found = self.HCL_VERSION.search(self.text)
        if not found:
            raise ValueError(f"{self.hcl_file} requires no version of the AWS provider")
        return found[2]

    def pin(self, pin: ProviderPin) -> None:
        if self.is_json:
            configuration = json.loads(self.text)
            configuration["terraform"]["required_providers"]["aws"]["version"] = pin.pinned
            configuration.setdefault(PIN_NOTE[0], {})[PIN_NOTE[1]] = pin.message()
            self.text = json.dumps(configuration, indent=2, ensure_ascii=False)
            self.json_file.write_text(self.text)
        else:
            pinned = self.HCL_VERSION.sub(rf"\g<1>{pin.pinned}\g<3>", self.text, count=1)
            self.text = f"{self.HCL_NOTE}{pin.message()}\n{pinned}"
            self.hcl_file.write_text(self.text)

    def pin_note(self) -> str | None:
        if self.is_json:
            return json.loads(self.text).get(PIN_NOTE[0], {}).get(PIN_NOTE[1])
        first_line = self.text.partition("\n")[0]
        return (
            first_line.removeprefix(self.HCL_NOTE)
            if first_line.startswith(self.HCL_NOTE + "AWS provider pinned")
            else None
        )
