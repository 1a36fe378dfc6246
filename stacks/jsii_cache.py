"""`python -m stacks.jsii_cache` (a step of `make deps`): fills the project's jsii package
cache, runtime index included, so that the first synth is as fast as every later one.

A jsii kernel unpacks each package it loads into the cache (JSII_RUNTIME_PACKAGE_CACHE_ROOT).
Loading a cached package that has no runtime index makes jsii 1.142 read the whole assembly
(the provider's is 120 MB) and then start a worker thread that reads it again and writes the
index beside the package: `.jsii.runtime-defs.v1.jsonl`, `.jsii.runtime-index.v1` and, last,
the manifest `.jsii.runtime.v1.json`. With the index, a kernel reads only the types it uses.
The worker needs seconds; a synth's kernel exits before it finishes, so a cache that only
ever saw synths never gets the index and every synth pays for the whole assembly (~2.5 s and
~1.1 GB instead of under 1 s and ~200 MB). jsii skips the index altogether when the package
cache is disabled or assemblies are validated (JSII_RUNTIME_PACKAGE_CACHE=disabled,
JSII_VALIDATE_ASSEMBLIES).

So this loads every assembly a synth loads and keeps the kernel alive until every cached
package has its manifest, or fails after INDEX_WAIT_SECONDS.
"""

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from stacks import aws, framework
from stacks.jsii_kernel import enable_fast_synth

INDEX_FILES = (".jsii.runtime-defs.v1.jsonl", ".jsii.runtime-index.v1", ".jsii.runtime.v1.json")
# The file jsii writes into a package's cache directory once it is completely unpacked.
UNPACKED_MARKER = ".jsii-runtime-package-cache"
INDEX_WAIT_SECONDS = 180.0
POLL_SECONDS = 0.2


class CacheNotReady(Exception):
    pass


def cached_packages(root: Path) -> list[Path]:
    """The unpacked packages: <name>/<version>/<digest>/, or @<scope>/<name>/<version>/<digest>/."""
    markers = [*root.glob(f"*/*/*/{UNPACKED_MARKER}"), *root.glob(f"@*/*/*/*/{UNPACKED_MARKER}")]
    return sorted(marker.parent for marker in markers)


def has_index(package: Path) -> bool:
    return all((package / name).is_file() for name in INDEX_FILES)


def package_label(root: Path, package: Path) -> str:
    """'@cdktf/provider-aws 20.1.0' for <root>/@cdktf/provider-aws/20.1.0/<digest>."""
    *name, version, _digest = package.relative_to(root).parts
    return f"{'/'.join(name)} {version}"


def check_index_is_possible(environ: Mapping[str, str]) -> None:
    """Fails at once on settings under which jsii never writes an index."""
    if environ.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").lower() != "enabled":
        raise CacheNotReady("JSII_RUNTIME_PACKAGE_CACHE disables jsii's package cache: unset it")
    if environ.get("JSII_VALIDATE_ASSEMBLIES"):
        raise CacheNotReady("JSII_VALIDATE_ASSEMBLIES stops jsii from using a runtime index: unset it")


def load_synth_assemblies() -> None:
    """Starts a kernel and loads constructs, the framework and the provider into it, as a synth does."""
    framework.package()  # loads the constructs and framework assemblies
    aws.load_assembly()


def wait_for_indexes(root: Path, timeout: float, poll: float = POLL_SECONDS) -> list[Path]:
    """Returns the cached packages once each has its runtime index; raises after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        packages = cached_packages(root)
        missing = [package for package in packages if not has_index(package)]
        if packages and not missing:
            return packages
        if time.monotonic() >= deadline:
            raise CacheNotReady(
                f"after {timeout:.0f} s jsii has not written its runtime index for "
                f"{', '.join(package_label(root, p) for p in missing) or 'any package (the cache is empty)'} "
                f"in {root}: every synth would load whole assemblies (~2.5 s, ~1.1 GB). "
                "Run `make deps` again on a less busy machine, or remove the cache folder first"
            )
        time.sleep(poll)


def main() -> int:
    started = time.perf_counter()
    enable_fast_synth()  # the kernel a synth starts, with the project's cache unless told otherwise
    root = Path(os.environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"])
    try:
        check_index_is_possible(os.environ)
        indexed_before = {p for p in cached_packages(root) if has_index(p)}
        print(f"loading what a synth loads into a jsii kernel (cache: {root}) ...", flush=True)
        load_synth_assemblies()
        loaded = time.perf_counter()
        print(
            f"  loaded in {loaded - started:.1f} s; keeping the kernel up until jsii has indexed every package",
            flush=True,
        )
        packages = wait_for_indexes(root, INDEX_WAIT_SECONDS)
    except CacheNotReady as problem:
        print(f"jsii package cache not ready: {problem}", file=sys.stderr)
        return 1
    written = [package_label(root, p) for p in packages if p not in indexed_before]
    print(
        f"  {time.perf_counter() - loaded:.1f} s more; "
        f"runtime index written for: {', '.join(written) or 'none (all had it)'}"
    )
    print(
        f"jsii package cache ready in {time.perf_counter() - started:.1f} s: "
        f"{', '.join(package_label(root, p) for p in packages)}, each with its runtime index"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
