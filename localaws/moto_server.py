"""The emulator process: moto server with `moto_fixes` applied and extra routes.

Run by `emulator.start()` as `python -m localaws.moto_server --port N --data-dir DIR
[--storefront-origin ORIGIN]`. Before it serves, it loads the state saved in DIR
(`persistence`); every request goes through `emulator_app` (this machine only, writes saved).

Extra routes (moto's own paths never start with /_localaws/):
- GET /_localaws/health -> {"pid": ..., "fixes": [...]}: tells `emulator` that the
  process on the port is ours, and which pid to stop.
- GET /_localaws/lambda-code?region=R&function=NAME_OR_ARN -> the deployed zip.
  moto keeps a function's code only in memory (GetFunction has no fetchable
  Code.Location for a zip upload), and the local gateway needs it to run the function.
- POST /_localaws/sns/confirm?region=R&topic=ARN&endpoint=ADDRESS -> {"confirmed": n}: the
  recipient follows the confirmation link SNS would have mailed (moto_fixes).
- POST /_localaws/sns/expire-unconfirmed?region=R -> {"expired": n}: what SNS does to a
  subscription left unconfirmed for 48 hours.
- /_localaws/recording: PUT {"role": ..., "step": ...} records every AWS call from then
  on under that label (localaws/api_calls.py), GET returns the calls recorded, DELETE stops
  and forgets them. Used by `python -m iam_evidence record`.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qs

from werkzeug.exceptions import HTTPException
from werkzeug.serving import run_simple

from localaws import moto_fixes
from localaws.api_calls import Recorder
from localaws.emulator_app import browser_allowances, guarded, replay, saving_writes
from localaws.persistence import Snapshots, UnreadableState

DEFAULT_ACCOUNT_ID = "123456789012"


def _respond(start_response, status: str, body: bytes, content_type: str):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _lambda_code(query: dict[str, list[str]]) -> bytes:
    from moto.awslambda.models import lambda_backends

    function = query["function"][0]
    # An ARN names its account (arn:aws:lambda:region:account:function:name).
    account = function.split(":")[4] if function.startswith("arn:") else DEFAULT_ACCOUNT_ID
    return lambda_backends[account][query["region"][0]].get_function(function).code_bytes


def _recording(recorder: Recorder, environ, start_response):
    method = environ["REQUEST_METHOD"]
    if method == "PUT":
        label = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        recorder.label({"role": str(label["role"]), "step": str(label["step"])})
    elif method == "DELETE":
        recorder.label(None)
    return _respond(start_response, "200 OK", json.dumps(recorder.calls()).encode(), "application/json")


def _sns_hook(path: str, query: dict[str, list[str]]) -> dict[str, int]:
    account, region = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID), query["region"][0]
    if path.endswith("/confirm"):
        confirmed = moto_fixes.confirm_subscriptions(account, region, query["topic"][0], query["endpoint"][0])
        return {"confirmed": confirmed}
    return {"expired": moto_fixes.expire_unconfirmed_subscriptions(account, region)}


SNS_HOOKS = ("/_localaws/sns/confirm", "/_localaws/sns/expire-unconfirmed")


def with_localaws_routes(moto_app, fixes: list[str]):
    recorder = Recorder()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_localaws/recording":
            return _recording(recorder, environ, start_response)
        if path in SNS_HOOKS and environ.get("REQUEST_METHOD") == "POST":
            try:
                body = json.dumps(_sns_hook(path, parse_qs(environ.get("QUERY_STRING", "")))).encode()
            except (KeyError, IndexError) as error:  # a parameter missing
                return _respond(start_response, "400 Bad Request", repr(error).encode(), "text/plain")
            return _respond(start_response, "200 OK", body, "application/json")
        if path == "/_localaws/health":
            body = json.dumps({"pid": os.getpid(), "fixes": fixes}).encode()
            return _respond(start_response, "200 OK", body, "application/json")
        if path == "/_localaws/lambda-code":
            try:
                code = _lambda_code(parse_qs(environ.get("QUERY_STRING", "")))
            except (KeyError, IndexError, HTTPException) as error:  # no parameter, bad ARN, unknown function
                return _respond(start_response, "404 Not Found", repr(error).encode(), "text/plain")
            return _respond(start_response, "200 OK", code, "application/zip")
        recorder.observe(environ)
        return moto_app(environ, start_response)

    return app


def _create_iam_backends() -> None:
    """Every request looks the caller's access key up in the IAM backends of every known account
    and partition; the first requests create the account's, each loading the ~1,000 AWS managed
    policies (MOTO_IAM_LOAD_MANAGED_POLICIES): about a second the first callers would wait for.
    Created here instead, before the port answers."""
    from moto.iam.models import PARTITION_NAMES, iam_backends

    backends = iam_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)]  # moto answers as it
    for partition in PARTITION_NAMES:
        backends[partition]  # created on first access


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where the emulator's state is saved")
    parser.add_argument("--storefront-origin", help="the one origin whose browser may sign in with Cognito")
    args = parser.parse_args()

    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs from it
    fixes = moto_fixes.apply()
    # Imported after the fixes so every backend app is built from patched classes.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    _create_iam_backends()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    snapshots = Snapshots(args.data_dir)
    try:
        restored = snapshots.restore()
    except UnreadableState as error:
        print(f"the emulator's saved state is unreadable: {error}", file=sys.stderr, flush=True)
        sys.exit(3)
    replayed = set()
    for service, entry in snapshots.logged():  # the writes after each service's saved state
        replay(dispatcher, entry)
        replayed.add(service)
    snapshots.save(replayed)  # saved whole: the next log starts empty
    loaded = ", ".join(restored) or "nothing"
    print(f"restored {loaded}, then replayed the logged writes to {', '.join(replayed) or 'nothing'}", flush=True)
    saved = saving_writes(dispatcher, snapshots)
    app = guarded(with_localaws_routes(saved, fixes), browser_allowances(args.storefront_origin))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
