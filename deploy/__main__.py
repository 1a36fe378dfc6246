"""python -m deploy up | down | plan | api-key: the local target (see deploy/local.py)."""

import argparse
import sys

from stacks.config import ConfigError

from . import local
from .terraform import Interrupted, TerraformFailed
from .workspace import DeployError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the emulator, deploy the stack, serve it (make up)")
    commands.add_parser("down", help="destroy the deployment, stop gateway and emulator (make down)")
    commands.add_parser("api-key", help="print the local storefront API key (make api-key)")
    args = parser.parse_args(argv)
    try:
        target = local.Local.load()
        if args.command == "api-key":
            print(local.api_key_value(target))
        else:
            (local.up if args.command == "up" else local.down)(target)
    except Interrupted as error:
        print(f"make {args.command} stopped: {error}. Run it again to carry on.", file=sys.stderr)
        return 130
    except TerraformFailed as error:
        print(f"make {args.command} failed: {error}; see the log in .local/", file=sys.stderr)
        return 1
    except (ConfigError, DeployError, RuntimeError) as error:
        print(f"make {args.command} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
