"""One synth as main.py does it, with a clock reading after each step (`make bench` runs it).

Prints one JSON object: time.time() when this script's first line ran and after each phase.
benchmarks/run.py adds the two ends only the caller sees: interpreter start-up (before the
first line) and shutdown (after the last phase, until the process has exited).
"""

import time

STARTED = time.time()


def synth_phase_by_phase() -> dict[str, float]:
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    marks = {"first line": STARTED}

    import jsii  # noqa: F401 - with typeguard, attrs and cattrs, before any kernel exists

    marks["python packages (jsii, typeguard, attrs)"] = time.time()
    from stacks.jsii_kernel import enable_fast_synth

    enable_fast_synth()
    import constructs  # noqa: F401 - the first assembly: starts the kernel

    marks["kernel start + constructs"] = time.time()
    from stacks.framework import App  # the framework's package loads here

    marks["framework (Python module, assembly, node modules)"] = time.time()
    from stacks.config import load_config
    from stacks.reviews_stack import ReviewsStack

    marks["stack modules + provider (assembly, submodules)"] = time.time()
    # stacks.synthesis.synthesize() in two steps (it also copies the provider lock file: ~0 ms).
    app = App()
    ReviewsStack(app, load_config(app.node.get_all_context(), os.environ))
    marks["building the construct tree"] = time.time()
    app.synth()
    marks["writing cdk.tf.json and the asset"] = time.time()
    return marks


if __name__ == "__main__":
    import json

    print(json.dumps(synth_phase_by_phase()))
