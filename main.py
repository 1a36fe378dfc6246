#!/usr/bin/env python3
"""The CDK app (CDKTF or CDK Terrain, stacks/framework.py): read the configuration, build the
stack, write cdktf.out/."""

import os
import sys

from stacks.jsii_kernel import enable_fast_synth

# Before the framework is imported: the jsii kernel starts then, with a copy of the environment.
enable_fast_synth()

from stacks.config import ConfigError, load_config  # noqa: E402 - imports the framework
from stacks.framework import App  # noqa: E402 - imported once the kernel's environment is set
from stacks.synthesis import synthesize  # noqa: E402 - imports the framework


def main() -> None:
    app = App()
    try:
        config = load_config(app.node.get_all_context(), os.environ)
    except ConfigError as error:
        sys.exit(f"synth failed: {error}")
    synthesize(app, config)


if __name__ == "__main__":
    main()
