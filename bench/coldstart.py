"""Cold import: each handler imported the way Lambda does it (its folder and the layer on
sys.path, Lambda's environment), beside `import boto3` and one client, each in a fresh
interpreter. Rounds interleave every target, so that a change in machine load shifts them
alike. Times are taken inside the interpreter: its own start-up is left out.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable

from bench.results import ColdStart, ImportShare, Spread
from local.handlers import FUNCTIONS_DIR, LAYER_DIR, function_names

REGION = "us-east-1"
BASELINE = "boto3 + client"
HANDLER_CODE = """import sys, time
sys.path[:0] = [{task!r}, {layer!r}]
start = time.perf_counter()
import app
print(time.perf_counter() - start)
"""
BASELINE_CODE = f"""import time
start = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name={REGION!r})
print(time.perf_counter() - start)
"""


def _environment(function: str) -> dict[str, str]:
    """What Lambda sets that matters at import (Powertools reads it); no PYTHONPATH."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "courier",
        "POWERTOOLS_METRICS_NAMESPACE": "Courier",
    }


def _run(code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *flags, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def _handler_code(function: str) -> str:
    return HANDLER_CODE.format(task=str(FUNCTIONS_DIR / function), layer=str(LAYER_DIR))


def _spread(samples_ms: list[float]) -> Spread:
    p90 = (
        statistics.quantiles(samples_ms, n=10, method="inclusive")[8]
        if len(samples_ms) > 1
        else samples_ms[0]
    )
    return {"median_ms": statistics.median(samples_ms), "p90_ms": p90, "runs": len(samples_ms)}


def import_shares(function: str, top: int = 8) -> list[ImportShare]:
    """`-X importtime` of one handler: self time summed by top-level package, largest first."""
    stderr = _run(_handler_code(function), _environment(function), "-X", "importtime").stderr
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        totals[fields[2].strip().split(".")[0]] += int(fields[0]) / 1000
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "ms": round(ms, 1)} for name, ms in ranked]


def run_coldstart(repeats: int, progress: Callable[[str], None]) -> ColdStart:
    targets = {name: (_handler_code(name), _environment(name)) for name in function_names()}
    targets[BASELINE] = (BASELINE_CODE, _environment("baseline"))
    samples: dict[str, list[float]] = defaultdict(list)
    for round_ in range(1, repeats + 1):
        progress(f"coldstart: round {round_}/{repeats} ({len(targets)} fresh interpreters)")
        for name, (code, env) in targets.items():
            samples[name].append(float(_run(code, env).stdout.split()[-1]) * 1000)
    baseline = samples.pop(BASELINE)
    return {
        "handlers": {name: _spread(values) for name, values in sorted(samples.items())},
        "baseline": _spread(baseline),
        "importtime_of": "send",
        "importtime": import_shares("send"),
    }
