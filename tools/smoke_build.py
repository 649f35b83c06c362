"""Import every handler of `sam build`'s output the way Lambda does, one fresh interpreter each.

Each function is imported by the Lambda runtime's Python (python3.12, passed with
--python) started with -I -S: no site-packages, no PYTHONPATH, no current folder, so the
only code it finds is the standard library, the function's own folder
(.aws-sam/build/<Function>, Lambda's /var/task) and the layer's python/ folder
(.aws-sam/build/CourierLayer/python, Lambda's /opt/python). The environment is Lambda's
reserved variables plus the template's Globals with the parameters' defaults: a handler
that reads its environment, opens a client or misses a module at import fails here.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local.template import load_template  # noqa: E402

BUILD = ROOT / ".aws-sam" / "build"
LAYER = "CourierLayer"

_CHILD = """
import importlib, json, sys, time
function_dir, layer_dir, handler = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
started = time.perf_counter()
module_name, _, attribute = handler.rpartition(".")
module = importlib.import_module(module_name)
assert callable(getattr(module, attribute)), handler
outside = sorted(
    name for name, m in sys.modules.items()
    if getattr(m, "__file__", None)
    and not m.__file__.startswith((function_dir, layer_dir, sys.base_prefix))
)
print(json.dumps({"seconds": time.perf_counter() - started, "outside": outside}))
"""


def _lambda_env(template: dict[str, Any], function_id: str, memory: int) -> dict[str, str]:
    """What a deployed function sees: reserved variables, then the template's Globals
    (parameter defaults; placeholders for resource names and conditions)."""
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": f"courier-{function_id}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/courier/{function_id}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(BUILD / function_id),
        "_HANDLER": "app.handler",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    parameters = template.get("Parameters", {})
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            env[name] = str(parameters[value["Ref"]]["Default"])
        elif isinstance(value, dict) and "Fn::If" in value:
            env[name] = str(value["Fn::If"][2])  # the default parameters: conditions false
        elif isinstance(value, dict):
            env[name] = f"placeholder-{name.lower()}"  # a resource name, URL or ARN
        else:
            env[name] = str(value)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="the Lambda runtime's python3.12")
    args = parser.parse_args()

    template = load_template()
    functions = {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    globals_ = template["Globals"]["Function"]
    layer_dir = BUILD / LAYER / "python"
    if not (layer_dir / "courier").is_dir():
        print(f"smoke: {layer_dir}/courier missing: run sam build first", file=sys.stderr)
        return 1
    failures = 0
    for function_id, properties in sorted(functions.items()):
        function_dir = BUILD / function_id
        handler = properties.get("Handler", globals_["Handler"])
        memory = int(properties.get("MemorySize", globals_["MemorySize"]))
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [args.python, "-I", "-S", "-c", _CHILD, str(function_dir), str(layer_dir), handler],
            env=_lambda_env(template, function_id, memory),
            cwd=function_dir if function_dir.is_dir() else BUILD,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            failures += 1
            print(f"FAIL {function_id}: {handler} did not import\n{done.stderr}", file=sys.stderr)
            continue
        report = json.loads(done.stdout.strip().splitlines()[-1])
        if report["outside"]:
            failures += 1
            print(f"FAIL {function_id}: imported from outside the build: {report['outside']}")
            continue
        took = report["seconds"] * 1000
        print(f"ok   {function_id:22} import {took:6.0f} ms (process {wall:.2f} s)")
    passed = len(functions) - failures
    print(f"smoke: {passed}/{len(functions)} handlers import from .aws-sam/build")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
