"""local/invoker.py: invocations run at once, as Lambda runs them, each with its own
Powertools state (local/isolation.py)."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from local import invoker as invoker_module
from local.invoker import Invoker

WAIT = 10.0  # a barrier that is not reached in this long means the invocations never overlapped

Handler = Callable[[dict[str, Any], Any], Any]


def invoker_of(monkeypatch: pytest.MonkeyPatch, handlers: dict[str, Handler]) -> Invoker:
    monkeypatch.setattr(invoker_module, "load_handler", handlers.__getitem__)
    return Invoker(handlers)


async def together(invoke: Invoker, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    return list(await asyncio.gather(*(invoke(function, event) for function, event in calls)))


def test_invocations_of_one_function_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    both_inside = threading.Barrier(2, timeout=WAIT)

    def handler(event: dict[str, Any], context: Any) -> str:
        both_inside.wait()  # breaks (and raises) unless the other invocation is running too
        return str(event["n"])

    invoke = invoker_of(monkeypatch, {"send": handler})
    assert asyncio.run(together(invoke, ("send", {"n": 1}), ("send", {"n": 2}))) == ["1", "2"]


def test_invocations_of_different_functions_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    both_inside = threading.Barrier(2, timeout=WAIT)

    def handler(event: dict[str, Any], context: Any) -> str:
        both_inside.wait()
        return str(context.function_name)

    invoke = invoker_of(monkeypatch, {"send": handler, "retry_worker": handler})
    names = asyncio.run(together(invoke, ("send", {}), ("retry_worker", {})))
    assert names == ["courier-local-send", "courier-local-retry_worker"]


def test_a_metrics_flush_never_empties_or_mixes_another_invocations_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given two invocations that each add a metric while the other is running,
    when the first flushes before the second, each flush holds its own metric only."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test")
    added = threading.Barrier(2, timeout=WAIT)
    first_flushed = threading.Event()
    published: dict[str, dict[str, Any]] = {}

    def handler_of(metrics: Metrics) -> Handler:
        def handler(event: dict[str, Any], context: Any) -> None:
            name = str(event["name"])
            metrics.add_metric(name=name, unit="Count", value=1)
            added.wait()
            if name == "second":
                assert first_flushed.wait(WAIT)
            published[name] = metrics.serialize_metric_set()
            metrics.clear_metrics()  # what log_metrics does once it has printed the set
            if name == "first":
                first_flushed.set()

        return handler

    # Two functions, as in one process here: two Metrics instances sharing class state.
    invoke = invoker_of(monkeypatch, {"send": handler_of(Metrics()), "read": handler_of(Metrics())})
    asyncio.run(together(invoke, ("send", {"name": "first"}), ("read", {"name": "second"})))

    def names(emf: dict[str, Any]) -> list[str]:
        return [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]

    assert names(published["first"]) == ["first"]
    assert names(published["second"]) == ["second"]


def test_log_lines_carry_their_own_invocations_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given two invocations of functions whose Loggers share a formatter (one service),
    their log lines each carry the Lambda context of their own invocation."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test-isolation")
    both_injected = threading.Barrier(2, timeout=WAIT)

    def handler_of(logger: Logger) -> Handler:
        @logger.inject_lambda_context
        def handler(event: dict[str, Any], context: Any) -> str:
            both_injected.wait()
            logger.info("working")
            return str(context.aws_request_id)

        return handler

    out = io.StringIO()
    loggers = Logger(stream=out), Logger(stream=out)
    invoke = invoker_of(
        monkeypatch, {"send": handler_of(loggers[0]), "read": handler_of(loggers[1])}
    )
    ids = asyncio.run(together(invoke, ("send", {}), ("read", {})))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    logged = {line["function_name"]: line["function_request_id"] for line in lines}
    assert logged == {"courier-local-send": ids[0], "courier-local-read": ids[1]}
