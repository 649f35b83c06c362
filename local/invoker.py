"""Run the deployable handlers the way Lambda does, from asyncio.

Handlers are blocking boto3 code, so each invocation runs on a thread of the loop's
executor, and any number run at once: invocations of different functions, and of the
same function, as Lambda runs one execution environment per concurrent invocation.
What Lambda keeps apart by giving each environment its own process is kept apart here
per invocation (local/isolation.py): Powertools' metric set and logger keys. Threads,
not processes, because the handlers reach moto in-process and moto's state is this
process's; the GIL costs little, as an invocation mostly waits on moto's lock or a post.

Each invocation runs inside `faults.invocation`, a no-op unless the chaos harness
installed a fault plan (local/faults.py).

One exception: the invocations of a function built on Powertools' event handler (the
admin API) run one at a time. Its resolver keeps the event being handled on a class
(`BaseRouter.current_event`), one per process, where a route reads it: two invocations at
once would each read whichever event came last (two groups created together would both
get the members of one). In Lambda each invocation has a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

from local import faults, isolation
from local.events import LambdaContext
from local.handlers import Handler, load_handler

log = logging.getLogger("courier.local")


# The functions whose invocations run one at a time (see the module's docstring).
ONE_AT_A_TIME = frozenset({"admin"})


class Invoker:
    def __init__(self, functions: Iterable[str]) -> None:
        isolation.install()  # before the handlers build their Metrics and Logger
        # Import every handler up front: imports are not thread-safe, and this is the cold start.
        self._handlers: dict[str, Handler] = {name: load_handler(name) for name in set(functions)}
        self._turns = {name: threading.Lock() for name in ONE_AT_A_TIME & self._handlers.keys()}

    def _run(self, function: str, event: dict[str, Any]) -> Any:
        turn = self._turns.get(function) or contextlib.nullcontext()
        with turn, isolation.invocation(), faults.invocation(function):
            return self._handlers[function](event, LambdaContext(f"courier-local-{function}"))

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        """The handler's result; its exception, logged, when it raises."""
        try:
            return await asyncio.to_thread(self._run, function, event)
        except Exception:
            log.exception("function %s raised", function)
            raise
