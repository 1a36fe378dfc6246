"""scripts/keyed_install.sh: an install runs once per key on a machine, and every clone gets a
hard-linked copy of it whose scripts name the clone, never the cache.

A stand-in install command (a shell line that writes a folder like a virtualenv's, and counts
its runs) takes the place of pipenv and npm, so these tests take milliseconds.
"""

import os
import subprocess
from pathlib import Path

from tests.support import PROJECT_ROOT

KEYED_INSTALL = PROJECT_ROOT / "scripts" / "keyed_install.sh"
# Writes what an installer writes: a package file, a script whose first line names where it was
# installed, and pipenv's .project; appends a line to runs.log each time it runs.
STAND_IN_INSTALL = (
    'echo run >> ../runs.log && mkdir -p env/bin env/lib && echo "package" > env/lib/package.py && '
    'printf "#!$PWD/env/bin/python\\nprint(1)\\n" > env/bin/tool && echo "$PWD" > env/.project && '
    "cat lock.txt > env/lib/installed-from.txt"
)


def install(clone: Path, cache: Path, command: str = STAND_IN_INSTALL) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(KEYED_INSTALL), str(cache), "env", "lock.txt", "--", "bash", "-c", command],
        cwd=clone,
        capture_output=True,
        text=True,
    )


def clone_with_lock(root: Path, name: str, lock: str = "pinned 1.0") -> Path:
    clone = root / name
    clone.mkdir()
    (clone / "lock.txt").write_text(lock)
    return clone


def test_the_first_clone_installs_and_the_next_links_the_same_files_in(tmp_path):
    cache = tmp_path / "machine-cache" / "env-key1"
    first, second = clone_with_lock(tmp_path, "first"), clone_with_lock(tmp_path, "second")

    assert install(first, cache).returncode == 0
    linked = install(second, cache)

    assert linked.returncode == 0 and "linking it in" in linked.stdout
    assert (tmp_path / "machine-cache" / "runs.log").read_text() == "run\n"  # installed once
    package = second / "env" / "lib" / "package.py"
    assert package.stat().st_ino == (cache / "env" / "lib" / "package.py").stat().st_ino  # a hard link
    assert package.read_text() == "package\n"


def test_a_clone_s_scripts_and_project_file_name_the_clone_and_the_cache_keeps_its_own(tmp_path):
    cache = tmp_path / "machine-cache" / "env-key1"
    clone = clone_with_lock(tmp_path, "clone")
    assert install(clone, cache).returncode == 0

    assert (clone / "env" / "bin" / "tool").read_text().splitlines()[0] == f"#!{clone}/env/bin/python"
    assert (clone / "env" / ".project").read_text().strip() == str(clone)
    assert (cache / "env" / "bin" / "tool").read_text().splitlines()[0] == f"#!{cache}/env/bin/python"
    assert (clone / "env" / "bin" / "tool").stat().st_ino != (cache / "env" / "bin" / "tool").stat().st_ino


def test_a_failed_install_is_not_kept_and_runs_again(tmp_path):
    cache = tmp_path / "machine-cache" / "env-key1"
    clone = clone_with_lock(tmp_path, "clone")

    assert install(clone, cache, "echo run >> ../runs.log && exit 3").returncode != 0
    assert not (cache / ".complete").exists()
    assert install(clone, cache).returncode == 0

    assert (tmp_path / "machine-cache" / "runs.log").read_text() == "run\nrun\n"
    assert (cache / ".complete").exists()


def make_variable(project: Path, name: str, home: Path) -> str:
    """The value make gives `name` in `project` (its Makefile and .env), with HOME=`home`."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "--eval", f"print-value: ; @echo $({name})", "print-value"],
        cwd=project,
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return printed.stdout.strip()


def test_the_keys_are_the_lock_files_hashes_and_the_installs_live_outside_the_clone(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", ".env", "Pipfile.lock", "package-lock.json"):
        (project / name).write_bytes((PROJECT_ROOT / name).read_bytes())
    before = {name: make_variable(project, name, tmp_path) for name in ("PYTHON_PACKAGES", "NODE_PACKAGES")}

    (project / "Pipfile.lock").write_text((project / "Pipfile.lock").read_text().replace("{", "{ ", 1))
    after = {name: make_variable(project, name, tmp_path) for name in ("PYTHON_PACKAGES", "NODE_PACKAGES")}

    assert all(path.startswith(f"{tmp_path}/.cache/product-reviews/") for path in (*before.values(), *after.values()))
    assert after["PYTHON_PACKAGES"] != before["PYTHON_PACKAGES"]
    assert after["NODE_PACKAGES"] == before["NODE_PACKAGES"]
