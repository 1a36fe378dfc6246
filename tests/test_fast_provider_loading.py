"""The fast synth path (stacks/jsii_kernel.py) changes the speed and nothing else: prove it.

stacks/aws.py loads provider submodules without the package __init__, in Python and in node,
and the jsii kernel runs as one node process. Synthesizes the whole app twice in subprocesses,
once the fast way and once the plain way (REVIEWS_EAGER_PROVIDER_IMPORT=1 and jsii's own
two-process kernel, JSII_NODE=node), into separate outdirs (the framework's App reads
CDKTF_OUTDIR), and compares the bytes. The plain run takes ~15 s; it runs once per session.
Both frameworks' bindings have the shape the fast path needs: CI runs this file on each.
"""

import base64
import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from stacks import aws, framework

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = Path("stacks") / "product-reviews-dev"
SYNTH_ENV = {
    "REVIEWS_TARGET": "aws",
    "REVIEWS_STATE_BUCKET": "example-bucket",
    "ENVIRONMENT_SUFFIX": "dev",
    "REPOSITORY": "example/repository",
    "COMMIT_AUTHOR": "example-author",
    "CHECKPOINT_DISABLE": "1",
}
# Every REVIEWS_* setting the caller may have exported would change the JSON: start clean.
INHERITED_ENV = {
    name: value
    for name, value in os.environ.items()
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


PLAIN_JSII = {"REVIEWS_EAGER_PROVIDER_IMPORT": "1", "JSII_NODE": "node"}


def synth(outdir: Path, plain: bool) -> Path:
    env = {"CDKTF_OUTDIR": str(outdir), **(PLAIN_JSII if plain else {})}
    result = run_python(["main.py"], env)
    assert result.returncode == 0, result.stderr
    return outdir / STACK_DIR


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, Path]:
    return {
        "fast": synth(tmp_path_factory.mktemp("fast"), plain=False),
        "plain": synth(tmp_path_factory.mktemp("plain"), plain=True),
    }


def test_fast_synth_writes_byte_identical_json(synthesized):
    fast = (synthesized["fast"] / "cdk.tf.json").read_bytes()
    plain = (synthesized["plain"] / "cdk.tf.json").read_bytes()
    assert b'"aws_lambda_function"' in fast  # the whole stack, not an empty app
    assert fast == plain


def test_fast_synth_writes_the_same_handler_asset(synthesized):
    def assets(stack_dir: Path) -> dict[str, bytes]:
        return {
            path.relative_to(stack_dir).as_posix(): path.read_bytes()
            for path in sorted((stack_dir / "assets").rglob("*"))
            if path.is_file()
        }

    fast, plain = assets(synthesized["fast"]), assets(synthesized["plain"])
    assert any(name.endswith(".zip") for name in fast), fast.keys()
    assert fast == plain


PROBE_FAST_IMPORT = textwrap.dedent("""
    import json, sys
    from stacks.aws import PACKAGE, dynamodb_table
    package = sys.modules[PACKAGE]
    print(json.dumps({
        "init_ran": "__all__" in vars(package),
        "has_table_class": hasattr(dynamodb_table, "DynamodbTable"),
        "loaded": sorted(name for name in sys.modules if name.startswith(PACKAGE + ".")),
    }))
""")


def test_fast_path_does_not_execute_the_package_init():
    result = run_python(["-c", PROBE_FAST_IMPORT], {})
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["has_table_class"]
    assert not probe["init_ran"], "the package __init__ ran: every submodule was imported"
    assert f"{aws.PACKAGE}.dynamodb_table" in probe["loaded"]
    # dynamodb_table and the shared _jsii loader, not the 2,135 the __init__ imports.
    assert len(probe["loaded"]) < 40, probe["loaded"]


def test_unknown_submodule_gives_a_clear_import_error():
    result = run_python(["-c", "from stacks.aws import no_such_resource"], {})
    assert result.returncode != 0
    assert f"ImportError: {aws.PACKAGE}.no_such_resource could not be loaded on its own" in result.stderr
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


def node_require(package_dir: Path, node_path: Path | None = None) -> dict:
    result = subprocess.run(
        ["node", "--require", str(LAZY_INDEX), "-e", COUNT_LOADED, str(package_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_path or "")},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cached_package(cache: Path, name: str, version: str) -> Path:
    [package_dir] = cache.joinpath(name, version).glob("*/")
    return package_dir


def test_the_jsii_kernel_loads_only_the_provider_modules_a_stack_uses(synthesized, tmp_path):
    # The synth above unpacked the provider and what its modules require (the framework,
    # constructs) into the project's jsii package cache, where the kernel finds them.
    cache = Path(os.environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"])
    installed = framework.installed()
    for name in ("constructs", installed.name):
        (tmp_path / name).symlink_to(cached_package(cache, name, version(name)))
    [package_dir] = cache.joinpath(installed.provider_npm_package).glob("*/*/")
    counts = node_require(package_dir, node_path=tmp_path)
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


# Switched on by an explicit call (stacks.jsii_kernel.enable_fast_synth), never by an import.
PROBE_IMPORT_SIDE_EFFECTS = textwrap.dedent("""
    import json, os
    before = dict(os.environ)
    import stacks, stacks.aws, stacks.framework, stacks.jsii_kernel, stacks.jsii_cache
    changed = {name for name in {*before, *os.environ} if before.get(name) != os.environ.get(name)}
    print(json.dumps(sorted(changed)))
""")


def test_importing_stacks_leaves_the_environment_alone():
    result = run_python(["-c", PROBE_IMPORT_SIDE_EFFECTS], {})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


# The jsii kernel as one node process: stacks/jsii_kernel_node.sh + stacks/jsii_kernel_io.js.
PROBE_KERNEL_PROCESSES = textwrap.dedent("""
    import json, os
    from pathlib import Path
    from stacks.jsii_kernel import enable_fast_synth

    def children(pid):
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    enable_fast_synth()
    from stacks import framework
    framework.package()  # starts the kernel
    print(json.dumps([
        {"argv": Path(f"/proc/{pid}/cmdline").read_text().split("\\0")[:-1], "children": children(pid)}
        for pid in children(os.getpid())
    ]))
""")


def test_the_jsii_kernel_runs_as_one_node_process():
    result = run_python(["-c", PROBE_KERNEL_PROCESSES], {})
    assert result.returncode == 0, result.stderr
    [kernel] = json.loads(result.stdout.strip().splitlines()[-1])
    assert kernel["argv"][-1].endswith("/lib/program.js"), kernel  # not jsii's relay, bin/jsii-runtime.js
    assert "--preserve-symlinks" in kernel["argv"]
    assert kernel["children"] == []


KERNEL_NODE = PROJECT_ROOT / "stacks" / "jsii_kernel_node.sh"
# What jsii's kernel program does with its channel (fd 3), with output of both kinds in between.
ANSWER_ON_THE_KERNEL_CHANNEL = """
const fs = require("fs");
const buffer = Buffer.alloc(64);
const request = buffer.subarray(0, fs.readSync(3, buffer, 0, 64, null)).toString().trim();
console.log("a line the kernel prints");
fs.writeSync(1, "written to fd 1 directly\\n");
fs.writeSync(3, `answer to ${request}\\n`);
"""


def fake_jsii_runtime(folder: Path) -> Path:
    """jsii's runtime folder: bin/jsii-runtime.js (the relay) and lib/program.js (the kernel)."""
    (folder / "bin").mkdir()
    (folder / "lib").mkdir()
    (folder / "bin" / "jsii-runtime.js").write_text("throw new Error('the relay ran');\n")
    (folder / "lib" / "program.js").write_text(ANSWER_ON_THE_KERNEL_CHANNEL)
    return folder / "bin" / "jsii-runtime.js"


def test_the_one_process_kernel_keeps_everything_else_out_of_its_responses(tmp_path):
    relay = fake_jsii_runtime(tmp_path)
    result = subprocess.run(  # as jsii's Python client starts its kernel
        [str(KERNEL_NODE), "--max-old-space-size=4069", str(relay)],
        input="request\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answer to request\n"
    wrapped, raw = result.stderr.splitlines()
    # Wrapped as jsii's relay wraps it; jsii's Python client prints the decoded text.
    assert json.loads(wrapped) == {"stdout": base64.b64encode(b"a line the kernel prints\n").decode()}
    assert raw == "written to fd 1 directly"


def test_the_kernel_node_runs_any_other_call_unchanged(tmp_path):
    script = tmp_path / "print_node_flags.js"
    script.write_text("console.log(JSON.stringify(process.execArgv));\n")
    result = subprocess.run(
        [str(KERNEL_NODE), "--max-old-space-size=64", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["--max-old-space-size=64"]
