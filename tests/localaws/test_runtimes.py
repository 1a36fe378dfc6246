"""Workers run the Python a function's Runtime declares, with the SDK pinned for it, in an
environment of their own; without that Python they fall back, saying so."""

import json
import sys
import urllib.request

import pytest

from localaws import runtimes
from localaws.gateway import LocalGateway
from tests.localaws import apis
from tests.support import PROJECT_ROOT

DECLARED = "python3.13"  # the stack's (stacks/function.py)
# Shared by test runs on this machine, as .cache is: creating it takes ~40 s.
RUNTIMES_DIR = PROJECT_ROOT / ".cache" / "runtimes-for-tests"


@pytest.fixture(scope="module")
def versions_api(running_emulator):
    endpoint = running_emulator.endpoint
    print(runtimes.ensure_environment(RUNTIMES_DIR, DECLARED))
    role = apis.create_function_role(endpoint, "runtime-test-fn")
    function = apis.create_test_function(endpoint, role, "runtime-test", "versions", runtime=DECLARED)
    api_id = apis.create_proxy_api(endpoint, "runtime-test-api", [apis.ProxyMethod("GET", "/versions", function)])
    apis.deploy_stage(endpoint, api_id, "dev", rate=100, burst=100)
    gateway, server = apis.serve_in_thread(
        LocalGateway(endpoint, apis.REGION, "runtime-test-api", "dev", refresh_seconds=0, runtimes_dir=RUNTIMES_DIR)
    )
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dev"
    finally:
        apis.stop_serving(gateway, server)


def test_a_function_runs_with_the_python_and_sdk_its_runtime_declares(versions_api):
    with urllib.request.urlopen(f"{versions_api}/versions", timeout=60) as reply:
        found = json.load(reply)
    pinned_boto3 = next(pin for pin in runtimes.sdk_pins() if pin.startswith("boto3=="))
    # Machines of this kind have Python 3.13 (pyenv); one without it runs ours, as the next test says.
    expected = "3.13" if runtimes.find_interpreter("3.13") else f"{sys.version_info.major}.{sys.version_info.minor}"
    assert found == {"python": expected, "boto3": pinned_boto3.removeprefix("boto3==")}


def test_without_the_declared_python_workers_fall_back_naming_both_versions(tmp_path):
    interpreter, warning = runtimes.interpreter_for("python3.99", tmp_path)
    assert warning and "python3.99" in warning and "Python 3.11" in warning
    assert interpreter  # the gateway's own Python still serves the function
