"""python -m deploy up | down | clean-data | api-key | reviewers | emulator | plan | seal | apply
                 | drift | bootstrap

    up, down, watch, clean-data, api-key, reviewers
                         the local target: make up, make down, ... (deploy/make_up.py,
                         deploy/reviewers.py)
    emulator             only the emulator and its state bucket, for the plain cdktf CLI
    plan, seal, apply,   one environment on either target, as make plan and CI run them
    drift                (deploy/ci.py, deploy/sealed_plan.py, docs/ci.md)
    bootstrap            what an account and environment need before the first plan: state
                         bucket, OIDC provider, CI roles, keys (deploy/bootstrap.py,
                         docs/bootstrap.md)

plan exits 1 when checkov reports a finding that .checkov.yaml does not skip (after writing
the review); drift exits 2 when the environment differs from the code; any failure exits 1.
"""

import argparse
import os
import sys
from pathlib import Path

from stacks.config import ConfigError

from . import bootstrap, ci, make_up, reviewers, watch
from .emulator_lifecycle import start_emulator
from .errors import DeployError
from .local_target import LocalTarget
from .review.render import RunInfo
from .terraform import Interrupted, TerraformFailed
from .workspace import Workspace

MAKE_TARGETS = ("up", "down", "api-key", "reviewers", "plan", "clean-data", "watch")
DRIFT = 2  # exit status of drift when the environment differs from the code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    what = f"make {args.command}" if args.command in MAKE_TARGETS else f"python -m deploy {args.command}"
    try:
        return args.run(args)
    except Interrupted as error:
        print(f"{what} stopped: {error}. Run it again to carry on.", file=sys.stderr)
        return 130
    except TerraformFailed as error:
        print(f"{what} failed: {error}:\n{error.output.rstrip()[-3000:]}", file=sys.stderr)
        return 1
    except (ConfigError, DeployError, RuntimeError) as error:
        print(f"{what} failed: {error}", file=sys.stderr)
        return 1


def _up(args) -> int:
    make_up.up(LocalTarget.load())
    return 0


def _down(args) -> int:
    make_up.down(LocalTarget.load())
    return 0


def _watch(args) -> int:
    try:
        watch.watch(LocalTarget.load())
    except KeyboardInterrupt:
        print("stopped watching")
    return 0


def _clean_data(args) -> int:
    make_up.clean_data(LocalTarget.load())
    return 0


def _api_key(args) -> int:
    print(LocalTarget.load().api_key())
    return 0


def _reviewers(args) -> int:
    print(reviewers.reviewers_text(LocalTarget.load()))
    return 0


def _emulator(args) -> int:
    start_emulator(LocalTarget.load())
    return 0


def _plan(args) -> int:
    workspace = _workspace(args)
    out = args.out or workspace.project_dir / "build" / "plan" / workspace.config.environment
    planned = ci.plan(workspace, out, lock=not args.no_lock, replace=args.replace, run=_run(workspace))
    return 1 if planned.security_failed else 0


def _apply(args) -> int:
    workspace = _workspace(args)
    ci.apply(workspace, args.plan, run=_run(workspace))
    return 0


def _seal(args) -> int:
    workspace = _workspace(args)
    sealed = ci.seal(workspace, args.plan, run=_run(workspace))
    print(f"sealed: {sealed}")
    _github_output("retention-days", str(workspace.config.ci.plan_retention_days))
    return 0


def _github_output(name: str, value: str) -> None:
    """A step output for the workflow (upload-artifact's retention-days), when run in GitHub Actions."""
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a") as output:
            output.write(f"{name}={value}\n")


def _drift(args) -> int:
    workspace = _workspace(args)
    out = args.out or workspace.project_dir / "build" / "drift" / workspace.config.environment
    if ci.drift(workspace, out, lock=not args.no_lock, run=_run(workspace)):
        print(
            f"Drift: {workspace.config.stack_name} differs from the code; the review is {out}/review.md",
            file=sys.stderr,
        )
        return DRIFT
    print(f"No drift: {workspace.config.stack_name} matches the code", file=sys.stderr)
    return 0


def _bootstrap(args) -> int:
    workspace = Workspace.load(os.environ, target=args.target, environment=args.environment, bootstrapping=True)
    print(bootstrap.next_steps(workspace, bootstrap.bootstrap(workspace)))
    return 0


def _workspace(args) -> Workspace:
    return Workspace.load(os.environ, target=args.target, environment=args.environment)


def _run(workspace: Workspace) -> RunInfo:
    return RunInfo.of_github_run(os.environ, environment=workspace.config.environment)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the emulator, deploy the stack, serve it (make up)").set_defaults(run=_up)
    commands.add_parser("down", help="destroy the deployment, stop gateway and emulator (make down)").set_defaults(
        run=_down
    )
    commands.add_parser("api-key", help="print the local storefront API key (make api-key)").set_defaults(run=_api_key)
    commands.add_parser(
        "reviewers", help="set new passwords for the local demo reviewers and print them (make reviewers)"
    ).set_defaults(run=_reviewers)
    commands.add_parser(
        "watch", help="after make up: handler edits go live in about a second, stack edits through make up"
    ).set_defaults(run=_watch)
    commands.add_parser(
        "clean-data", help="stop the emulator and delete its saved state, without Terraform (make clean-data)"
    ).set_defaults(run=_clean_data)
    commands.add_parser(
        "emulator",
        help="start only the emulator and its state bucket, for the plain cdktf CLI (docs/cli.md); make down stops it",
    ).set_defaults(run=_emulator)

    selection = argparse.ArgumentParser(add_help=False)  # which environment, where
    selection.add_argument("--environment", help="environment name (default: $ENVIRONMENT_SUFFIX, else dev)")
    selection.add_argument("--target", choices=["local", "aws"], help="default: $REVIEWS_TARGET, else local")
    planning = argparse.ArgumentParser(add_help=False, parents=[selection])
    planning.add_argument("--no-lock", action="store_true", help="plan with -lock=false (read-only roles)")

    p = commands.add_parser("plan", parents=[planning], help="synth, plan into plan.bin, review (make plan)")
    p.add_argument("--out", type=Path, help="default: build/plan/<environment>")
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="plan replacing this resource (terraform plan -replace); repeatable",
    )
    p.set_defaults(run=_plan)
    a = commands.add_parser("apply", parents=[selection], help="apply exactly a plan.bin that plan wrote")
    a.add_argument(
        "--plan", type=Path, required=True, help="the plan.bin (with plan's record beside it), or its plan.sealed"
    )
    a.set_defaults(run=_apply)
    s = commands.add_parser("seal", parents=[selection], help="encrypt plan.bin and its record for the apply job")
    s.add_argument("--plan", type=Path, required=True, help="the plan.bin; writes plan.sealed beside it")
    s.set_defaults(run=_seal)
    d = commands.add_parser("drift", parents=[planning], help="plan -detailed-exitcode: exit 2 on drift")
    d.add_argument("--out", type=Path, help="where the review goes (default: build/drift/<environment>)")
    d.set_defaults(run=_drift)
    commands.add_parser(
        "bootstrap", parents=[selection], help="create the state bucket, OIDC provider, CI roles and keys"
    ).set_defaults(run=_bootstrap)
    return parser


if __name__ == "__main__":
    sys.exit(main())
