"""Structured log lines and the Fault metric, as single JSON lines on stdout.

Lambda ships stdout to CloudWatch Logs line by line, and CloudWatch turns a line carrying an
"_aws" block (Embedded Metric Format) into a metric, so no SDK call is needed.
"""

import json
import time
import traceback

from . import contract


def write_line(record: dict[str, object]) -> None:
    print(json.dumps(record, separators=(",", ":")), flush=True)


def log_request(request_id: str, method: str, route: str, status: int, latency_ms: float) -> None:
    # Route template and status only: review text and query values stay out of INFO logs.
    write_line(
        {
            "level": "INFO",
            "message": "request",
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "latency_ms": round(latency_ms, 2),
        }
    )


def log_fault(request_id: str, reason: str | None = None) -> None:
    """Call from an except block: logs the exception being handled (and `reason`, if given)."""
    write_line(
        {
            "level": "ERROR",
            "message": reason or "unhandled fault",
            "request_id": request_id,
            "traceback": traceback.format_exc(),
        }
    )


def emit_fault_metric(function_name: str) -> None:
    write_line(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": contract.METRIC_NAMESPACE,
                        "Dimensions": [[contract.METRIC_DIMENSION]],
                        "Metrics": [{"Name": contract.FAULT_METRIC, "Unit": "Count"}],
                    }
                ],
            },
            contract.METRIC_DIMENSION: function_name,
            contract.FAULT_METRIC: 1,
        }
    )
