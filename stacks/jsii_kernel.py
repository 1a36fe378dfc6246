"""How the jsii kernel starts for a synth: call enable_fast_synth() before importing cdktf.

The kernel is the node process that jsii's Python client starts when cdktf is first
imported; it gets a copy of the environment at that moment, so everything here works
through the environment and must happen before that import (main.py and tests/conftest.py
call it first thing):
- the provider's node modules load one at a time (stacks/aws.py, enable_fast_provider_loading);
- the kernel runs as one node process instead of jsii's two (stacks/jsii_kernel_node.sh):
  ~0.1 s and ~40 MB less per synth. A JSII_NODE the caller has set wins (JSII_NODE=node
  gives jsii's own two-process kernel).
"""

import os
from pathlib import Path

from .aws import enable_fast_provider_loading

ONE_PROCESS_KERNEL_NODE = Path(__file__).with_name("jsii_kernel_node.sh")


def enable_fast_synth() -> None:
    enable_fast_provider_loading()
    os.environ.setdefault("JSII_NODE", str(ONE_PROCESS_KERNEL_NODE))
