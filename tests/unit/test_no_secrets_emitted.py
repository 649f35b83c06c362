"""No issued token, JWT secret or message body in what the handlers emit: X-Ray traces
(with tracing on), logs and EMF metrics. Each run is a process of its own (tests.emissions)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def emissions(tmp_path: pathlib.Path, *capture_response: str) -> tuple[dict[str, Any], str]:
    report = tmp_path / "report.json"
    done = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "tests.emissions", str(report), *capture_response],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": "layers/courier:client:."},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text()), done.stdout + done.stderr


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    return emissions(tmp_path_factory.mktemp("deployed"))


def test_handlers_traced_as_deployed_emit_no_token_secret_or_message_body(
    deployed: tuple[dict[str, Any], str],
) -> None:
    report, output = deployed
    traces = "\n".join(report["traces"])
    assert report["traces"], "tracing on: the handlers' subsegments reach the daemon"
    for name in ("token", "secret", "body"):
        assert report[name] not in traces, f"the {name} is in a trace"
        assert report[name] not in output, f"the {name} is in the logs or metrics"
    # JWTs are three base64url parts; the header part alone would betray a token too.
    assert report["token"].split(".")[1] not in traces + output


def test_the_scan_sees_a_token_when_responses_are_captured(tmp_path: pathlib.Path) -> None:
    """Powertools' default (capture the response) puts the issued token into the trace:
    the test above would catch a template that left it on."""
    report, _ = emissions(tmp_path, "true")
    assert any(report["token"] in trace for trace in report["traces"])
