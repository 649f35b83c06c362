"""The X-Ray SDK is loaded only when tracing is on (courier/observability.py): each case
imports handlers in a fresh interpreter, with the environment Lambda and the template give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from local.handlers import FUNCTIONS_DIR

ROOT = Path(__file__).resolve().parents[2]
PROBE = """import json, sys
from local.handlers import function_names, load_handler
names = function_names() if {every!r} else ["send"]
tracers = [sys.modules["courier_function_" + n].tracer for n in names if load_handler(n)]
import botocore.client
print(json.dumps({{
    "xray": sorted(m for m in sys.modules if m.startswith("aws_xray_sdk")),
    "disabled": sorted({{bool(t.disabled) for t in tracers}}),
    "botocore_patched": hasattr(botocore.client, "_xray_enabled"),
}}))
"""


def _probe(*, tracing: bool, every: bool) -> dict[str, object]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(["layers/courier", "client", "."]),
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / "send"),
        "POWERTOOLS_SERVICE_NAME": "courier",
    }
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE.format(every=every)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_with_tracing_off_no_handler_imports_the_xray_sdk() -> None:
    found = _probe(tracing=False, every=True)
    assert found == {"xray": [], "disabled": [True], "botocore_patched": False}


def test_with_tracing_on_the_tracer_records_through_the_xray_sdk_and_patches_botocore() -> None:
    found = _probe(tracing=True, every=False)
    assert "aws_xray_sdk.core" in found["xray"]  # type: ignore[operator]
    assert found["disabled"] == [False]
    assert found["botocore_patched"] is True
