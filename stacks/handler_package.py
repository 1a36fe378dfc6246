"""The handler's code package, built the same way by synth (stacks/function.py, a
TerraformAsset) and by `make watch` (deploy/watch.py, straight to the emulator): same files,
same bytes, same hash. Standard library only, so the watcher loads it without cdktf."""

import base64
import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLER_SOURCE = PROJECT_ROOT / "handlers"
HANDLER_PACKAGE = PROJECT_ROOT / "build" / "reviews-handler.zip"
# A zip entry's timestamp is part of its bytes: a fixed one makes the package, its hash
# and therefore the synthesized JSON depend on the code alone.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def package_handler(source: Path = HANDLER_SOURCE, destination: Path = HANDLER_PACKAGE) -> Path:
    """Zips the handler's .py files reproducibly: same code, same bytes, same hash.

    The zip is written beside `destination` and renamed onto it, so that a synth or `make watch`
    running at the same time in the same project never reads (and hashes) a half-written one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    handle, partial = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), ZIP_TIMESTAMP)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
        os.chmod(partial, 0o644)  # mkstemp's 0600 would otherwise be the package's mode
        os.replace(partial, destination)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return destination


def source_code_hash(package: Path) -> str:
    """What Lambda reports as CodeSha256 and the stack sets as source_code_hash: base64 sha256."""
    return base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
