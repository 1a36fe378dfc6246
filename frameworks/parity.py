"""`python -m frameworks.parity save DIR` / `compare REFERENCE DIR`: the stack synthesized with
the installed framework (a few setting sets, each into DIR/<name>/), and whether it describes
the same infrastructure as a reference synthesized with the other framework.

The same means: every resource, data source and output, the backend and the provider's
settings are equal. What may differ is what names the framework and the provider version it
was built for: the "//" metadata and terraform.required_providers (the provider version a
stack requires: stacks/provider_version.py). `make test-cdktn` (CI's CDK Terrain leg) saves a
reference with CDKTF, switches to CDK Terrain and compares.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from stacks.framework import installed

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The setting sets compared: the production shape on AWS, and the emulator target (whose
# provider points every service at the emulator).
SYNTHS = {
    "aws": {
        "REVIEWS_TARGET": "aws",
        "REVIEWS_ACCOUNT_ID": "111122223333",
        "REVIEWS_STATE_BUCKET": "example-terraform-state",
        "REVIEWS_REPOSITORY": "example/product-reviews",
        "ENVIRONMENT_SUFFIX": "prod",
    },
    "local": {"REVIEWS_TARGET": "local", "ENVIRONMENT_SUFFIX": "parity"},
}


def synthesize(out_dir: Path) -> dict[str, Path]:
    """Synthesizes each setting set with `python main.py`; returns each stack's folder."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("REVIEWS_", "CDKTF_"))}
    folders = {}
    for name, settings in SYNTHS.items():
        outdir = (out_dir / name).resolve()
        outdir.mkdir(parents=True, exist_ok=True)
        env = {**inherited, **settings, "CDKTF_OUTDIR": str(outdir)}
        subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True)
        [folders[name]] = (outdir / "stacks").iterdir()
    return folders


def infrastructure(configuration: dict) -> dict[str, object]:
    """What a synthesized configuration (cdk.tf.json, parsed) deploys, by address: every
    resource, data source, output and provider, and the backend."""
    by_address: dict[str, object] = {"backend": configuration.get("terraform", {}).get("backend")}
    for block in ("resource", "data"):
        for kind, items in configuration.get(block, {}).items():
            by_address.update({f"{block}.{kind}.{name}": value for name, value in items.items()})
    for block in ("output", "provider"):
        by_address.update({f"{block}.{name}": value for name, value in configuration.get(block, {}).items()})
    return by_address


def differences(reference: dict, candidate: dict) -> list[str]:
    """One line per address where two configurations deploy different things."""
    ours, theirs = infrastructure(reference), infrastructure(candidate)
    return [
        f"{address}: {ours.get(address)} != {theirs.get(address)}"
        for address in sorted(ours.keys() | theirs.keys())
        if ours.get(address) != theirs.get(address)
    ]


def compare(reference_dir: Path, out_dir: Path) -> list[str]:
    """Synthesizes into `out_dir` and returns the differences from `reference_dir`'s synths."""
    found = []
    for name, folder in synthesize(out_dir).items():
        [reference] = (reference_dir / name / "stacks").iterdir()
        configurations = [json.loads((f / "cdk.tf.json").read_text()) for f in (reference, folder)]
        found += [f"{name}: {line}" for line in differences(*configurations)]
    return found


def main(argv: list[str]) -> int:
    command, *folders = argv
    framework = installed().name
    if command == "save" and len(folders) == 1:
        synthesize(Path(folders[0]))
        print(f"{framework}: synthesized {', '.join(SYNTHS)} into {folders[0]}")
        return 0
    if command == "compare" and len(folders) == 2:
        found = compare(Path(folders[0]), Path(folders[1]))
        for line in found:
            print(line, file=sys.stderr)
        verdict = (
            f"{len(found)} difference(s)"
            if found
            else "the same resources, data sources, outputs, provider and backend"
        )
        print(f"{framework} vs the reference in {folders[0]}: {verdict}")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
