"""Code that `make watch` pushed, told to Terraform's state before a plan.

The function's source_code_hash in the state is the hash of the package last applied; make
watch updates the function without Terraform. When the function runs exactly the package
synth builds now, the state is told so before planning (`terraform state push` of the state
with that hash and package path): the plan then leaves the function alone, and Terraform neither uploads the
code again nor waits its fixed ~5 s after UpdateFunctionCode.
"""

import json
from typing import Any

from .local_target import LocalTarget
from .private_files import write_private


def reconcile_pushed_code(target: LocalTarget, state: dict[str, Any]) -> dict[str, Any]:
    """When the function runs exactly the package synth built now but the state records an
    older one (make watch pushed it), the state is told so (`terraform state push`): the plan
    then leaves the function alone. Returns the state as it is now."""
    instance = _function_instance(state, target.config.function.name)
    synthesized = _synthesized_code(target)
    if instance is None or instance["source_code_hash"] == synthesized["source_code_hash"]:  # nothing pushed
        return state
    running = target.client("lambda").get_function_configuration(FunctionName=target.config.function.name)
    if running["CodeSha256"] != synthesized["source_code_hash"]:
        return state
    instance.update(synthesized, code_sha256=synthesized["source_code_hash"])
    state["serial"] += 1
    pushed = write_private(target.workspace.log_dir / "state-push.json", json.dumps(state))
    try:
        target.workspace.terraform().run("state", "push", str(pushed))
    finally:
        pushed.unlink()
    print("    the function already runs this code (make watch): recorded in the state, nothing to upload")
    return state


def _synthesized_code(target: LocalTarget) -> dict[str, str]:
    """The function's code as synth configured it: its package's hash, and the package's path
    (the asset's folder is named after its content, so it moves when the code changes)."""
    configuration = json.loads((target.workspace.stack_dir / "cdk.tf.json").read_text())
    functions = configuration["resource"]["aws_lambda_function"].values()
    [found] = [f for f in functions if f["function_name"] == target.config.function.name]
    return {"source_code_hash": found["source_code_hash"], "filename": found["filename"]}


def _function_instance(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    for resource in state.get("resources", []):
        if resource["type"] == "aws_lambda_function" and resource["mode"] == "managed":
            for instance in resource["instances"]:
                if instance["attributes"].get("function_name") == name:
                    return instance["attributes"]
    return None
