"""The Python a deployed function runs with locally: the version its Runtime declares
(python3.13), in a virtualenv of its own holding the AWS SDK, not the project's dev virtualenv.

- The interpreter: `python3.13` on PATH, else the newest pyenv 3.13.x. Where the machine has
  none, workers fall back to the gateway's own Python, with a warning naming both versions.
- The SDK: Lambda's Python runtimes include boto3 and botocore, at a version that AWS says
  "depends on the runtime version and your AWS Region" and no longer publishes
  (docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-sdk-included). The
  environment pins the version the handler is tested with: Pipfile.lock's boto3 and its
  dependencies (`sdk_pins`), installed with pip into `.local/runtime-venv-<version>/`, which
  `make up` creates (or re-creates when the pins change) and says so.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"
# What the runtime ships besides the handler's own code: boto3 and what it needs.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
PINS_FILE = "localaws-pins.json"


def python_version(runtime: str) -> str | None:
    """ "3.13" for "python3.13"; None for a runtime that is not Python."""
    found = re.fullmatch(r"python(\d+\.\d+)", runtime)
    return found[1] if found else None


def find_interpreter(version: str) -> Path | None:
    """A Python `version` on this machine that runs: the newest pyenv version of it, else the
    one on PATH (a pyenv shim on PATH fails unless that version is selected: it is tried)."""
    installed = sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"), key=_version_key, reverse=True)
    on_path = shutil.which(f"python{version}")
    for candidate in [*installed, *([Path(on_path)] if on_path else [])]:
        probe = [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        ran = subprocess.run(probe, capture_output=True, text=True, check=False)
        if ran.returncode == 0 and ran.stdout.strip() == version:
            return candidate
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def sdk_pins(lock_file: Path = PROJECT_ROOT / "Pipfile.lock") -> list[str]:
    """boto3 and its dependencies as Pipfile.lock pins them ("boto3==1.44.8", ...)."""
    locked = json.loads(lock_file.read_text())["default"]
    return [f"{name}{locked[name]['version']}" for name in SDK_PACKAGES if name in locked]


def environment(runtimes_dir: Path, version: str) -> Path:
    return runtimes_dir / f"runtime-venv-{version}"


def interpreter_for(runtime: str, runtimes_dir: Path | None) -> tuple[str, str | None]:
    """(the Python to run a function of `runtime` with, a warning when it is not that version)."""
    version = python_version(runtime)
    if version is None or runtimes_dir is None or version == _running_version():
        return sys.executable, None
    venv_python = environment(runtimes_dir, version) / "bin" / "python"
    if venv_python.exists():
        return str(venv_python), None
    return sys.executable, (
        f"the function declares {runtime}, but there is no Python {version} environment in "
        f"{environment(runtimes_dir, version)} (make up creates it where the machine has Python {version}): "
        f"running it with Python {_running_version()} instead"
    )


def ensure_environment(runtimes_dir: Path, runtime: str) -> str:
    """Creates (or re-creates, when the pins changed) the environment for `runtime`; says what it did."""
    version = python_version(runtime)
    if version is None:
        return f"{runtime} is not a Python runtime: nothing to prepare"
    if version == _running_version():
        return f"Python {version} is the gateway's own: workers use it"
    interpreter = find_interpreter(version)
    if interpreter is None:
        fallback = _running_version()
        return f"warning: no Python {version} on this machine; workers run {runtime} functions with Python {fallback}"
    target, pins = environment(runtimes_dir, version), sdk_pins()
    if _installed_pins(target) == pins:
        return f"{target} is ready ({', '.join(pins[:2])})"
    shutil.rmtree(target, ignore_errors=True)
    _run(str(interpreter), "-m", "venv", str(target))
    _run(str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins)
    (target / PINS_FILE).write_text(json.dumps(pins))
    return f"created {target} with Python {version} ({interpreter}) and {', '.join(pins[:2])}"


def _run(*command: str) -> None:
    ran = subprocess.run(command, capture_output=True, text=True, check=False)
    if ran.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} ... failed: {ran.stderr.strip()[-1000:]}")


def _installed_pins(target: Path) -> list[str] | None:
    try:
        return json.loads((target / PINS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _running_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"
