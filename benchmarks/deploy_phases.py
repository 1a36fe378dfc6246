"""`python -m deploy <arguments>` with a clock around each synth, Terraform command and checkov
scan (`make bench`; run from the root of the tree it measures).

Prints what the command prints, then one JSON line: {"exit": status, "phases": [[what, start,
end], ...]}, times in seconds since this script's first line. Only functions every measured
revision has are timed: Workspace.synthesize and Stack.run, and the plan review's scan where it
runs after the plan (later revisions start checkov alongside the plan).
"""

import time

STARTED = time.monotonic()


def main(arguments: list[str]) -> int:
    import json
    import os
    import sys
    from collections.abc import Callable
    from typing import Any

    sys.path.insert(0, os.getcwd())  # the measured tree's packages, not this script's
    import deploy.__main__ as command
    from deploy import terraform, workspace
    from deploy.review import make_plan

    phases: list[tuple[str, float, float]] = []

    def timed(owner: Any, name: str, label: Callable[[tuple], str]) -> None:
        original = getattr(owner, name)

        def clocked(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic() - STARTED
            try:
                return original(*args, **kwargs)
            finally:
                phases.append((label(args), started, time.monotonic() - STARTED))

        setattr(owner, name, clocked)

    timed(workspace.Workspace, "synthesize", lambda args: "synth")
    timed(terraform.Stack, "run", lambda args: f"terraform {args[1]}")
    if hasattr(make_plan, "scan"):  # revisions that scan after the plan; later ones start checkov with it
        timed(make_plan, "scan", lambda args: "checkov")
    status = command.main(arguments)
    sys.stdout.flush()
    print(json.dumps({"exit": status, "phases": phases}), flush=True)
    return status


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
