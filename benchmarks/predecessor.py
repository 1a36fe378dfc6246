"""The baseline for synth: the predecessor's AWS CDK app (Python, aws-cdk-lib 2.x).

Its description (shared/reference/predecessor-aws-cdk-app.md) holds each file as a
"### N. Title (path)" heading and a ```python block. As written it fails to synthesize:
`dynamodb.PointInTimeRecoverySpecification(enabled=True)` is not a keyword aws-cdk-lib 2.x
knows (TypeError); `point_in_time_recovery_enabled=True` is, and is the one-line fix.

The app is written into a scratch folder, never into the repo, and runs from a virtualenv
of its own (pinned below, cached in .cache/ so repeated benchmark runs do not reinstall).
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Beside the project (shared/ next to the checkout or a folder above it), or BENCH_PREDECESSOR_APP.
DESCRIPTION_IN_SHARED = Path("shared", "reference", "predecessor-aws-cdk-app.md")
VENV = PROJECT_ROOT / ".cache" / "predecessor-venv"
# aws-cdk-lib and everything it pulls in, pinned; jsii and constructs as our own stack uses.
REQUIREMENTS = (
    "aws-cdk-lib==2.275.0",
    "constructs==10.8.1",
    "jsii==1.142.0",
    "publication==0.0.3",
    "typeguard==2.13.3",
    "aws-cdk.asset-awscli-v1==2.2.292",
    "aws-cdk.asset-node-proxy-agent-v6==2.1.3",
    "aws-cdk.cloud-assembly-schema==55.4.0",
    "attrs==26.1.0",
    "cattrs==26.2.1",
    "python-dateutil==4.0.0",
    "typing_extensions==4.16.0",
    "tzdata==2026.6",
)
FIX = ("                enabled=True\n", "                point_in_time_recovery_enabled=True\n")
FILE_BLOCK = re.compile(
    r"^### \d+\. [^\n]*\((?P<path>[\w/.]+\.py)\)\n\n```python\n(?P<code>.*?)\n```", re.MULTILINE | re.DOTALL
)
ENTRY_POINT = "tap.py"
STACK_TEMPLATE = "TapStackdev.template.json"


def description() -> Path:
    if "BENCH_PREDECESSOR_APP" in os.environ:
        return Path(os.environ["BENCH_PREDECESSOR_APP"])
    for folder in PROJECT_ROOT.parents:
        if (folder / DESCRIPTION_IN_SHARED).is_file():
            return folder / DESCRIPTION_IN_SHARED
    raise FileNotFoundError(f"no {DESCRIPTION_IN_SHARED} above {PROJECT_ROOT}: set BENCH_PREDECESSOR_APP to it")


def write_app(directory: Path) -> Path:
    """Writes the app's files into `directory`, with the one-line fix; returns its entry point."""
    source = description()
    files = {match["path"]: match["code"] + "\n" for match in FILE_BLOCK.finditer(source.read_text())}
    broken, fixed = FIX
    if ENTRY_POINT not in files or sum(code.count(broken) for code in files.values()) != 1:
        raise RuntimeError(f"{source} no longer has the shape this benchmark expects")
    for path, code in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code.replace(broken, fixed))
    return directory / ENTRY_POINT


def python() -> Path:
    """The predecessor's interpreter, installing its virtualenv first if the pins changed."""
    stamp = VENV / f".installed-{hashlib.sha256(' '.join(REQUIREMENTS).encode()).hexdigest()[:12]}"
    if not stamp.exists():
        print(f"  installing the predecessor's packages into {VENV} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-qq", "--disable-pip-version-check", *REQUIREMENTS], check=True
        )
        stamp.touch()
    return VENV / "bin" / "python"
