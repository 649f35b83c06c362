"""Run handlers as deployed with tracing on, and keep everything they emit: the X-Ray
entities sent to the daemon go to a JSON file, logs and EMF metrics to stdout/stderr.

A process of its own (`python -m tests.emissions <report.json> [capture-response]`),
because Powertools' Tracer configuration is process-wide and is read when a handler
module is imported. The
Powertools settings are the template's; tracing is on, as with `Tracing: Active`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# Lambda, tracing on: a task root, a sampled trace header, before the SDK is imported.
os.environ.update(
    {
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "courier-emissions",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;"
        "Parent=53995c3f42cd8ad8;Sampled=1",
    }
)

import pytest
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from moto import mock_aws

from local.handlers import load_handler
from local.template import load_template, parameter_env
from tests.events import load_event
from tests.harness import BASE_ENV, JWT_SECRET, Courier

SENT: list[str] = []


def _keep(_emitter: UDPEmitter, entity: Any) -> None:
    SENT.append(entity.serialize())


def deployed_powertools_env(capture_response: str | None) -> dict[str, str]:
    """The template's POWERTOOLS_* values (parameters at their defaults); `capture_response`
    overrides POWERTOOLS_TRACER_CAPTURE_RESPONSE (to show the scan would see a leak)."""
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    env = {
        name: value
        for name, value in variables.items()
        if name.startswith("POWERTOOLS_") and isinstance(value, str)
    }
    env.update({k: v for k, v in parameter_env(template).items() if k.startswith("POWERTOOLS_")})
    if capture_response is not None:
        env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] = capture_response
    return env


def main(report_path: str, capture_response: str | None) -> None:
    UDPEmitter.send_entity = _keep  # type: ignore[method-assign]
    xray_recorder.configure(streaming_threshold=0)  # send each subsegment as it closes
    monkeypatch = pytest.MonkeyPatch()
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        courier = Courier(monkeypatch)
        # After Courier(), which sets the test environment (tracing off, few logs): the
        # deployed Powertools settings, tracing on as with `Tracing: Active`.
        for name, value in deployed_powertools_env(capture_response).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
        status, issued = courier.admin("admin-create-token", body={"user": "alice"})
        assert status == 200, issued
        token = issued["token"]
        event = load_event("authorizer-allow")
        event["queryStringParameters"] = {"token": token}
        load_handler("authorizer")(event, courier.context)
        alice, bob = courier.connect("alice"), courier.connect("bob")
        body_text = "body-that-must-stay-out-of-traces-and-logs"
        courier.send(alice, "dm:alice:bob", "m1", {"text": body_text})
        page = courier.sync(bob, channel="dm:alice:bob", afterSeq=0, limit=10)
        assert body_text in json.dumps(page)
        courier.drain("RetryQueue")
        courier.disconnect(bob)
        courier.send(alice, "dm:alice:bob", "m2", {"text": body_text})
        courier.drain("NotifyQueue")
    with open(report_path, "w", encoding="utf-8") as report:
        json.dump({"token": token, "body": body_text, "secret": JWT_SECRET, "traces": SENT}, report)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
