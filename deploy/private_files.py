"""Files only their owner may read: what we write under build/ and .local/ can hold values
from the Terraform state (plan.bin always does), so directories are 0700 and files 0600."""

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


def private_directory(path: Path) -> Path:
    """Creates `path` (and missing parents) if needed, and makes it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIRECTORY)
    return path


def write_private(path: Path, content: str | bytes) -> Path:
    """Writes `content` to `path`, created 0600 (never readable by others, not even briefly)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)  # the mode above applies only to a new file
    with open(descriptor, "wb") as file:
        file.write(content.encode() if isinstance(content, str) else content)
    return path


def private_opener(path: str, flags: int) -> int:
    """For `open(path, mode, opener=private_opener)`: a new file is created 0600."""
    return os.open(path, flags, PRIVATE_FILE)


def make_private(path: Path) -> Path:
    """Makes a file that another program wrote (terraform's plan.bin) 0600."""
    path.chmod(PRIVATE_FILE)
    return path
