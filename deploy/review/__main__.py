"""python -m deploy.review plan|scan|summary: the Terraform plan review and security scan.

    plan --stack-dir DIR --out DIR [--no-lock]   init + plan + show + scan + review
    scan FILE [--framework terraform_plan|terraform_json] [--output results.json]
    summary --plan plan.json [--checkov results.json] [--output review.md]

`plan` writes plan.bin, plan.json, checkov.json and review.md into --out and exits 1 when
checkov reports a finding that .checkov.yaml does not skip (the review is written first).
`scan` exits 1 on such a finding.
"""

import argparse
import json
import sys
from pathlib import Path

from deploy.review.checkov import load_checkov, scan, skipped_checks
from deploy.review.make_plan import run_plan
from deploy.review.render import summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="init, plan, show -json, scan and review a synthesized stack")
    p.add_argument("--stack-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-lock", action="store_true", help="plan with -lock=false (read-only roles)")
    s = commands.add_parser("scan", help="run checkov with .checkov.yaml; exit 1 on unskipped findings")
    s.add_argument("file", type=Path)
    s.add_argument("--framework", default="terraform_plan", choices=["terraform_plan", "terraform_json"])
    s.add_argument("--output", type=Path)
    m = commands.add_parser("summary", help="write the Markdown review of a plan JSON")
    m.add_argument("--plan", type=Path, required=True)
    m.add_argument("--checkov", type=Path, help="checkov JSON output to include")
    m.add_argument("--title", default="")
    m.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    if args.command == "plan":
        return run_plan(args.stack_dir, args.out, lock=not args.no_lock)
    if args.command == "scan":
        result, raw = scan(args.file, args.framework)
        if args.output and raw is not None:
            args.output.write_text(json.dumps(raw, indent=1))
        for f in result.failed:
            print(f"FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
        print(result.error or f"checkov {result.version}: {result.passed} passed, {len(result.failed)} failed")
        return 1 if result.failed or result.error else 0
    security = load_checkov(json.loads(args.checkov.read_text())) if args.checkov else None
    review = summarize(json.loads(args.plan.read_text()), args.title or f"`{args.plan}`", security,
                       skipped_checks() if security else None)
    if args.output:
        args.output.write_text(review)
    else:
        print(review)
    return 0


if __name__ == "__main__":
    sys.exit(main())
