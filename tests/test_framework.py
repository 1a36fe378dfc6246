"""Two frameworks, one stack (docs/framework.md): the code meets the framework in one module,
the installs stay apart, the provider version follows what Terraform can install here, and
the parity check sees a difference when there is one.

CI runs the stack on CDK Terrain as well (`make test-cdktn`); these tests run on either."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.review.make_plan import pin_notes
from deploy.review.render import render_review
from frameworks import hcl, parity
from stacks import framework, provider_version

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FRAMEWORK_MODULES = {name for f in framework.FRAMEWORKS for name in (f.name, f.provider_package)}
# Where a framework may be named: the one module the stack imports it through, and the
# provider bindings' loader (its type-checking imports).
MAY_NAME_A_FRAMEWORK = {PROJECT_ROOT / "stacks" / "framework.py", PROJECT_ROOT / "stacks" / "aws.py"}
CODE = sorted(
    {
        *PROJECT_ROOT.glob("stacks/*.py"),
        PROJECT_ROOT / "main.py",
        *PROJECT_ROOT.glob("tests/**/*.py"),
        *PROJECT_ROOT.glob("benchmarks/*.py"),
    }
)


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", CODE, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_only_the_framework_module_imports_a_framework(path):
    if path in MAY_NAME_A_FRAMEWORK:
        return
    assert not imported_modules(path) & FRAMEWORK_MODULES, "import it from stacks.framework or stacks.aws"


def test_the_stack_imports_the_installed_frameworks_classes():
    from stacks.framework import App, TerraformStack

    assert App.__module__.split(".")[0] == framework.installed().name
    assert (App, TerraformStack) == (framework.package().App, framework.package().TerraformStack)


def run_python(code: str, pythonpath: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": f"{pythonpath}:{PROJECT_ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_both_frameworks_installed_the_first_import_says_what_to_run(tmp_path):
    other = next(f for f in framework.FRAMEWORKS if f != framework.installed())
    (tmp_path / other.name).mkdir()
    (tmp_path / other.name / "__init__.py").write_text("")
    result = run_python("from stacks.framework import App", tmp_path)
    assert result.returncode == 1
    assert "cdktf and cdktn installed: run `make deps` (CDKTF) or `make deps CDK=cdktn`" in result.stderr


def test_an_unknown_framework_is_refused_by_make():
    result = subprocess.run(["make", "-n", "deps", "CDK=cdk"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "CDK=cdk: choose cdktf (CDK for Terraform, the default) or cdktn (CDK Terrain)" in result.stderr


def project_node(script: str) -> str:
    """What the project's Node.js (the one every kernel and CLI runs) prints for `script`."""
    result = subprocess.run(["node", "-p", script], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_the_project_node_runs_both_clis():
    """CDK Terrain's CLI needs a recent Node 22; CDKTF's loads a native module (node-pty) of
    which it ships builds for Node ABIs up to 127 (Node 22) only: on Node 24 every `cdktf`
    command fails. tests/conftest.py put the project's node first on PATH."""
    assert project_node("process.execPath") == str((PROJECT_ROOT / ".venv" / "bin" / "node").resolve())
    lock = json.loads((PROJECT_ROOT / "frameworks" / "cdktn" / "package-lock.json").read_text())
    needed = lock["packages"]["node_modules/cdktn-cli"]["engines"]["node"].removeprefix(">=")
    version = project_node("process.versions.node")
    assert tuple(map(int, version.split("."))) >= tuple(map(int, needed.split("."))), (version, needed)
    prebuilds = PROJECT_ROOT / "node_modules" / "@cdktf" / "node-pty-prebuilt-multiarch" / "prebuilds"
    platform, abi = project_node("process.platform + '-' + process.arch"), project_node("process.versions.modules")
    assert (prebuilds / platform / f"node.abi{abi}.node").is_file(), f"cdktf-cli cannot run on Node {version}"


def lock_versions(path: Path) -> dict[str, str]:
    lock = json.loads(path.read_text())
    return {name: entry["version"] for section in ("default", "develop") for name, entry in lock[section].items()}


def test_cdk_terrain_changes_only_the_framework_packages_of_the_environment():
    """make deps CDK=cdktn installs frameworks/cdktn/Pipfile.lock over Pipfile.lock: every
    package the two share keeps Pipfile.lock's version except constructs (CDK Terrain needs
    < 10.8), so the tools and boto3 are the same on both frameworks."""
    default = lock_versions(PROJECT_ROOT / "Pipfile.lock")
    terrain = lock_versions(PROJECT_ROOT / "frameworks" / "cdktn" / "Pipfile.lock")
    changed = {name for name in default.keys() & terrain.keys() if default[name] != terrain[name]}
    assert changed <= {"constructs"}, {name: (default[name], terrain[name]) for name in changed}
    assert {"cdktn", "cdktn-provider-aws"} <= terrain.keys() and "cdktf" not in terrain


# --- the AWS provider version (stacks/provider_version.py) --------------------------------

LOCK = """provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  hashes = []
}
"""


def synthesized(tmp_path: Path, version: str) -> Path:
    directory = tmp_path / "stack"
    directory.mkdir(parents=True)
    configuration = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": version}}}}
    (directory / "cdk.tf.json").write_text(json.dumps(configuration))
    return directory


def mirror_config(tmp_path: Path, *versions: str) -> Path:
    mirror = tmp_path / "tf-plugins"
    for version in versions:
        (mirror / provider_version.PROVIDER / version / "linux_amd64").mkdir(parents=True)
    config = tmp_path / "terraformrc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n'
        '    include = ["registry.terraform.io/*/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n'
    )
    return config


def settle(tmp_path: Path, version: str, cli_config: Path) -> tuple[Path, provider_version.ProviderPin | None]:
    lock = tmp_path / "lock.hcl"
    lock.write_text(LOCK)
    directory = synthesized(tmp_path, version)
    return directory, provider_version.settle(directory, lock, cli_config)


def required(directory: Path) -> str:
    return json.loads((directory / "cdk.tf.json").read_text())["terraform"]["required_providers"]["aws"]["version"]


def test_a_mirror_without_the_bindings_version_pins_the_locked_one_and_says_so(tmp_path):
    directory, pin = settle(tmp_path, "6.69.1", mirror_config(tmp_path, "5.100.0"))
    assert pin and (pin.bindings, pin.pinned) == ("6.69.1", "5.100.0")
    assert required(directory) == "5.100.0"
    assert (directory / ".terraform.lock.hcl").read_text() == LOCK
    assert provider_version.pin_of(directory) == pin.message()
    assert "pinned to 5.100.0" in pin.message() and "bindings are for 6.69.1" in pin.message()


HCL = """terraform {
required_providers {
  aws = {
version = "6.69.1"
source = "hashicorp/aws"
}
}
}
"""


def test_the_hcl_of_synth_hcl_is_pinned_with_a_comment_saying_so(tmp_path):
    directory = tmp_path / "stack"
    directory.mkdir()
    (directory / "cdk.tf").write_text(HCL)
    lock = tmp_path / "lock.hcl"
    lock.write_text(LOCK)
    pin = provider_version.settle(directory, lock, mirror_config(tmp_path, "5.100.0"))
    assert pin
    assert (directory / "cdk.tf").read_text() == f"# {pin.message()}\n" + HCL.replace("6.69.1", "5.100.0")
    assert provider_version.pin_of(directory) == pin.message()
    assert (directory / ".terraform.lock.hcl").exists()


def test_the_plan_review_carries_the_pin_as_a_note(tmp_path):
    directory, pin = settle(tmp_path, "6.69.1", mirror_config(tmp_path, "5.100.0"))
    assert pin
    review = render_review({}, "`stack`", notes=pin_notes(directory))
    assert f"> [!NOTE]\n> {pin.message()}" in review
    assert pin_notes(synthesized(tmp_path / "unpinned", "5.100.0")) == []


def test_a_configuration_no_framework_wrote_has_no_pin(tmp_path):
    (tmp_path / "main.tf.json").write_text("{}")
    assert provider_version.pin_of(tmp_path) is None


def test_the_bindings_version_stays_where_the_mirror_has_it(tmp_path):
    directory, pin = settle(tmp_path, "5.100.0", mirror_config(tmp_path, "5.100.0", "6.69.1"))
    assert pin is None and required(directory) == "5.100.0" and provider_version.pin_of(directory) is None
    assert (directory / ".terraform.lock.hcl").exists()


def test_with_the_registry_the_bindings_version_stays_and_init_writes_its_own_lock(tmp_path):
    registry = tmp_path / "terraformrc"
    registry.write_text("provider_installation {\n  direct {}\n}\n")
    directory, pin = settle(tmp_path, "6.69.1", registry)
    assert pin is None and required(directory) == "6.69.1"
    assert not (directory / ".terraform.lock.hcl").exists(), "a lock for 5.100.0 would fail init"


def test_the_synthesized_stack_requires_a_provider_terraform_can_install_here(stack, synth):
    directory = synth().directory
    version = stack["terraform"]["required_providers"]["aws"]["version"]
    mirror = provider_version.mirror_only(PROJECT_ROOT / ".terraformrc")
    if mirror:
        assert version in provider_version.mirrored_versions(mirror)
    assert (directory / ".terraform.lock.hcl").exists() == (
        version == provider_version.locked_version(provider_version.PROVIDER_LOCK_FILE)
    )


# --- the parity check (frameworks/parity.py) ------------------------------------------------


def test_parity_sees_every_kind_of_difference_and_ignores_the_framework_metadata(stack):
    same = json.loads(json.dumps(stack))
    same["//"] = {"metadata": {"version": "0.24.0"}}
    same["terraform"]["required_providers"]["aws"]["version"] = "6.69.1"
    assert parity.differences(stack, same) == []

    changed = json.loads(json.dumps(stack))
    table = next(iter(changed["resource"]["aws_dynamodb_table"]))
    changed["resource"]["aws_dynamodb_table"][table]["billing_mode"] = "PAY_PER_REQUEST"
    del changed["output"][next(iter(changed["output"]))]
    changed["terraform"]["backend"]["s3"]["encrypt"] = False
    changed["provider"]["aws"][0]["region"] = "eu-west-1"
    found = parity.differences(stack, changed)
    assert [line.split(":")[0] for line in found] == sorted(
        [f"resource.aws_dynamodb_table.{table}", f"output.{next(iter(stack['output']))}", "backend", "provider.aws"]
    )


# --- the exit path to plain Terraform (frameworks/hcl.py) ------------------------------------

RENDERED = """resource "aws_iam_role_policy" "access" {
policy = "{"Statement": [{"Resource": "${aws_dynamodb_table.table.arn}"}]}"
lifecycle {
  replace_triggered_by = [
"aws_iam_role.role.id",
]
}
}
"""


def test_the_renderers_two_mistakes_are_repaired_and_nothing_else():
    repaired = hcl.repair(RENDERED)
    assert 'policy = "{\\"Statement\\": [{\\"Resource\\": \\"${aws_dynamodb_table.table.arn}\\"}]}"' in repaired
    assert "\naws_iam_role.role.id,\n" in repaired
    assert hcl.repair(repaired) == repaired
    assert hcl.repair('name = "aws_iam_role.role.id"\n') == 'name = "aws_iam_role.role.id"\n'


def test_the_stack_as_hcl_is_a_valid_plain_terraform_configuration(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REVIEWS_", "CDKTF_"))}
    result = subprocess.run(
        [sys.executable, "-m", "frameworks.hcl", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env={**env, "ENVIRONMENT_SUFFIX": "hcl"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [stack] = (tmp_path / "stacks").iterdir()
    configuration = (stack / "cdk.tf").read_text()
    assert 'resource "aws_dynamodb_table"' in configuration and "replace_triggered_by = [" in configuration
    assert "formatted and valid" in result.stdout
