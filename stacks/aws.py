"""The AWS provider bindings of the installed framework (stacks/framework.py: CDKTF's
`cdktf_cdktf_provider_aws` or CDK Terrain's `cdktn_provider_aws`), loaded one submodule at a time.

`import cdktf_cdktf_provider_aws` executes a package `__init__` that imports all 2,135
resource submodules (~8.5 s and hundreds of MB before any construct exists;
hashicorp/terraform-cdk#3753; CDK Terrain's bindings import them lazily). Each submodule only
needs the shared `_jsii` assembly loader, so this module registers the package without
running its `__init__` and imports just the submodules the stacks ask for:

    from stacks.aws import dynamodb_table
    dynamodb_table.DynamodbTable(...)

The node side has the same problem in both frameworks: the jsii kernel require()s the
package's lib/index.js, which loads every resource module. enable_fast_provider_loading() preloads
lazy_provider_index.js into the kernel through NODE_OPTIONS, so node too loads only the
modules used. The kernel copies the environment once, when cdktf is first imported: call it
before that (stacks.jsii_kernel.enable_fast_synth() does, for main.py and the tests), or only
the Python half applies.

The JSON synthesized either way is byte-identical (tests/test_fast_provider_loading.py).
Set REVIEWS_EAGER_PROVIDER_IMPORT=1 to use the plain package import instead (both halves),
e.g. to compare, or if a future binding changes shape and the fast path reports an error.
"""

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from . import framework

if TYPE_CHECKING:
    # For the type checker, the submodules the stacks use (add one here when a stack starts
    # using it, or mypy sees a bare ModuleType); mypy reads them without the package __init__
    # (pyproject.toml). At run time, __getattr__ below loads each on first use.
    from cdktf_cdktf_provider_aws import api_gateway_account as api_gateway_account
    from cdktf_cdktf_provider_aws import api_gateway_api_key as api_gateway_api_key
    from cdktf_cdktf_provider_aws import api_gateway_deployment as api_gateway_deployment
    from cdktf_cdktf_provider_aws import api_gateway_method_settings as api_gateway_method_settings
    from cdktf_cdktf_provider_aws import api_gateway_rest_api as api_gateway_rest_api
    from cdktf_cdktf_provider_aws import api_gateway_stage as api_gateway_stage
    from cdktf_cdktf_provider_aws import api_gateway_usage_plan as api_gateway_usage_plan
    from cdktf_cdktf_provider_aws import api_gateway_usage_plan_key as api_gateway_usage_plan_key
    from cdktf_cdktf_provider_aws import appautoscaling_policy as appautoscaling_policy
    from cdktf_cdktf_provider_aws import appautoscaling_target as appautoscaling_target
    from cdktf_cdktf_provider_aws import cloudwatch_dashboard as cloudwatch_dashboard
    from cdktf_cdktf_provider_aws import cloudwatch_log_group as cloudwatch_log_group
    from cdktf_cdktf_provider_aws import cloudwatch_metric_alarm as cloudwatch_metric_alarm
    from cdktf_cdktf_provider_aws import cognito_user_pool as cognito_user_pool
    from cdktf_cdktf_provider_aws import cognito_user_pool_client as cognito_user_pool_client
    from cdktf_cdktf_provider_aws import data_aws_dynamodb_table as data_aws_dynamodb_table
    from cdktf_cdktf_provider_aws import data_aws_dynamodb_tables as data_aws_dynamodb_tables
    from cdktf_cdktf_provider_aws import data_aws_iam_openid_connect_provider as data_aws_iam_openid_connect_provider
    from cdktf_cdktf_provider_aws import data_aws_kms_alias as data_aws_kms_alias
    from cdktf_cdktf_provider_aws import dynamodb_table as dynamodb_table
    from cdktf_cdktf_provider_aws import iam_openid_connect_provider as iam_openid_connect_provider
    from cdktf_cdktf_provider_aws import iam_policy as iam_policy
    from cdktf_cdktf_provider_aws import iam_role as iam_role
    from cdktf_cdktf_provider_aws import iam_role_policy as iam_role_policy
    from cdktf_cdktf_provider_aws import iam_role_policy_attachment as iam_role_policy_attachment
    from cdktf_cdktf_provider_aws import kms_alias as kms_alias
    from cdktf_cdktf_provider_aws import kms_key as kms_key
    from cdktf_cdktf_provider_aws import lambda_function as lambda_function
    from cdktf_cdktf_provider_aws import lambda_permission as lambda_permission
    from cdktf_cdktf_provider_aws import provider as provider
    from cdktf_cdktf_provider_aws import s3_bucket as s3_bucket
    from cdktf_cdktf_provider_aws import s3_bucket_lifecycle_configuration as s3_bucket_lifecycle_configuration
    from cdktf_cdktf_provider_aws import s3_bucket_ownership_controls as s3_bucket_ownership_controls
    from cdktf_cdktf_provider_aws import s3_bucket_policy as s3_bucket_policy
    from cdktf_cdktf_provider_aws import s3_bucket_public_access_block as s3_bucket_public_access_block
    from cdktf_cdktf_provider_aws import (
        s3_bucket_server_side_encryption_configuration as s3_bucket_server_side_encryption_configuration,
    )
    from cdktf_cdktf_provider_aws import s3_bucket_versioning as s3_bucket_versioning
    from cdktf_cdktf_provider_aws import sns_topic as sns_topic
    from cdktf_cdktf_provider_aws import ssm_parameter as ssm_parameter

PACKAGE = framework.installed().provider_package
LAZY_PROVIDER_INDEX = Path(__file__).with_name("lazy_provider_index.js")


def _eager() -> bool:
    return os.environ.get("REVIEWS_EAGER_PROVIDER_IMPORT") == "1"


def enable_fast_provider_loading() -> None:
    """Preloads lazy_provider_index.js into the jsii kernel (NODE_OPTIONS), or removes an
    inherited preload when REVIEWS_EAGER_PROVIDER_IMPORT=1. Call before cdktf is imported."""
    option = f'--require "{LAZY_PROVIDER_INDEX}"'
    others = os.environ.get("NODE_OPTIONS", "").replace(option, "").split()
    options = " ".join(others if _eager() else [*others, option])
    if options:
        os.environ["NODE_OPTIONS"] = options
    else:
        os.environ.pop("NODE_OPTIONS", None)


def _package() -> ModuleType:
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None:
        return loaded
    if _eager():
        return importlib.import_module(PACKAGE)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed as a package: run `pipenv sync`")
    # A package module with its __path__ set but its __init__ not executed: enough for
    # the relative imports (`from .._jsii import *`) that every submodule makes.
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    return package


def load_assembly() -> None:
    """Loads the provider's jsii assembly into the kernel, as importing any submodule does first."""
    _package()
    importlib.import_module(f"{PACKAGE}._jsii")


def __getattr__(name: str) -> ModuleType:
    if name.startswith("__"):
        raise AttributeError(name)
    _package()
    try:
        module = importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError as error:
        raise ImportError(
            f"{PACKAGE}.{name} could not be loaded on its own ({error}); "
            "retry with REVIEWS_EAGER_PROVIDER_IMPORT=1 and report the binding version"
        ) from error
    globals()[name] = module
    return module
