"""Record AWS calls through botocore's event hooks, grouped by the Lambda invocation making them.

The hooks are appended to botocore's built-in handlers (as moto attaches its own), so every
session created afterwards, and every client of such a session, reports its calls:
`before-parameter-build` keeps the request's parameters (and the time) in the request
context and `after-call` records them with the parsed response (an error response
included: a failed conditional write is billed too) and the call's duration. Nothing is
kept outside a `recording()` block.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore import handlers

_PARAMS = "bench.params"
_STARTED = "bench.started"


@dataclass(frozen=True)
class Call:
    """One AWS API request: botocore's service and operation names, parameters, response."""

    service: str
    operation: str
    params: Mapping[str, Any]
    response: Mapping[str, Any] = field(default_factory=dict)
    parallel: bool = False  # made from a worker thread (posts go out 16 at a time)
    seconds: float = 0.0  # how long the caller waited for it

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Invocation:
    """One Lambda invocation and what it did; the sizes are what API Gateway bills."""

    function: str
    memory_mb: int
    frame_bytes: int = 0  # the client frame that triggered it (0: not a WebSocket frame)
    reply_bytes: int = 0  # the reply a two-way route sends back (0: none)
    http_request: bool = False  # an HTTP API request (the admin API) triggered it
    records: int = 0  # SQS records in the batch (workers)
    fifo: bool = False  # the worker's queue is FIFO
    stream: bool = False  # the records come from a DynamoDB stream (reading it is free)
    log_bytes: int = 0  # what the function wrote to stdout (EMF metrics, logs)
    calls: list[Call] = field(default_factory=list)


@dataclass
class Trace:
    """Everything recorded in one `recording()` block."""

    invocations: list[Invocation] = field(default_factory=list)
    stray: list[Call] = field(default_factory=list)  # calls made outside any invocation

    def calls(self) -> list[Call]:
        return [c for i in self.invocations for c in i.calls] + self.stray


class _Recorder:
    def __init__(self) -> None:
        self.trace: Trace | None = None
        self.current: Invocation | None = None
        self.lock = threading.Lock()

    def keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self.trace is not None:
            context[_PARAMS] = dict(params)
            context[_STARTED] = time.perf_counter()

    def record(
        self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        trace = self.trace
        if trace is None or _PARAMS not in context:
            return
        call = Call(
            service=str(model.service_model.service_name),
            operation=str(model.name),
            params=context[_PARAMS],
            response=parsed,
            parallel=threading.current_thread() is not threading.main_thread(),
            seconds=time.perf_counter() - context[_STARTED],
        )
        with self.lock:
            (self.current.calls if self.current is not None else trace.stray).append(call)


_recorder = _Recorder()


def install() -> None:
    """Hook every botocore session created from now on (idempotent)."""
    hooks = [
        ("before-parameter-build", _recorder.keep_params),
        ("after-call", _recorder.record),
    ]
    for hook in hooks:
        if hook not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(hook)


def log(line: str) -> None:
    """A line the current invocation printed somewhere other than stdout (EMF metric lines,
    which the harness diverts): billed as logs all the same."""
    current = _recorder.current
    if current is not None:
        current.log_bytes += len(line.encode()) + 1  # and its newline


@contextmanager
def recording() -> Iterator[Trace]:
    """Record the AWS calls and invocations made inside the block."""
    trace = Trace()
    _recorder.trace, _recorder.current = trace, None
    try:
        yield trace
    finally:
        _recorder.trace, _recorder.current = None, None


@contextmanager
def invocation(record: Invocation) -> Iterator[Invocation]:
    """Attribute the calls made inside the block to this invocation (when recording)."""
    trace = _recorder.trace
    if trace is None:
        yield record
        return
    trace.invocations.append(record)
    _recorder.current = record
    try:
        yield record
    finally:
        _recorder.current = None
