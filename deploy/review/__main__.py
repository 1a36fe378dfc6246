"""python -m deploy.review plan|scan|summary|outdated: the Terraform plan review.

    plan --stack-dir DIR --out DIR [--no-lock] [--replace ADDRESS]...   init + plan + show + scan + review
    scan FILE [--framework terraform_plan|terraform_json] [--output results.json]
    summary --plan plan.json [--plan-text plan.txt] [--checkov results.json] [--output review.md]
    outdated [--input old.md] [--output new.md] --outcome "failed"      mark an older review outdated

`plan` writes plan.bin, plan.json, plan.txt, checkov.json and review.md into --out, secrets
redacted (plan.bin excepted: see deploy/review/make_plan.py), and exits 1 when checkov
reports a finding that .checkov.yaml does not skip (the review is written first). `scan`
exits 1 on such a finding. The review states --commit, --environment and --run-url; in
GitHub Actions the commit and run link default to the current run's.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from deploy.private_files import write_private
from deploy.review.checkov import load_checkov, scan, skipped_checks
from deploy.review.make_plan import run_plan
from deploy.review.render import RunInfo, github_run_url, mark_outdated, render_review
from deploy.terraform import NON_INTERACTIVE, Stack, TerraformFailed


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plan":
        return _plan(args)
    if args.command == "scan":
        return _scan(args)
    if args.command == "summary":
        review = render_review(
            json.loads(args.plan.read_text()),
            args.title or f"`{args.plan}`",
            run=_run_info(args),
            security=load_checkov(json.loads(args.checkov.read_text())) if args.checkov else None,
            skipped=skipped_checks() if args.checkov else None,
            plan_text=args.plan_text.read_text() if args.plan_text else None,
        )
        return _emit(review, args.output)
    old = args.input.read_text() if args.input else sys.stdin.read()
    return _emit(mark_outdated(old, commit=args.commit, run_url=args.run_url, outcome=args.outcome), args.output)


def _plan(args) -> int:
    stack = Stack(args.stack_dir.resolve(), log_dir=args.out, environ=dict(os.environ))
    try:
        stack.run("init", *NON_INTERACTIVE, "-reconfigure", echo=print)
        planned = run_plan(stack, args.out, lock=not args.no_lock, replace=args.replace, run=_run_info(args))
    except TerraformFailed as failed:
        print(f"{failed}:\n{failed.output.rstrip()[-3000:]}", file=sys.stderr)
        return 1
    return 1 if planned.security_failed else 0


def _scan(args) -> int:
    result, raw = scan(args.file, args.framework)
    if args.output and raw is not None:
        write_private(args.output, json.dumps(raw, indent=1))
    for f in result.failed:
        print(f"FAILED {f['check_id']} {f['resource']}: {f['check_name']}")
    print(result.error or f"checkov {result.version}: {result.passed} passed, {len(result.failed)} failed")
    return 1 if result.failed or result.error else 0


def _emit(review: str, output: Path | None) -> int:
    if output:
        write_private(output, review)
    else:
        print(review)
    return 0


def _run_info(args) -> RunInfo:
    return RunInfo(commit=args.commit, environment=args.environment, run_url=args.run_url)


def _parser() -> argparse.ArgumentParser:
    origin = argparse.ArgumentParser(add_help=False)  # where a review comes from
    origin.add_argument("--commit", default=os.environ.get("GITHUB_SHA"), help="default: $GITHUB_SHA")
    origin.add_argument(
        "--run-url",
        default=github_run_url(),
        help="default: the GitHub Actions run, from $GITHUB_SERVER_URL, _REPOSITORY, _RUN_ID",
    )
    reviewed = argparse.ArgumentParser(add_help=False, parents=[origin])
    reviewed.add_argument("--environment", help="the environment planned, e.g. dev")

    parser = argparse.ArgumentParser(
        prog="python -m deploy.review", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", parents=[reviewed], help="init, plan, show, scan and review a synthesized stack")
    p.add_argument("--stack-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-lock", action="store_true", help="plan with -lock=false (read-only roles)")
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="plan replacing this resource (terraform plan -replace); repeatable",
    )
    s = commands.add_parser("scan", help="run checkov with .checkov.yaml; exit 1 on unskipped findings")
    s.add_argument("file", type=Path)
    s.add_argument("--framework", default="terraform_plan", choices=["terraform_plan", "terraform_json"])
    s.add_argument("--output", type=Path)
    m = commands.add_parser("summary", parents=[reviewed], help="write the Markdown review of a plan JSON")
    m.add_argument("--plan", type=Path, required=True, help="plan JSON (a redacted one hides which secrets change)")
    m.add_argument("--plan-text", type=Path, help="terraform show -no-color output, folded into the review")
    m.add_argument("--checkov", type=Path, help="checkov JSON output to include")
    m.add_argument("--title", default="")
    m.add_argument("--output", type=Path)
    o = commands.add_parser(
        "outdated",
        parents=[origin],
        help="mark an older review (a PR comment's body) outdated; --commit and --run-url name the latest run",
    )
    o.add_argument(
        "--outcome",
        default="did not produce a new review",
        help='what happened to the latest run: "failed", "was skipped", ...',
    )
    o.add_argument("--input", type=Path, help="the older review (default: standard input)")
    o.add_argument("--output", type=Path)
    return parser


if __name__ == "__main__":
    sys.exit(main())
