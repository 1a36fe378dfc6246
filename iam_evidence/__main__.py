"""python -m iam_evidence record | map | docs

record (make iam-evidence): records the app stack's lifecycle on an emulator of its own
(iam_evidence/record.py) and rewrites the evidence in iam_evidence/recorded/
(iam_evidence/evidence.py). Run it after a change to the stack: tests/test_iam_evidence.py
fails while the evidence does not cover the stack, and tests/test_iam_roles.py while a role
does not allow what the evidence shows.

map: rewrites only permissions.jsonl from the recorded calls, after a change to the rules
that map a call to its permissions (iam_evidence/mapping.py, implied.py). Seconds.

docs: rewrites the recorded permissions in docs/iam.md (record and map do too).
"""

import argparse
import sys
import time
from collections import Counter

from . import docs, evidence
from .grants import RECORDED, recorded_calls, recorded_grants
from .record import record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iam_evidence", description=__doc__)
    parser.add_argument("command", choices=["record", "map", "docs"])
    args = parser.parse_args(argv)
    if args.command == "record":
        started = time.monotonic()
        recording = record()
        calls = evidence.distinct_calls(evidence.with_stable_ids(recording.calls))
        shapes = (evidence.stack_shape(configuration) for configuration in recording.configurations)
        evidence.write(calls, evidence.merged_shape(shapes))
        print(f"recorded {len(recording.calls)} calls ({len(calls)} distinct) in {time.monotonic() - started:.0f} s")
    elif args.command == "map":
        evidence.write(evidence.with_stable_ids(recorded_calls()))
    docs.rewrite()
    grants = recorded_grants()
    for role, count in sorted(Counter(grant.role for grant in grants).items()):
        actions = {grant.permission.action for grant in grants if grant.role == role}
        print(f"  {role}: {len(actions)} actions, {count} action-resource pairs")
    print(f"wrote {RECORDED}/ and {docs.DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
