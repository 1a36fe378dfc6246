"""`make watch`: after `make up`, edits go live by themselves.

It polls the project's files (stat, every POLL_SECONDS) and, on a change:
- only handler code (handlers/, except the contract the stack imports): builds the function's
  package exactly as synth does (stacks/handler_package.py), updates the function in the
  emulator (UpdateFunctionCode, no Terraform) and has the gateway re-read the deployment, so
  the next request runs the new code;
- anything the stack is built from (STACK_INPUTS): runs `make up`.

What it guarantees and what not, like `sam sync --watch`: the emulator runs the code you saved;
Terraform's state still records the previous package until the next `make up` or `make plan`,
which first records the running package in the state when it is exactly what synth builds now
(deploy/live_code.py), so they plan no change to the function and wait for nothing. Code
pushed and then changed again without a `make up` is never lost: synth packages the files.
A syntax error is deployed like any other code (the gateway answers 502 and logs it).
"""

import signal
import time
import urllib.request
from pathlib import Path

from stacks.handler_package import package_handler

from . import make_up
from .local_target import LocalTarget

POLL_SECONDS = 0.1
SETTLE_SECONDS = 0.05  # a change is acted on once the files look the same this long apart
# What the stack is synthesized from: a change here goes through make up. The handler's
# contract is the one handler module the stack imports (tests/test_watch.py checks it).
STACK_INPUTS = ("stacks", "environments", "cdktf.json", "main.py", "handlers/reviews/contract.py")
WATCHED = ("handlers", *STACK_INPUTS)


def watch(target: LocalTarget) -> None:
    """Follows edits until Ctrl-C."""
    # Ctrl-C stops it even when started from a shell that ignores SIGINT (a script's `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    root = target.workspace.project_dir
    seen = stamps(root)  # before saying so: an edit saved after the message is always seen
    print(f"Watching {', '.join(WATCHED)} in {root} (Ctrl-C to stop)", flush=True)
    while True:
        time.sleep(POLL_SECONDS)
        current = stamps(root)
        changed = sorted(path for path in seen.keys() | current.keys() if seen.get(path) != current.get(path))
        if not changed:
            continue
        seen = settled(root, current)
        print(f"--> changed: {', '.join(changed)}", flush=True)
        if any(path.startswith(STACK_INPUTS) for path in changed):
            make_up.up(target)
        else:
            push_code(target)  # an edit saved meanwhile differs from `seen`: the next look pushes it


def settled(root: Path, current: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The stamps once two looks in a row agree: an editor (or `write_text`) truncates a file
    before writing it, and a half-written handler must not be pushed."""
    while True:
        time.sleep(SETTLE_SECONDS)
        again = stamps(root)
        if again == current:
            return current
        current = again


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime in ns, size) of every watched file, by its path in the project."""
    found = {}
    for name in WATCHED:
        top = root / name
        for path in [top] if top.is_file() else top.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                found[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def push_code(target: LocalTarget) -> str:
    """Updates the function's code in the emulator and reloads the gateway; returns the new
    code's hash."""
    started = time.monotonic()
    root = target.workspace.project_dir
    package = package_handler(root / "handlers", root / "build" / "reviews-handler.zip")
    updated = target.client("lambda").update_function_code(
        FunctionName=target.config.function.name, ZipFile=package.read_bytes()
    )
    gateway = f"http://127.0.0.1:{target.config.target.gateway_port}"
    request = urllib.request.Request(f"{gateway}/_localaws/reload?function={target.config.function.name}", b"")
    with urllib.request.urlopen(request, timeout=30):
        pass
    print(f"    live in {(time.monotonic() - started) * 1000:.0f} ms (code {updated['CodeSha256']})", flush=True)
    return updated["CodeSha256"]
