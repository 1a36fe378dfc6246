"""python -m localaws emulator start|stop|status | state-bucket | gateway | storefront  (see --help).

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
    gw.add_argument(
        "--refresh-seconds",
        type=float,
        default=5.0,
        help="re-read the deployment at most this often; 0: only at start (default 5)",
    )
    gw.add_argument(
        "--runtimes-dir", type=Path, help="where the declared runtimes' environments are (localaws.runtimes)"
    )

    shop = commands.add_parser("storefront", help="serve the storefront demo page, which calls the API cross-origin")
    shop.add_argument("--endpoint", default=emulator.endpoint_for(emulator.DEFAULT_PORT))
    shop.add_argument("--region", default=_default_region())
    shop.add_argument("--rest-api-name", required=True)
    shop.add_argument("--stage", required=True)
    shop.add_argument("--api-url", required=True, help="where the page calls the API (the local gateway)")
    shop.add_argument("--port", type=int, default=8081)

    args = parser.parse_args(argv)
    if args.command == "storefront":
        return _storefront(args)
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
    found = emulator.status(args.port)
    print(f"emulator pid {found.pid} at {found.endpoint}" if found else f"no emulator on port {args.port}")
    return 0 if found else 1


def _gateway(args) -> int:
    from localaws.gateway import LocalGateway, make_server

    try:
        gateway = LocalGateway(
            args.endpoint,
            args.region,
            args.rest_api_name,
            args.stage,
            args.workers,
            args.refresh_seconds,
            args.runtimes_dir,
        )
    except (LookupError, OSError, BotoCoreError, ClientError) as error:
        print(f"cannot read the deployment from {args.endpoint}: {error}", file=sys.stderr)
        return 1
    try:
        server = make_server(gateway, args.port)
    except OSError as error:  # port taken
        gateway.close()
        print(f"cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    try:
        return _serve(
            server, f"serving {args.rest_api_name} stage {args.stage} at http://127.0.0.1:{args.port}/{args.stage}/"
        )
    finally:  # `kill` stops the warm workers too
        gateway.close()


def _storefront(args) -> int:
    from localaws.storefront import StorefrontServer, deployed_page_config

    page_config = deployed_page_config(args.endpoint, args.region, args.rest_api_name, args.stage)
    try:
        server = StorefrontServer(args.port, args.api_url, page_config)
    except OSError as error:  # port taken
        print(f"cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    return _serve(server, f"serving the storefront at http://localhost:{args.port}/, calling {args.api_url}")


def _serve(server, banner: str) -> int:
    """Serves until Ctrl-C or SIGTERM (`kill`, make down), then closes the server."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(banner, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:  # also on SystemExit from SIGTERM
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
