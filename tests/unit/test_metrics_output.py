"""Metric lines (CloudWatch EMF) stay out of what people read locally, and deployed
functions still print them: `make invoke`, `make run` and a handler run as Lambda runs it,
each in a process of its own."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from local.handlers import FUNCTIONS_DIR, LAYER_DIR
from tests.unit.test_settings import TABLES

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TIMEOUT = 60


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COURIER_", "POWERTOOLS_", "AWS_", "LAMBDA_", "_X_AMZN"))
    }
    env.update(
        PYTHONPATH=os.pathsep.join(["layers/courier", "client", "."]),
        COURIER_METRICS_LOG=str(tmp_path / "metrics.log"),
        **extra,
    )
    return env


def _emf(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if '"_aws"' in line]


def _metric_names(lines: list[dict[str, Any]]) -> set[str]:
    return {m["Name"] for line in lines for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def _invoke(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.invoke", "send", str(EVENTS / "send-dm.json"), *flags],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )


def test_make_invoke_prints_no_metric_json_and_logs_it_instead(tmp_path: Path) -> None:
    done = _invoke(tmp_path)
    assert '"_aws"' not in done.stdout + done.stderr
    assert json.loads(done.stdout)["result"]["statusCode"] == 200  # stdout is the outcome alone
    logged = _emf((tmp_path / "metrics.log").read_text())
    assert {"ColdStart", "MessagesAccepted"} <= _metric_names(logged)


def test_make_invoke_verbose_prints_the_metric_lines_too(tmp_path: Path) -> None:
    done = _invoke(tmp_path, "--verbose")
    assert {"ColdStart", "MessagesAccepted"} <= _metric_names(_emf(done.stdout))


def test_the_local_stack_prints_no_metric_json_and_logs_it_instead(tmp_path: Path) -> None:
    """Given `make run`, when the admin API issues a token (the admin function counts its
    calls, and its first invocation is a cold start), nothing it prints is EMF."""
    stack = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=ROOT,
        env=_env(tmp_path, COURIER_PORT="0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert stack.stdout is not None
    output: list[str] = []
    try:
        for line in stack.stdout:
            output.append(line)
            found = re.search(r"Courier local stack on (http://\S+)", line)
            if found:
                break
        assert found, "".join(output)
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{found.group(1)}/admin/tokens",
            data=json.dumps({"user": "alice", "device": "phone"}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:  # noqa: S310
            assert json.loads(reply.read())["token"]
    finally:
        stack.send_signal(signal.SIGINT)
        rest, _ = stack.communicate(timeout=TIMEOUT)
        output.append(rest)
    assert '"_aws"' not in "".join(output)
    logged = _emf((tmp_path / "metrics.log").read_text())
    assert {"ColdStart", "AdminCalls"} <= _metric_names(logged)


def test_a_deployed_handler_still_prints_its_metrics_to_stdout(tmp_path: Path) -> None:
    """The authorizer imported and called as Lambda does (its folder and the layer on the
    path, no local tool in the process): its EMF lines are on stdout for CloudWatch."""
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(FUNCTIONS_DIR / 'authorizer')!r}, {str(LAYER_DIR)!r}]\n"
        "import app\n"
        f"event = json.load(open({str(EVENTS / 'authorizer-forged.json')!r}))\n"
        "class Context:\n"
        "    function_name = 'courier-authorizer'\n"
        "    memory_limit_in_mb = 256\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:a'\n"
        "    aws_request_id = 'r-1'\n"
        "app.handler(event, Context())\n"
    )
    tables = dict.fromkeys(TABLES, "x")  # every setting the handlers require
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "courier-authorizer",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / "authorizer"),
        "POWERTOOLS_SERVICE_NAME": "courier",
        "POWERTOOLS_METRICS_NAMESPACE": "Courier",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "COURIER_JWT_SECRET": "a-secret-of-at-least-thirty-two-bytes",
        **tables,
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert {"ColdStart", "ConnectDeny"} <= _metric_names(_emf(done.stdout))
