"""`python -m stacks.bootstrap [--local-state-dir DIR]`: synthesizes the bootstrap stacks of the
environment the settings select (ENVIRONMENT_SUFFIX, REVIEWS_TARGET, ..., as for main.py) into
cdktf.out/stacks/<stack>/. With --local-state-dir, the account stack that creates the state
bucket keeps its state in a file under DIR (the bucket does not hold it yet)."""

import argparse
import os
import sys
from pathlib import Path

from stacks.jsii_kernel import enable_fast_synth

# Before cdktf is imported: the jsii kernel starts then, with a copy of the environment.
enable_fast_synth()

from stacks import provider_version  # noqa: E402 - grouped with the imports that need the kernel set up
from stacks.config import ConfigError, load_config  # noqa: E402 - imports cdktf
from stacks.framework import App  # noqa: E402 - imported once the kernel's environment is set

from .config import account_configs, environment_config  # noqa: E402 - grouped with the imports that need the kernel set up
from .stacks import AccountStack, EnvironmentCiStack  # noqa: E402 - imports cdktf


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stacks.bootstrap", description=__doc__)
    parser.add_argument("--local-state-dir", type=Path)
    args = parser.parse_args()
    app = App()
    try:
        config = load_config(app.node.get_all_context(), os.environ, bootstrapping=True)
        accounts = account_configs(config, args.local_state_dir)
        environment = environment_config(config)
    except ConfigError as error:
        sys.exit(f"synth failed: {error}")
    stacks = [*(AccountStack(app, account) for account in accounts), EnvironmentCiStack(app, environment)]
    app.synth()
    for stack in stacks:  # the provider version and lock file, as for the app's stack (stacks/synthesis.py)
        pin = provider_version.settle(Path(app.outdir) / "stacks" / stack.node.id)
        if pin:
            print(f"warning: {pin.message()}", file=sys.stderr)


if __name__ == "__main__":
    main()
