"""Small measuring tools shared by the benchmark sections: summaries, and commands run with their
wall and CPU time, process-tree memory and output."""

import os
import resource
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Fake credentials and no config files: creating a client must not look for real ones or call IMDS.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-2",
    "AWS_DEFAULT_REGION": "us-east-2",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "ProductReviews-bench",
    "REVIEWER_INDEX_NAME": "ReviewerIdIndex",
    "ALLOWED_ORIGINS": "*",
}


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    runs: int

    def text(self, unit: str, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} {unit} (range {self.low:.{digits}f}–{self.high:.{digits}f}, {self.runs} runs)"


def clean_env(extra: dict) -> dict:
    """The caller's environment without stack, AWS, CDK and jsii settings (they would change what is measured)."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REVIEWS_", "CDKTF_", "CDK_", "AWS_", "JSII_")) and k != "NODE_OPTIONS"
    }
    return {**inherited, **extra}


def summarize(values: list[float]) -> Summary:
    return Summary(statistics.median(values), min(values), max(values), len(values))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _status_kb(pid: int, field_name: str) -> tuple[str, int] | None:
    """(command name, value in kB) of a /proc/<pid>/status field, or None if the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    values = dict(line.split(":", 1) for line in lines if ":" in line)
    if field_name not in values:
        return None
    return values["Name"].strip(), int(values[field_name].split()[0])


@dataclass
class ProcessTreeMemory:
    """Polls a process and its descendants: each process's peak RSS (VmHWM), and the peak of their sum.

    VmHWM is the kernel's own high-water mark, so a short spike between two polls still counts
    as long as the process is still alive at the next poll (polls are `interval` apart).
    """

    root_pid: int
    interval: float = 0.02
    peak_rss_kb_by_process: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid: (command, kB)
    peak_total_rss_kb: int = 0

    def poll(self) -> None:
        pids, total = [self.root_pid], 0
        while pids:
            pid = pids.pop()
            pids.extend(_children(pid))
            rss, hwm = _status_kb(pid, "VmRSS"), _status_kb(pid, "VmHWM")
            if rss is None or hwm is None:
                continue
            total += rss[1]
            self._record(pid, *hwm)
        self.peak_total_rss_kb = max(self.peak_total_rss_kb, total)

    def _record(self, pid: int, command: str, peak_kb: int) -> None:
        """A forked child shows its parent's pages until it execs: a process counts as what it became."""
        known_command, known_peak = self.peak_rss_kb_by_process.get(pid, (command, 0))
        if known_command != command:
            known_peak = 0
        self.peak_rss_kb_by_process[pid] = (command, max(known_peak, peak_kb))

    def largest_process_mb(self) -> float:
        return max((kb for _, kb in self.peak_rss_kb_by_process.values()), default=0) / 1024

    def peak_mb_by_command(self) -> dict[str, float]:
        """Summed per command name (python, node, ...): the figure to compare with a budget."""
        by_command: dict[str, float] = {}
        for command, kb in self.peak_rss_kb_by_process.values():
            by_command[command] = by_command.get(command, 0.0) + kb / 1024
        return by_command


@dataclass(frozen=True)
class TimedRun:
    seconds: float
    started_at: float  # time.time() at start, to place file mtimes on the same clock
    peak_mb_by_command: dict[str, float]
    peak_total_mb: float  # the largest simultaneous sum seen by polling
    largest_process_mb: float  # the highest peak of any one process
    cpu_seconds: float  # user + system time of the process and every descendant it waited for
    output: str  # what it printed, stdout and stderr
    returncode: int

    @property
    def peak_mb(self) -> float:
        """Each process's own peak, summed: never below the true simultaneous peak."""
        return sum(self.peak_mb_by_command.values())


def run_measured(command: list[str], env: dict, cwd: Path, timeout: float = 300, check: bool = True) -> TimedRun:
    """Runs `command` to completion and returns its wall and CPU time, process-tree memory peaks
    and output (stdout and stderr); raises when it fails, unless check=False."""
    started_at = time.time()
    started = time.perf_counter()
    cpu_before = _children_cpu_seconds()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    memory = ProcessTreeMemory(process.pid)
    output: list[bytes] = []
    pipe = process.stdout
    assert pipe  # the pipe just asked for (typed optional)
    reader = threading.Thread(target=lambda: output.append(pipe.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        memory.poll()
        if time.perf_counter() - started > timeout:
            process.kill()
        time.sleep(memory.interval)
    seconds = time.perf_counter() - started
    reader.join()
    printed = b"".join(output).decode(errors="replace")
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {printed[-2000:]}")
    return TimedRun(
        seconds,
        started_at,
        memory.peak_mb_by_command(),
        memory.peak_total_rss_kb / 1024,
        memory.largest_process_mb(),
        _children_cpu_seconds() - cpu_before,
        printed,
        process.returncode,
    )


def _children_cpu_seconds() -> float:
    """CPU time of this process's finished children (and theirs): on a loaded machine, closer to
    what a command costs than its wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
