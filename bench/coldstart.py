"""Cold import: each handler imported the way Lambda does it (its folder and the layer on
sys.path, Lambda's environment), beside `import boto3` and one client, each in a fresh
interpreter. Rounds interleave every target, so that a change in machine load shifts them
alike. Times are taken inside the interpreter: its own start-up is left out.

Handlers are timed twice: with tracing off, as the template deploys them by default
(`POWERTOOLS_TRACE_DISABLED=true`), and with tracing on (Lambda's environment, X-Ray SDK
loaded), for information. PynamoDB is timed alone and on top of boto3, and with `send`, so
the budget shows room for a data layer built on it.
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
TRACING_ON = " (tracing on)"
PYNAMODB_IMPORTS = "import pynamodb.models, pynamodb.attributes, pynamodb.transactions"
HANDLER_CODE = """import sys, time
sys.path[:0] = [{task!r}, {layer!r}]
start = time.perf_counter()
import app
{extra}
print(time.perf_counter() - start)
"""
BASELINE_CODE = f"""import time
start = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name={REGION!r})
print(time.perf_counter() - start)
"""
# What the layer's data access will add: PynamoDB's models, attributes and transactions.
PYNAMODB_CODE = {
    "pynamodb alone": f"import time\nstart = time.perf_counter()\n{PYNAMODB_IMPORTS}\n"
    "print(time.perf_counter() - start)\n",
    "pynamodb after boto3": f"import time, boto3\nstart = time.perf_counter()\n"
    f"{PYNAMODB_IMPORTS}\nprint(time.perf_counter() - start)\n",
}
WITH_PYNAMODB = "send"  # the handler also timed with PynamoDB imported after it


def _environment(function: str, *, tracing: bool = False) -> dict[str, str]:
    """What Lambda and the template set that matters at import (Powertools reads it); no
    PYTHONPATH. Tracing off is the template's default."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / function),
        "POWERTOOLS_SERVICE_NAME": "courier",
        "POWERTOOLS_METRICS_NAMESPACE": "Courier",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    }
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def _run(code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *flags, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def _handler_code(function: str, extra: str = "") -> str:
    return HANDLER_CODE.format(
        task=str(FUNCTIONS_DIR / function), layer=str(LAYER_DIR), extra=extra
    )


def _spread(samples_ms: list[float]) -> Spread:
    p90 = (
        statistics.quantiles(samples_ms, n=10, method="inclusive")[8]
        if len(samples_ms) > 1
        else samples_ms[0]
    )
    return {"median_ms": statistics.median(samples_ms), "p90_ms": p90, "runs": len(samples_ms)}


def import_shares(function: str, top: int = 8, *, tracing: bool = False) -> list[ImportShare]:
    """`-X importtime` of one handler: self time summed by top-level package, largest first."""
    env = _environment(function, tracing=tracing)
    stderr = _run(_handler_code(function), env, "-X", "importtime").stderr
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        totals[fields[2].strip().split(".")[0]] += int(fields[0]) / 1000
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "ms": round(ms, 1)} for name, ms in ranked]


def _targets() -> dict[str, tuple[str, dict[str, str]]]:
    names = function_names()
    targets = {name: (_handler_code(name), _environment(name)) for name in names}
    for name in names:
        targets[name + TRACING_ON] = (_handler_code(name), _environment(name, tracing=True))
    targets[f"{WITH_PYNAMODB} + pynamodb"] = (
        _handler_code(WITH_PYNAMODB, PYNAMODB_IMPORTS),
        _environment(WITH_PYNAMODB),
    )
    for name, code in PYNAMODB_CODE.items():
        targets[name] = (code, _environment("baseline"))
    targets[BASELINE] = (BASELINE_CODE, _environment("baseline"))
    return targets


def run_coldstart(repeats: int, progress: Callable[[str], None]) -> ColdStart:
    targets = _targets()
    samples: dict[str, list[float]] = defaultdict(list)
    for round_ in range(1, repeats + 1):
        progress(f"coldstart: round {round_}/{repeats} ({len(targets)} fresh interpreters)")
        for name, (code, env) in targets.items():
            samples[name].append(float(_run(code, env).stdout.split()[-1]) * 1000)
    spreads = {name: _spread(values) for name, values in samples.items()}
    names = function_names()
    return {
        "handlers": {name: spreads[name] for name in names},
        "handlers_tracing": {name: spreads[name + TRACING_ON] for name in names},
        "pynamodb": {
            name: spreads[name] for name in [f"{WITH_PYNAMODB} + pynamodb", *PYNAMODB_CODE]
        },
        "baseline": spreads[BASELINE],
        "importtime_of": "send",
        "importtime": import_shares("send"),
        "importtime_tracing": import_shares("send", tracing=True),
    }
