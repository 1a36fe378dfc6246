"""Handler cold start: import + client creation in fresh interpreters, against a bare boto3
client (interpreter start-up excluded, the same for both)."""

import subprocess
import sys
from pathlib import Path

from measure import AWS_ENV, clean_env, summarize

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COLD_START_SNIPPETS = {
    "handler": "import reviews.app\nreviews.app.default_app()",
    "bare_boto3": "import boto3\nboto3.client('dynamodb', region_name='us-east-2')",
}
TIMED_SNIPPET = "import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"


def measure_cold_start(runs: int) -> dict:
    """Import + client creation in fresh interpreters (interpreter start-up excluded, the same for both)."""
    env = clean_env({**AWS_ENV, "PYTHONPATH": str(PROJECT_ROOT / "handlers")})
    seconds: dict[str, list[float]] = {name: [] for name in COLD_START_SNIPPETS}
    for _ in range(runs):
        for name, code in COLD_START_SNIPPETS.items():
            out = subprocess.run(
                [sys.executable, "-c", TIMED_SNIPPET.format(code=code)],
                env=env,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seconds[name].append(float(out.split()[-1]) * 1000)
    result = {name: vars(summarize(values)) for name, values in seconds.items()}
    result["ratio"] = result["handler"]["median"] / result["bare_boto3"]["median"]
    return result
