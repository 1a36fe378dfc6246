"""stacks/aws.py loads provider submodules without the package __init__; prove it changes nothing.

Synthesizes the whole app twice in subprocesses, once with the fast loader and once with the
plain eager import (REVIEWS_EAGER_PROVIDER_IMPORT=1), into separate outdirs (cdktf's App reads
CDKTF_OUTDIR), and compares the bytes. The eager run takes ~15 s; it runs once per session.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = Path("stacks") / "product-reviews-dev"
SYNTH_ENV = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_STATE_BUCKET": "example-bucket",
    "ENVIRONMENT_SUFFIX": "dev",
    "REPOSITORY": "example/repository",
    "COMMIT_AUTHOR": "example-author",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CHECKPOINT_DISABLE": "1",
}
# Every REVIEWS_* setting the caller may have exported would change the JSON: start clean.
INHERITED_ENV = {
    name: value for name, value in os.environ.items()
    if not name.startswith(("REVIEWS_", "CDKTF_")) and name != "ENVIRONMENT_SUFFIX"
}


def run_python(args: list[str], extra_env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env={**INHERITED_ENV, **SYNTH_ENV, **extra_env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def synth(outdir: Path, eager: bool) -> Path:
    env = {"CDKTF_OUTDIR": str(outdir)}
    if eager:
        env["REVIEWS_EAGER_PROVIDER_IMPORT"] = "1"
    result = run_python(["main.py"], env)
    assert result.returncode == 0, result.stderr
    return outdir / STACK_DIR


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, Path]:
    return {
        "fast": synth(tmp_path_factory.mktemp("fast"), eager=False),
        "eager": synth(tmp_path_factory.mktemp("eager"), eager=True),
    }


def test_fast_loading_synthesizes_byte_identical_json(synthesized):
    fast = (synthesized["fast"] / "cdk.tf.json").read_bytes()
    eager = (synthesized["eager"] / "cdk.tf.json").read_bytes()
    assert b'"aws_lambda_function"' in fast  # the whole stack, not an empty app
    assert fast == eager


def test_fast_loading_writes_the_same_handler_asset(synthesized):
    def assets(stack_dir: Path) -> dict[str, bytes]:
        return {
            path.relative_to(stack_dir).as_posix(): path.read_bytes()
            for path in sorted((stack_dir / "assets").rglob("*")) if path.is_file()
        }

    fast, eager = assets(synthesized["fast"]), assets(synthesized["eager"])
    assert any(name.endswith(".zip") for name in fast), fast.keys()
    assert fast == eager


PROBE_FAST_IMPORT = textwrap.dedent("""
    import json, sys
    from stacks.aws import dynamodb_table
    package = sys.modules["cdktf_cdktf_provider_aws"]
    print(json.dumps({
        "init_ran": "acm_certificate" in vars(package),
        "has_table_class": hasattr(dynamodb_table, "DynamodbTable"),
        "loaded": sorted(name for name in sys.modules if name.startswith("cdktf_cdktf_provider_aws.")),
    }))
""")


def test_fast_path_does_not_execute_the_package_init():
    result = run_python(["-c", PROBE_FAST_IMPORT], {})
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["has_table_class"]
    assert not probe["init_ran"], "the package __init__ ran: every submodule was imported"
    assert "cdktf_cdktf_provider_aws.dynamodb_table" in probe["loaded"]
    # dynamodb_table and the shared _jsii loader, not the 2,135 the __init__ imports.
    assert len(probe["loaded"]) < 40, probe["loaded"]


def test_unknown_submodule_gives_a_clear_import_error():
    result = run_python(["-c", "from stacks.aws import no_such_resource"], {})
    assert result.returncode != 0
    assert "ImportError: cdktf_cdktf_provider_aws.no_such_resource could not be loaded on its own" in result.stderr
    assert "REVIEWS_EAGER_PROVIDER_IMPORT=1" in result.stderr


# The node half: stacks/lazy_provider_index.js, preloaded into the jsii kernel.
LAZY_INDEX = PROJECT_ROOT / "stacks" / "lazy_provider_index.js"
COUNT_LOADED = """
const loaded = () => Object.keys(require.cache).filter((f) => f.includes("provider-aws")).length;
const provider = require(process.argv[1]);
const before = loaded();
const names = Object.keys(provider).length;
const table = typeof provider.dynamodbTable.DynamodbTable;
console.log(JSON.stringify({before, names, table, after: loaded()}));
"""


def node_require(package_dir: Path) -> dict:
    result = subprocess.run(
        ["node", "--require", str(LAZY_INDEX), "-e", COUNT_LOADED, str(package_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_jsii_kernel_loads_only_the_provider_modules_a_stack_uses(synthesized):
    # The synth above unpacked the provider into the project's jsii package cache.
    cache = Path(os.environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"])
    [package_dir] = (cache / "@cdktf" / "provider-aws").glob("*/*/")
    counts = node_require(package_dir)
    assert counts["names"] >= 2000, "every resource module is still exported by name"
    assert counts["table"] == "function"
    assert counts["before"] == 1 and counts["after"] == 2, counts  # the index, then one module


def test_an_index_of_another_shape_loads_unchanged(tmp_path):
    lib = tmp_path / "@cdktf" / "provider-aws" / "lib"
    lib.mkdir(parents=True)
    (lib.parent / "package.json").write_text('{"main": "lib/index.js"}')
    (lib / "dynamodb-table.js").write_text("exports.DynamodbTable = function DynamodbTable() {};\n")
    (lib / "index.js").write_text(
        'exports.dynamodbTable = require("./dynamodb-table");\n'
        "exports.extra = 1; // a statement the lazy loader does not know\n"
    )
    counts = node_require(lib.parent)
    assert counts["before"] == 2, "an unknown shape must be required eagerly, as written"
    assert counts["table"] == "function"
