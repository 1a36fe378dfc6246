"""Inside one warm worker process: load the handler once, then run one invocation per line.

Started by `workers.Worker` as a script (not a module of the localaws package), with
cwd and sys.path at the unpacked function code and the function's environment. Protocol: one JSON line in per invocation
({"event", "request_id", "deadline"}), one JSON line out ({"result"} or {"error"}).
The handler's own prints go to stderr (the gateway's console, standing in for
CloudWatch Logs), so they cannot corrupt the protocol on stdout.
"""

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes of the Lambda context object that handlers commonly use."""

    def __init__(self, request_id: str, deadline: float):
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ["LOCALAWS_FUNCTION_ARN"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_handler():
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # handler output -> stderr
    sys.stdout = sys.stderr
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]  # instead of this script's folder

    try:  # the init phase: once per worker, like a Lambda cold start
        handler, init_error = _load_handler(), None
    except Exception:  # noqa: BLE001 - as in Lambda, a handler that fails to load fails each invocation
        handler, init_error = None, traceback.format_exc()

    for line in sys.stdin:  # EOF when the gateway goes away: exit with it
        invocation = json.loads(line)
        try:
            if init_error:
                raise RuntimeError(f"handler {os.environ['_HANDLER']} failed to load:\n{init_error}")
            context = LambdaContext(invocation["request_id"], invocation["deadline"])
            # Serializing inside the try: output that is not JSON is a function error too.
            reply = json.dumps({"result": handler(invocation["event"], context)})
        except Exception:  # noqa: BLE001 - as in Lambda, whatever the handler raises is a function error
            error = traceback.format_exc()
            print(error, file=sys.stderr, flush=True)
            reply = json.dumps({"error": error})
        protocol.write(reply + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
