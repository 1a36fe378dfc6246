"""`python -m frameworks.hcl [OUT_DIR]` (`make hcl`): the exit path to plain Terraform
(docs/framework.md). Synthesizes the stack as HCL, as `cdktf synth --hcl` and `cdktn synth
--hcl` have the app do, repairs it where the frameworks' HCL renderer (lib/hcl/render.js, the
same in both) gets this stack wrong, formats it and has Terraform validate it. What it
repairs:

- every item of a list is written as a quoted string, and `lifecycle.replace_triggered_by`
  takes bare references ("Invalid replace_triggered_by expression");
- a string holding a reference (the function's table policy names the table's ARN) is
  written without escaping its quotes ("Invalid character"). The CLIs then run a formatter
  over it, which mangles it beyond repair: hence the app is run here, not the CLI.

The JSON synth (cdk.tf.json) needs none of this: it is plain Terraform as it is.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPLACE_TRIGGERED_BY = re.compile(r"\s*replace_triggered_by = \[$")
QUOTED_REFERENCE = re.compile(r'^(\s*)"([\w-]+\.[\w-]+(?:\.[\w-]+)*)"(,?)$')
# `name = "{"...}"`: a JSON document whose quotes the renderer left unescaped.
UNESCAPED_JSON = re.compile(r'^(\s*[\w-]+ = )"(\{".*\})"$')


def repair(hcl: str) -> str:
    lines, in_triggers = [], False
    for line in hcl.splitlines():
        if REPLACE_TRIGGERED_BY.match(line):
            in_triggers = True
        elif in_triggers and line.strip() == "]":
            in_triggers = False
        elif in_triggers:
            line = QUOTED_REFERENCE.sub(r"\1\2\3", line)
        found = UNESCAPED_JSON.match(line)
        if found:
            escaped = found[2].replace('"', '\\"')
            line = f'{found[1]}"{escaped}"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def synthesize_hcl(out_dir: Path) -> list[Path]:
    """`python main.py` with the settings of the caller's environment, writing HCL into
    out_dir (SYNTH_HCL_OUTPUT is what the CLIs set for `synth --hcl`); returns the stacks."""
    env = {**os.environ, "SYNTH_HCL_OUTPUT": "true", "CDKTF_OUTDIR": str(out_dir.resolve())}
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True)
    return sorted((out_dir / "stacks").iterdir())


def terraform(stack: Path, *args: str) -> None:
    subprocess.run(["terraform", f"-chdir={stack}", *args], check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0] if argv else "build/hcl")
    for stack in synthesize_hcl(out_dir):
        (stack / "cdk.tf").write_text(repair((stack / "cdk.tf").read_text()))
        terraform(stack, "fmt")
        terraform(stack, "init", "-backend=false", "-input=false", "-no-color")
        terraform(stack, "validate", "-no-color")
        print(f"{stack}/cdk.tf: plain Terraform (HCL), formatted and valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
