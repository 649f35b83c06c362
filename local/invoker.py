"""Run the deployable handlers the way Lambda does, from asyncio.

Handlers are blocking boto3 code, so each invocation runs in the thread pool, one at a
time across all functions: in Lambda every function has a process of its own, while
here they share one, and Powertools Metrics keeps its metric set per process (one
function's flush would empty another's). Posts to @connections go through the event
loop, never through this lock, so a handler that posts cannot deadlock.

Each invocation runs inside `faults.invocation`, a no-op unless the chaos harness
installed a fault plan (local/faults.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from local import faults
from local.events import LambdaContext
from local.handlers import Handler, load_handler

log = logging.getLogger("courier.local")


class Invoker:
    def __init__(self, functions: Iterable[str]) -> None:
        # Import every handler up front: imports are not thread-safe, and this is the cold start.
        self._handlers: dict[str, Handler] = {name: load_handler(name) for name in set(functions)}
        self._lock = threading.Lock()

    def _run(self, function: str, event: dict[str, Any]) -> Any:
        with self._lock, faults.invocation(function):
            return self._handlers[function](event, LambdaContext(f"courier-local-{function}"))

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        """The handler's result; its exception, logged, when it raises."""
        try:
            return await asyncio.to_thread(self._run, function, event)
        except Exception:
            log.exception("function %s raised", function)
            raise
