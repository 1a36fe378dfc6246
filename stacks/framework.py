"""The CDK framework, imported from here and nowhere else: CDK for Terraform (`cdktf` 0.21, the
default) or CDK Terrain (`cdktn`, its community fork), whichever `make deps CDK=...` installed
(docs/framework.md).

    from stacks.framework import App, TerraformStack

The two have the same classes under different package names, so the stack, main.py and the
tests import them from this module (tests/test_layout.py holds everyone to that), and the
AWS provider bindings through stacks.aws. Which one is in use is decided by what is installed:
`make deps` installs exactly one; with neither or both, the first import fails and says what
to run.

Importing this module starts nothing: the framework's own package (and with it the jsii
kernel) loads on first use of a name below, after stacks.jsii_kernel.enable_fast_synth().
"""

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The names the project uses, for the type checker (it reads the default, CDKTF). Add one
    # here when a module starts using it; at run time __getattr__ below serves it.
    from cdktf import App as App
    from cdktf import AssetType as AssetType
    from cdktf import ITerraformDependable as ITerraformDependable
    from cdktf import LocalBackend as LocalBackend
    from cdktf import S3Backend as S3Backend
    from cdktf import TerraformAsset as TerraformAsset
    from cdktf import TerraformOutput as TerraformOutput
    from cdktf import TerraformResource as TerraformResource
    from cdktf import TerraformResourceLifecycle as TerraformResourceLifecycle
    from cdktf import TerraformStack as TerraformStack
    from cdktf import Token as Token


@dataclass(frozen=True)
class Framework:
    name: str  # its Python package, PyPI distribution and CLI: cdktf | cdktn
    provider_package: str  # the prebuilt AWS provider bindings' Python package
    provider_npm_package: str  # the same bindings as the jsii kernel loads them


CDKTF = Framework("cdktf", "cdktf_cdktf_provider_aws", "@cdktf/provider-aws")
CDKTN = Framework("cdktn", "cdktn_provider_aws", "@cdktn/provider-aws")
FRAMEWORKS = (CDKTF, CDKTN)


class FrameworkNotInstalled(ImportError):
    pass


@cache
def installed() -> Framework:
    """The framework `make deps` installed into this interpreter's environment."""
    found = [framework for framework in FRAMEWORKS if importlib.util.find_spec(framework.name)]
    if len(found) != 1:
        names = " and ".join(framework.name for framework in found) or "neither cdktf nor cdktn"
        raise FrameworkNotInstalled(
            f"{names} installed: run `make deps` (CDKTF) or `make deps CDK=cdktn` (CDK Terrain), "
            "which installs exactly one"
        )
    return found[0]


def package() -> ModuleType:
    """The framework's Python package (importing it starts the jsii kernel)."""
    return importlib.import_module(installed().name)


def __getattr__(name: str) -> object:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(package(), name)
