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

What pickle cannot take as it is, and what is written instead (found by pickling every
service this stack uses after a deploy, moto 5.2.5):
- another service's backend (Lambda functions keep the logs backend, Application Auto
  Scaling the ECS one): a reference, resolved to the live backend when loading; files are
  loaded so that a referenced service comes first;
- AWS managed policies (~1,300 per IAM partition, 24 MB and 0.5 s per save): a reference by
  ARN, resolved to the policy the restarted emulator loaded itself, with its attachment count;
- locks (lost by design: a new one), weak-value dictionaries (their current entries),
  private keys (KMS: their DER bytes), and the defaultdict factories named in FACTORIES.
"""

import importlib
import io
import json
import os
import pickle
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend
from moto.iam.models import AWSManagedPolicy, IAMBackend

SUFFIX = ".pickle"
LOG = ".log."
LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


class UnreadableState(RuntimeError):
    """A saved state file cannot be loaded: the message names it and says what to do."""


def _dict_of_dicts() -> defaultdict[str, dict[str, Any]]:
    return defaultdict(dict)


# defaultdict factories moto defines inline (a lambda cannot be pickled), by qualified name.
FACTORIES: dict[str, Callable[[], Any]] = {
    "SimpleSystemManagerBackend.__init__.<locals>.<lambda>": _dict_of_dicts,
    "LambdaStorage.__init__.<locals>.<lambda>": dict,
}


def _defaultdict(kind: type[defaultdict[Any, Any]], factory: Callable[[], Any] | None) -> defaultdict[Any, Any]:
    """An empty `kind` (a defaultdict, or a subclass whose __init__ wants more) with `factory`."""
    made = defaultdict.__new__(kind)
    defaultdict.__init__(made, factory)
    return made


def _new_lock(kind: str) -> Any:
    return threading.RLock() if kind == "RLock" else threading.Lock()


def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, password=None)


def _iam_backend(state: dict[str, Any]) -> IAMBackend:
    """An IAM backend from its saved state, with the AWS managed policies of the one this
    emulator created at start (the saved state holds only references to those in use)."""
    backend = IAMBackend.__new__(IAMBackend)
    backend.__dict__.update(state)
    started_with = get_backend("iam")[backend.account_id][backend.partition]
    backend.aws_managed_policies = started_with.aws_managed_policies
    backend.managed_policies = {**started_with.managed_policies, **state["managed_policies"]}
    return backend


def _iam_state(backend: IAMBackend) -> dict[str, Any]:
    state = dict(backend.__dict__)
    state["aws_managed_policies"] = []
    state["managed_policies"] = {
        arn: policy for arn, policy in backend.managed_policies.items() if not isinstance(policy, AWSManagedPolicy)
    }
    return state


def _backend(module: str, name: str, account: str, region: str) -> BaseBackend:
    """The live backend of class `module.name` for the account and region."""
    backend_class = getattr(importlib.import_module(module), name)
    backends = vars(importlib.import_module(module)).values()  # a models module imports others' BackendDicts too
    [found] = [value for value in backends if isinstance(value, BackendDict) and value.backend is backend_class]
    return found[account][region]


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, own: BackendDict[Any]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.own = {id(backend) for regions in own.values() for backend in regions.values()}
        self.references: set[str] = set()

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, BaseBackend) and id(obj) not in self.own:
            module = type(obj).__module__
            self.references.add(module)
            return ("backend", module, type(obj).__name__, obj.account_id, getattr(obj, "region_name", "aws"))
        if isinstance(obj, AWSManagedPolicy):
            return ("aws-managed-policy", obj.account_id, obj.partition, obj.arn, obj.attachment_count)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, IAMBackend):
            return _iam_backend, (_iam_state(obj),)
        if isinstance(obj, LOCK_TYPES):
            return _new_lock, (type(obj).__name__,)
        if isinstance(obj, weakref.WeakValueDictionary):
            return weakref.WeakValueDictionary, (dict(obj),)
        if isinstance(obj, PRIVATE_KEYS):
            der = obj.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (der,)
        if isinstance(obj, defaultdict):  # subclasses too: moto's ParameterDict needs arguments
            factory = obj.default_factory
            factory = FACTORIES.get(getattr(factory, "__qualname__", ""), factory)
            state = getattr(obj, "__dict__", None) or None  # a subclass's own attributes
            return _defaultdict, (type(obj), factory), state, None, iter(obj.items())
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, *rest = pid
        if kind == "backend":
            return _backend(*rest)
        account, partition, arn, attachments = rest
        policy = get_backend("iam")[account][partition].managed_policies[arn]
        policy.attachment_count = attachments
        return policy


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
        pickler = _Pickler(data, backends)
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
            saved = _Unpickler(io.BytesIO(data)).load()
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
