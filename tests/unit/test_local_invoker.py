"""local/invoker.py: invocations run at once, as Lambda runs them, each with its own
Powertools state (local/isolation.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from local import invoker as invoker_module
from local.invoker import Invoker
from local.samples import load_event

WAIT = 10.0  # a barrier that is not reached in this long means the invocations never overlapped
# how long an admin route waits for another call to be inside at the same time (it never
# is: the wait only gives a regression the chance to show)
OVERLAP_SECONDS = 1.0

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


def test_two_admin_calls_at_once_each_get_their_own_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Powertools' resolver keeps the event it handles on a class, one per process: the
    admin function's invocations run one at a time, so a route never reads another
    call's request (seen in `make chaos SEED=2`: three groups created together all got
    the members of one). Each route waits a moment for the other to be inside too: it
    never is (without the turns it is, and both read the second call's body)."""
    app = APIGatewayHttpResolver()
    both_inside = threading.Barrier(2, timeout=OVERLAP_SECONDS)

    @app.put("/admin/groups/<group>")
    def put_group(group: str) -> dict[str, Any]:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait()
        return {"group": group, "body": app.current_event.body}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    def put(group: str) -> tuple[str, dict[str, Any]]:
        event = load_event("admin-put-group")
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/admin/groups/{group}"
        return "admin", {**event, "body": f"members of {group}"}

    invoke = invoker_of(monkeypatch, {"admin": handler})
    replies = asyncio.run(together(invoke, put("team0"), put("team1")))
    assert [json.loads(reply["body"]) for reply in replies] == [
        {"group": "team0", "body": "members of team0"},
        {"group": "team1", "body": "members of team1"},
    ]
