"""Warm worker processes that run a deployed function, like Lambda execution environments.

A `FunctionPool` unpacks the function's zip once and keeps up to `size` workers
(`lambda_runtime` processes). A worker starts on demand (a cold start) and is reused by
later invocations; one that times out or dies is killed and replaced by a fresh one.
When all are busy, an invocation waits for one, for at most the function's timeout.
"""

import contextlib
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import IO

from localaws.deployment import Function
from localaws.emulator import FAKE_CREDENTIALS

RUNTIME_SCRIPT = Path(__file__).resolve().parent / "lambda_runtime.py"


class InvocationTimeout(Exception):
    pass


class InvocationFailed(Exception):
    """The function raised, or its worker died: `str(error)` says which."""


class PoolClosed(InvocationFailed):
    """The pool was retired (a reload brought new code) before the invocation got a worker."""


class Worker:
    def __init__(self, function: Function, code_dir: Path, emulator_endpoint: str, interpreter: str):
        # Built from scratch, as in Lambda: nothing (credentials, profiles) leaks from ours.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TZ": ":UTC",
            **dict(function.environment),
            "AWS_ENDPOINT_URL": emulator_endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "LOCALAWS_FUNCTION_ARN": function.arn,
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": function.handler,
        }
        self.process = subprocess.Popen(
            # Run by path, not -m: the function must import only what its zip holds (and the
            # interpreter's packages), not this project's modules.
            [interpreter, str(RUNTIME_SCRIPT)],
            cwd=code_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin and self.process.stdout  # the pipes just asked for (typed optional)
        self.requests: IO[str] = self.process.stdin
        self.replies: IO[str] = self.process.stdout

    def invoke(self, event: dict, request_id: str, timeout_seconds: float):
        """The handler's return value; raises InvocationTimeout or InvocationFailed."""
        deadline = time.time() + timeout_seconds
        try:
            invocation = {"event": event, "request_id": request_id, "deadline": deadline}
            self.requests.write(json.dumps(invocation) + "\n")
            self.requests.flush()
        except BrokenPipeError:
            raise InvocationFailed("worker exited before the invocation") from None
        # On a cold worker this also covers importing the handler (Lambda times init apart).
        ready, _, _ = select.select([self.replies], [], [], timeout_seconds)
        if not ready:
            raise InvocationTimeout(f"no answer within {timeout_seconds}s")
        line = self.replies.readline()
        if not line:
            raise InvocationFailed(f"worker exited with {self.process.wait()}")
        reply = json.loads(line)
        if "error" in reply:
            raise InvocationFailed(reply["error"])
        return reply["result"]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.requests, self.replies):
            with contextlib.suppress(BrokenPipeError):  # unflushed input to a worker that is gone
                stream.close()


class FunctionPool:
    def __init__(
        self,
        function: Function,
        code_zip: bytes,
        emulator_endpoint: str,
        size: int = 2,
        interpreter: str = sys.executable,
    ):
        self.function = function
        self._interpreter = interpreter  # the Python the function's runtime declares (localaws.runtimes)
        self._emulator_endpoint = emulator_endpoint
        self._size = size
        self._code = tempfile.TemporaryDirectory(prefix=f"localaws-{function.name}-")
        zipfile.ZipFile(io.BytesIO(code_zip)).extractall(self._code.name)
        self._idle: list[Worker] = []
        self._started = 0  # workers alive, idle or busy
        self._available = threading.Condition()
        self._closed = False

    def invoke(self, event: dict, request_id: str):
        worker = self._acquire()
        healthy = False
        try:
            result = worker.invoke(event, request_id, self.function.timeout_seconds)
            healthy = True
            return result
        except InvocationFailed:
            healthy = worker.process.poll() is None  # a raised exception leaves it warm
            raise
        finally:
            self._release(worker, healthy)

    def _acquire(self) -> Worker:
        with self._available:
            free = self._available.wait_for(
                lambda: self._closed or self._idle or self._started < self._size,
                timeout=self.function.timeout_seconds,
            )
            if not free:
                raise InvocationTimeout(f"no worker free within {self.function.timeout_seconds}s")
            if self._closed:
                raise PoolClosed("function pool closed")
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return Worker(self.function, Path(self._code.name), self._emulator_endpoint, self._interpreter)
        except Exception:
            with self._available:
                self._started -= 1
                self._available.notify()
            raise

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._available:
            if healthy and not self._closed:
                self._idle.append(worker)
            else:
                worker.stop()
                self._started -= 1
            self._available.notify()
            self._clean_up_when_retired()

    def close(self) -> None:
        """Stop idle workers now; busy ones (and ones starting) stop when their invocation
        returns, and the unpacked code is deleted after the last of them."""
        with self._available:
            self._closed = True
            for worker in self._idle:
                worker.stop()
            self._started -= len(self._idle)
            self._idle.clear()
            self._available.notify_all()
            self._clean_up_when_retired()

    def _clean_up_when_retired(self) -> None:
        """Deletes the unpacked code once the pool is closed and no worker runs from it (a
        worker starting from a deleted folder fails to import the handler). Called locked."""
        if self._closed and self._started == 0:
            self._code.cleanup()
