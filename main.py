#!/usr/bin/env python3
"""CDKTF entry point: read the configuration, build the stack, write cdktf.out/."""

import os
import sys

# stacks before cdktf: importing it prepares the jsii kernel to load the provider lazily.
from stacks.config import ConfigError, load_config
from stacks.synthesis import synthesize

from cdktf import App  # noqa: E402


def main() -> None:
    app = App()
    try:
        config = load_config(app.node.get_all_context(), os.environ)
    except ConfigError as error:
        sys.exit(f"synth failed: {error}")
    synthesize(app, config)


if __name__ == "__main__":
    main()
