"""python -m localaws emulator start|stop|status | state-bucket | gateway  (see --help).

`make up` / `make down` are `python -m deploy up|down`, built on these pieces.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from localaws import emulator


def _default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    emu = commands.add_parser("emulator", help="moto server on 127.0.0.1 with the local fixes")
    emu.add_argument("action", choices=["start", "stop", "status"])
    emu.add_argument("--port", type=int, default=emulator.DEFAULT_PORT)
    emu.add_argument("--state-dir", type=Path, default=emulator.DEFAULT_STATE_DIR)

    bucket = commands.add_parser(
        "state-bucket",
        help="create the Terraform state bucket if missing; prints 'created' or 'exists'",
    )
    bucket.add_argument("--bucket", required=True)
    bucket.add_argument("--endpoint", default=emulator.endpoint_for(emulator.DEFAULT_PORT))
    bucket.add_argument("--region", default=_default_region())

    gw = commands.add_parser("gateway", help="serve the REST API deployed in the emulator")
    gw.add_argument("--endpoint", default=emulator.endpoint_for(emulator.DEFAULT_PORT))
    gw.add_argument("--region", default=_default_region())
    gw.add_argument("--rest-api-name", required=True)
    gw.add_argument("--stage", required=True)
    gw.add_argument("--port", type=int, default=8080)
    gw.add_argument("--workers", type=int, default=2, help="warm workers per function (default 2)")
    gw.add_argument("--refresh-seconds", type=float, default=5.0,
                    help="re-read the deployment at most this often; 0: only at start (default 5)")

    args = parser.parse_args(argv)
    if args.command == "emulator":
        return _emulator(args)
    if args.command == "state-bucket":
        created = emulator.ensure_state_bucket(args.endpoint, args.bucket, args.region)
        print("created" if created else "exists")
        return 0
    return _gateway(args)


def _emulator(args) -> int:
    if args.action == "start":
        try:
            running = emulator.start(args.port, args.state_dir)
        except RuntimeError as error:  # port taken by something else, or moto failed to start
            print(error, file=sys.stderr)
            return 1
        verb = "reusing running" if running.reused else "started"
        print(f"{verb} emulator pid {running.pid} at {running.endpoint}")
        return 0
    if args.action == "stop":
        stopped = emulator.stop(args.port, args.state_dir)
        print(f"stopped emulator on port {args.port}" if stopped else f"no emulator on port {args.port}")
        return 0
    running = emulator.status(args.port)
    print(f"emulator pid {running.pid} at {running.endpoint}" if running else f"no emulator on port {args.port}")
    return 0 if running else 1


def _gateway(args) -> int:
    from localaws.gateway import LocalGateway, make_server

    try:
        gateway = LocalGateway(args.endpoint, args.region, args.rest_api_name, args.stage,
                               args.workers, args.refresh_seconds)
    except (LookupError, OSError, BotoCoreError, ClientError) as error:
        print(f"cannot read the deployment from {args.endpoint}: {error}", file=sys.stderr)
        return 1
    try:
        server = make_server(gateway, args.port)
    except OSError as error:  # port taken
        gateway.close()
        print(f"cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops workers too
    print(f"serving {args.rest_api_name} stage {args.stage} at http://127.0.0.1:{args.port}/{args.stage}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:  # also on SystemExit from SIGTERM
        server.server_close()
        gateway.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
