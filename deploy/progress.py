"""What deploy commands print: a line per step with its duration, and the lines of Terraform's
output a user follows (per-resource progress, errors, the closing summary)."""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PROGRESS = re.compile(r"^\S+: (Creating|Modifying|Destroying|Creation|Modifications|Destruction)|^(│ )?Error")


@contextmanager
def step(description: str) -> Iterator[None]:
    print(f"--> {description}", flush=True)
    started = time.monotonic()
    yield
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def terraform_progress(line: str) -> None:
    """Terraform's per-resource progress lines and errors, indented under the step."""
    if _PROGRESS.match(line):
        print(f"    {line.strip()}", flush=True)


def summary(output: str, starts: tuple[str, ...], otherwise: str) -> str:
    """Terraform's closing line ("Apply complete! Resources: ...", "No changes. ...")."""
    lines = [line for line in output.splitlines() if line.startswith(starts)]
    return lines[-1] if lines else otherwise
