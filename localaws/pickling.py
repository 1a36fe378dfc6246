"""Pickling moto's backends: what pickle cannot take as it is, and what is written instead.

Found by pickling every service this stack uses after a deploy (moto 5.2.5):
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
import pickle
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend
from moto.iam.models import AWSManagedPolicy, IAMBackend

LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


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


class BackendPickler(pickle.Pickler):
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


class BackendUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, *rest = pid
        if kind == "backend":
            return _backend(*rest)
        account, partition, arn, attachments = rest
        policy = get_backend("iam")[account][partition].managed_policies[arn]
        policy.attachment_count = attachments
        return policy
