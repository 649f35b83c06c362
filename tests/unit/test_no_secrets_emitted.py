"""No token the admin API issued and no message body leaves a handler through its traces,
its logs or its metrics.

The handlers run with tracing ON, as with `Tracing: Active`: Powertools' Tracer on the
X-Ray SDK's recorder in its Lambda mode (LAMBDA_TASK_ROOT and a sampled `_X_AMZN_TRACE_ID`,
as Lambda sets them), botocore patched, every subsegment streamed as UDP to a local
"X-Ray daemon" (AWS_XRAY_DAEMON_ADDRESS) that keeps every datagram. Logs are taken at the
template's default level, with the handlers' own formatter; metrics are the EMF lines the
handlers print. The companion test proves that the listeners would see a leak: with
POWERTOOLS_TRACER_CAPTURE_RESPONSE=true (Powertools' default) the token is in the trace,
and with POWERTOOLS_LOGGER_LOG_EVENT=true the body is in the logs.
"""

from __future__ import annotations

import copy
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import botocore.endpoint
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.tracing import Tracer

from local.handlers import FUNCTIONS_DIR
from local.template import load_template
from tests.harness import JWT_SECRET, Courier

BODY = "zebra-quartz-7731 a body no trace may hold"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
HANDLER_MODULES = "courier_function_"
INVOCATIONS = 7  # handler invocations in _issue_token_and_talk (the stream's included)

pytestmark = pytest.mark.usefixtures("forget_traced_handlers")


class XRayDaemon:
    """A UDP socket on loopback where the X-Ray SDK sends segments; a thread drains it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.datagrams: list[str] = []
        self.emitter: Any = None  # the SDK's emitter pointed here, closed with the daemon
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(1 << 16).decode())
            except TimeoutError:
                continue

    def close(self) -> str:
        """Every datagram sent so far (on loopback, a sent datagram is already queued here)."""
        self._stop.set()
        self._thread.join()
        self.sock.setblocking(False)
        while True:
            try:
                self.datagrams.append(self.sock.recv(1 << 16).decode())
            except BlockingIOError:
                break
        self.sock.close()
        return "\n".join(self.datagrams)


@pytest.fixture
def xray_daemon() -> Iterator[XRayDaemon]:
    daemon = XRayDaemon()
    yield daemon
    if not daemon._stop.is_set():
        daemon.close()
    if daemon.emitter is not None:
        daemon.emitter._socket.close()


@dataclass
class Emitted:
    logs: list[str] = field(default_factory=list)

    def everything(self, segments: str, courier: Courier, out: str) -> dict[str, str]:
        return {
            "X-Ray segments": segments,
            "logs": "\n".join(self.logs),
            "metrics (EMF)": "\n".join(courier.metric_lines),
            "stdout and stderr": out,
        }


class _Keep(logging.Handler):
    def __init__(self, emitted: Emitted, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.emitted = emitted
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.emitted.logs.append(self.format(record))


def trace_handlers(monkeypatch: pytest.MonkeyPatch, daemon: XRayDaemon, capture: str) -> None:
    """Tracing on for the handlers imported from now on, as the deployed functions have it;
    everything put back after the test (botocore unpatched, handler modules restored)."""
    from aws_xray_sdk import global_sdk_config  # noqa: PLC0415 - tracing-on tests only
    from aws_xray_sdk.core import patcher, xray_recorder  # noqa: PLC0415
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter  # noqa: PLC0415
    from aws_xray_sdk.core.lambda_launcher import LambdaContext  # noqa: PLC0415
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler  # noqa: PLC0415
    from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming  # noqa: PLC0415

    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", capture)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(FUNCTIONS_DIR))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    # The recorder as Lambda builds it (it was created at import, perhaps outside "Lambda").
    monkeypatch.setattr(type(global_sdk_config), "_SDKConfig__SDK_ENABLED", True)
    monkeypatch.setattr(xray_recorder, "_context", LambdaContext())
    monkeypatch.setattr(xray_recorder, "_sampler", LocalSampler())
    daemon.emitter = UDPEmitter(daemon.address)
    monkeypatch.setattr(xray_recorder, "_emitter", daemon.emitter)
    monkeypatch.setattr(xray_recorder, "_streaming", DefaultStreaming())
    # Powertools keeps the first Tracer's configuration for the whole process.
    monkeypatch.setattr(Tracer, "_config", copy.copy(Tracer._default_config))
    # The patch wraps two botocore methods for good: put them back afterwards.
    monkeypatch.setattr(patcher, "_PATCHED_MODULES", set())
    monkeypatch.setattr(botocore.client, "_xray_enabled", None, raising=False)
    monkeypatch.delattr(botocore.client, "_xray_enabled")
    monkeypatch.setattr(
        botocore.client.BaseClient,
        "_make_api_call",
        botocore.client.BaseClient.__dict__["_make_api_call"],
    )
    monkeypatch.setattr(
        botocore.endpoint.Endpoint,
        "prepare_request",
        botocore.endpoint.Endpoint.__dict__["prepare_request"],
    )
    # Handlers already imported (tracing off) are imported again; the originals come back.
    for name in [m for m in sys.modules if m.startswith(HANDLER_MODULES)]:
        monkeypatch.delitem(sys.modules, name)


@pytest.fixture
def forget_traced_handlers() -> Iterator[None]:
    """Handler modules first imported during the test (with tracing on) are dropped."""
    before = {m for m in sys.modules if m.startswith(HANDLER_MODULES)}
    yield
    for name in [m for m in sys.modules if m.startswith(HANDLER_MODULES)]:
        if name not in before:
            del sys.modules[name]


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emitted]:
    """Every record the handlers log at the template's default level, formatted as they are."""
    emitted = Emitted()
    level = load_template()["Parameters"]["LogLevel"]["Default"]
    service = logging.getLogger("courier")
    if not service.handlers:
        Logger(service="courier")  # what the first handler import does: its handler comes first
    formatter = next((h.formatter for h in service.handlers if h.formatter), None)
    keep = _Keep(emitted, formatter)
    old_level = service.level
    service.setLevel(level)
    service.addHandler(keep)
    logging.getLogger().addHandler(keep)
    try:
        yield emitted
    finally:
        service.removeHandler(keep)
        logging.getLogger().removeHandler(keep)
        service.setLevel(old_level)


def _issue_token_and_talk(courier: Courier) -> str:
    """A token issued through POST /admin/tokens, then a DM with BODY sent and synced."""
    status, reply = courier.admin(
        "admin-create-token", body={"user": "alice", "device": "phone", "ttlSeconds": 3600}
    )
    assert status == 200, reply
    token = str(reply["token"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    assert courier.send(alice, "dm:alice:bob", "secret-1", {"text": BODY})["type"] == "sendack"
    page = courier.sync(bob, channel="dm:alice:bob", afterSeq=0, limit=10)
    assert page["messages"][0]["body"] == {"text": BODY}  # the body did pass through
    assert BODY in str(courier.sync(bob))  # the conversation list's preview too
    return token


def test_no_token_or_message_body_in_traces_logs_or_metrics(
    courier: Courier,
    monkeypatch: pytest.MonkeyPatch,
    xray_daemon: XRayDaemon,
    logs: Emitted,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Given tracing on with POWERTOOLS_TRACER_CAPTURE_RESPONSE=false (the template's),
    when a token is issued and a message sent and synced, then none of what the handlers
    emitted holds the token or the body."""
    trace_handlers(monkeypatch, xray_daemon, capture="false")

    token = _issue_token_and_talk(courier)

    captured = capsys.readouterr()
    emitted = logs.everything(xray_daemon.close(), courier, captured.out + captured.err)
    # The listener received every invocation's trace: admin, 2 connects, send, the
    # delivery worker (the stream), 2 syncs.
    assert emitted["X-Ray segments"].count('"name": "## handler"') == INVOCATIONS
    assert '"namespace": "aws"' in emitted["X-Ray segments"]  # and the AWS calls in it
    assert courier.metric_lines  # and metrics were emitted
    for what, text in emitted.items():
        assert token not in text, f"the issued token is in the {what}"
        assert BODY not in text, f"a message body is in the {what}"
        assert JWT_SECRET not in text, f"the signing secret is in the {what}"


def test_the_listeners_catch_a_leak_when_responses_and_events_are_captured(
    courier: Courier,
    monkeypatch: pytest.MonkeyPatch,
    xray_daemon: XRayDaemon,
    logs: Emitted,
) -> None:
    """The same with Powertools' default (capture responses into the trace) and its
    POWERTOOLS_LOGGER_LOG_EVENT on: the token is found in the trace and the body in the
    logs, so the test above would catch a handler that leaks them."""
    trace_handlers(monkeypatch, xray_daemon, capture="true")
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")

    token = _issue_token_and_talk(courier)

    segments = xray_daemon.close()
    assert token in segments
    assert BODY in segments
    assert any(BODY in line for line in logs.logs)
