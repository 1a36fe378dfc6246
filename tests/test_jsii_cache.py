"""The set-up step (`make deps` → stacks/jsii_cache.py) leaves the jsii cache complete, index included."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks import framework, jsii_cache

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def fake_package(root: Path, name: str, indexed: bool) -> Path:
    package = root.joinpath(*name.split("/"), "1.0.0", "0123abcd")
    package.mkdir(parents=True)
    (package / jsii_cache.UNPACKED_MARKER).touch()
    for index_file in jsii_cache.INDEX_FILES if indexed else ():
        (package / index_file).touch()
    return package


def test_waiting_ends_once_every_cached_package_has_its_index(tmp_path):
    packages = [fake_package(tmp_path, "constructs", True), fake_package(tmp_path, "@cdktf/provider-aws", True)]
    assert jsii_cache.wait_for_indexes(tmp_path, timeout=0) == sorted(packages)


def test_waiting_gives_up_naming_the_packages_without_an_index(tmp_path):
    fake_package(tmp_path, "constructs", True)
    fake_package(tmp_path, "@cdktf/provider-aws", False)
    with pytest.raises(jsii_cache.CacheNotReady, match=r"runtime index for @cdktf/provider-aws 1\.0\.0 in"):
        jsii_cache.wait_for_indexes(tmp_path, timeout=0.3, poll=0.1)


def test_a_package_with_part_of_its_index_is_not_done(tmp_path):
    package = fake_package(tmp_path, "cdktf", False)
    (package / ".jsii.runtime-index.v1").touch()  # jsii writes the manifest last
    assert not jsii_cache.has_index(package)


def test_an_empty_cache_is_not_ready(tmp_path):
    with pytest.raises(jsii_cache.CacheNotReady, match="the cache is empty"):
        jsii_cache.wait_for_indexes(tmp_path, timeout=0)


@pytest.mark.parametrize(
    "setting, problem",
    [
        ({"JSII_RUNTIME_PACKAGE_CACHE": "disabled"}, "disables jsii's package cache"),
        ({"JSII_VALIDATE_ASSEMBLIES": "1"}, "JSII_VALIDATE_ASSEMBLIES"),
    ],
)
def test_settings_under_which_jsii_never_writes_an_index_fail_at_once(setting, problem):
    jsii_cache.check_index_is_possible({})  # the defaults are fine
    with pytest.raises(jsii_cache.CacheNotReady, match=problem):
        jsii_cache.check_index_is_possible(setting)


def test_the_step_fills_an_empty_cache_with_every_package_indexed(tmp_path):
    """The real thing, as a fresh clone runs it: ~5 s (unpacking and indexing a 120 MB assembly)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("JSII_RUNTIME_PACKAGE_CACHE")}
    result = subprocess.run(
        [sys.executable, "-m", "stacks.jsii_cache"],
        check=False,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(tmp_path)},
        timeout=jsii_cache.INDEX_WAIT_SECONDS + 60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    packages = {jsii_cache.package_label(tmp_path, p): p for p in jsii_cache.cached_packages(tmp_path)}
    installed = framework.installed()
    assert {"constructs", installed.name, installed.provider_npm_package} <= {label.split()[0] for label in packages}
    assert all(jsii_cache.has_index(package) for package in packages.values())
    assert "jsii package cache ready in" in result.stdout
