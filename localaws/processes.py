"""Which process is which, from /proc: a process is signalled only when it is provably the one
this project started, never because a state file or a health answer names its pid.

A process is ours when it runs as this user, its command line is the one we started, and
either its start time is the one recorded when we started it, or it owns the socket listening
on the port we gave it. Signals go through a pidfd opened before the check, so a pid reused in
between cannot receive them.
"""

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Identity:
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: when it started, in clock ticks since boot
    uid: int
    command: tuple[str, ...]

    @classmethod
    def of(cls, pid: int) -> "Identity | None":
        """The process `pid` as /proc describes it now; None if there is none (or a zombie)."""
        try:
            stat = (PROC / str(pid) / "stat").read_text()
            command = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
            uid = (PROC / str(pid)).stat().st_uid
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()  # after the (command name), which may hold spaces
        if fields[0] == "Z":
            return None
        return cls(pid, int(fields[19]), uid, tuple(part.decode(errors="replace") for part in command if part))

    def runs(self, *arguments: str) -> bool:
        """Ours (this user's) and started with `arguments` in this order, e.g. ("-m", "localaws")."""
        command, wanted = "\0".join(("", *self.command, "")), "\0".join(("", *arguments, ""))
        return self.uid == os.getuid() and wanted in command


def listening_pids(port: int) -> set[int]:
    """The processes of this user holding a socket that listens on 127.0.0.1:`port`."""
    inodes = _listening_inodes(port)
    owners = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != os.getuid():
                continue
            for descriptor in (entry / "fd").iterdir():
                if os.readlink(descriptor) in inodes:
                    owners.add(int(entry.name))
                    break
    return owners


def _listening_inodes(port: int) -> set[str]:
    found = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (PROC / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rpartition(":")[2], 16) == port:  # 0A: LISTEN
                    found.add(f"socket:[{inode}]")
    return found


def signal_if_same(expected: Identity, signal_number: int, group: bool = False) -> bool:
    """Sends `signal_number` to `expected.pid` (its process group with `group`) only if that
    pid is still the same process; False when it is gone or is another process now."""
    try:
        pidfd = os.pidfd_open(expected.pid)
    except ProcessLookupError:
        return False
    try:
        if Identity.of(expected.pid) != expected:
            return False
        if group:
            os.killpg(expected.pid, signal_number)  # the group of a verified leader (pidfd keeps its pid)
        else:
            signal.pidfd_send_signal(pidfd, signal_number)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)
