"""Each invocation's own Powertools state, while many run at once in one process.

In Lambda every concurrent invocation has an execution environment of its own. Here
they share one process, and Powertools keeps per-process state: Metrics keeps one metric
set for every instance (class attributes shared by design), and a Logger's appended keys
(the Lambda context that `inject_lambda_context` adds) live on a formatter shared by
every Logger of the same service. Two invocations running together would then flush
each other's metrics, or log under each other's request id.

Worker processes would isolate them, but the handlers must reach moto in-process, and
moto's state lives in this process. So the state is isolated per invocation instead:
those attributes become `InvocationScoped` descriptors, and `invocation()` gives every
invocation (each runs in a `contextvars` context of its own, as `asyncio.to_thread`
copies one per call) a private copy of them, taken from the value the instance had
outside any invocation. The Tracer needs nothing: it is disabled locally, and the X-Ray
SDK keeps its segments per thread anyway.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# (instance id, attribute) -> the invocation's own value; None outside an invocation.
_state: ContextVar[dict[tuple[int, str], Any] | None] = ContextVar(
    "courier_local_invocation_state", default=None
)


class InvocationScoped:
    """A data descriptor: outside an invocation, the instance's value; inside one, a
    shallow copy of it made on first use and dropped when the invocation ends."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        base = instance.__dict__.get(self.name)
        state = _state.get()
        if state is None:
            return base
        key = (id(instance), self.name)
        if key not in state:
            state[key] = copy.copy(base)
        return state[key]

    def __set__(self, instance: Any, value: Any) -> None:
        state = _state.get()
        if state is None:
            instance.__dict__[self.name] = value
        else:
            state[(id(instance), self.name)] = value


# Where Powertools keeps what one invocation adds, by class and attribute.
_SCOPED: dict[tuple[str, str], tuple[str, ...]] = {
    (
        "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
        "AmazonCloudWatchEMFProvider",
    ): ("metric_set", "dimension_set", "metadata_set", "dimension_sets", "timestamp"),
    ("aws_lambda_powertools.logging.formatter", "LambdaPowertoolsFormatter"): ("log_format",),
}


def install() -> None:
    """Scope Powertools' per-invocation state, once per process. Outside an invocation
    the descriptors read and write the instance's own attribute, so nothing changes for
    code that is not run by the invoker, and there is nothing to undo."""
    import importlib  # noqa: PLC0415

    for (module_name, class_name), names in _SCOPED.items():
        cls = getattr(importlib.import_module(module_name), class_name)
        for name in names:
            if not isinstance(cls.__dict__.get(name), InvocationScoped):
                setattr(cls, name, InvocationScoped(name))


@contextmanager
def invocation() -> Iterator[None]:
    """Run the body with state of its own (in the current contextvars context)."""
    token = _state.set({})
    try:
        yield
    finally:
        _state.reset(token)
