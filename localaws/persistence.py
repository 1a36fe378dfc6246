"""The emulator's state on disk, so that a crash, a `kill -9` or a reboot loses nothing.

moto keeps every service's state in memory, in one `BackendDict` per service
({account: {region: backend}}), and has no persistence of its own. This module pickles a
service's backends into `<data dir>/<service>.pickle`, written atomically (a temporary file,
fsync, rename, fsync of the folder), and loads every such file before the emulator serves.
`emulator_app` saves the services a mutating request touched before that request is answered,
so an acknowledged write is on disk. A DynamoDB item write (the API's every POST) is appended
to a write-ahead log instead (`<service>.log.<generation>`, one fsynced line each): pickling
the whole service per write costs ~40 ms with a few hundred reviews. A saved service starts a
new generation, its file naming the generation whose log follows it, so a log is replayed
exactly once on top of the state it was written after.

How backends are pickled, and what pickle cannot take as it is: `pickling`.
"""

import io
import json
import os
import pickle
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from moto.backends import get_backend
from moto.core.base_backend import BackendDict

from localaws.pickling import BackendPickler, BackendUnpickler

SUFFIX = ".pickle"
LOG = ".log."


class UnreadableState(RuntimeError):
    """A saved state file cannot be loaded: the message names it and says what to do."""


class Snapshots:
    """The saved state of every service, one file per service in `directory`."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.generations: dict[str, int] = {}  # the log generation that follows each saved service

    def save(self, services: Iterable[str]) -> None:
        """Writes the current state of each service (a moto backend name: "dynamodb", "s3"),
        starting a new log generation for it; the logs it replaces are deleted afterwards."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for service in services:
            generation = self.generations.get(service, 0) + 1
            backends = get_backend(service)  # type: ignore[call-overload]  # any service name
            self._write(service, self._dump(backends, generation))
            self.generations[service] = generation
        _fsync_directory(self.directory)
        for service in services:
            for old in self.directory.glob(f"{service}{LOG}*"):
                if old != self._log(service):
                    old.unlink()

    def append(self, service: str, entry: dict[str, str]) -> int:
        """Appends one write to the service's log, on disk when this returns; the log's size."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self._log(service), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, (json.dumps(entry) + "\n").encode())
            os.fdatasync(descriptor)
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def logged(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(service, entry) for each write logged after its service's saved state, in order."""
        for path in sorted(self.directory.glob(f"*{LOG}*")):
            service, _, generation = path.name.partition(LOG)
            if int(generation) == self.generations.get(service, 0):
                for line in path.read_text().splitlines():
                    if line.endswith("}"):  # a line cut short by a crash was never acknowledged
                        yield service, json.loads(line)

    def _log(self, service: str) -> Path:
        return self.directory / f"{service}{LOG}{self.generations.get(service, 0)}"

    def saved_services(self) -> list[str]:
        return sorted(path.name.removesuffix(SUFFIX) for path in self.directory.glob(f"*{SUFFIX}"))

    def restore(self) -> list[str]:
        """Loads every saved service into moto's backends; returns their names."""
        saved = {service: self.directory / f"{service}{SUFFIX}" for service in self.saved_services()}
        headers = {service: self._read(path) for service, path in saved.items()}
        for service in _dependencies_first(headers):
            self._load(service, headers[service][1], saved[service])
            self.generations[service] = headers[service][3]
        return list(headers)

    def _dump(self, backends: BackendDict[Any], generation: int) -> bytes:
        data = io.BytesIO()
        pickler = BackendPickler(data, backends)
        pickler.dump({account: dict(regions) for account, regions in backends.items()})
        module = backends.backend.__module__
        return pickle.dumps((module, sorted(pickler.references - {module}), data.getvalue(), generation))

    def _write(self, service: str, content: bytes) -> None:
        temporary = self.directory / f".{service}{SUFFIX}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.directory / f"{service}{SUFFIX}")

    def _read(self, path: Path) -> tuple[list[str], bytes, str, int]:
        """(the modules it references, its pickled backends, its own module, its log generation)."""
        try:
            module, references, data, generation = pickle.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, TypeError) as error:
            raise UnreadableState(f"{path} cannot be read ({error!r})") from None
        return references, data, module, generation

    def _load(self, service: str, data: bytes, path: Path) -> None:
        backends = get_backend(service)  # type: ignore[call-overload]  # any service name
        try:
            saved = BackendUnpickler(io.BytesIO(data)).load()
        except Exception as error:  # noqa: BLE001 - whatever a broken or foreign file raises, it is unreadable
            raise UnreadableState(f"{path} cannot be loaded ({error!r})") from None
        for account, regions in saved.items():
            account_backends = backends[account]
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)


def _dependencies_first(headers: dict[str, tuple[list[str], bytes, str, int]]) -> list[str]:
    """Services in an order where each one's referenced services (when saved) come first."""
    by_module = {module: service for service, (_, _, module, _) in headers.items()}
    ordered: list[str] = []

    def visit(service: str, path: tuple[str, ...]) -> None:
        if service in ordered or service in path:
            return
        for module in headers[service][0]:
            if module in by_module:
                visit(by_module[module], (*path, service))
        ordered.append(service)

    for service in headers:
        visit(service, ())
    return ordered


def _fsync_directory(directory: Path) -> None:
    """The renames in `directory` survive a crash of the machine, not only of the process."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
