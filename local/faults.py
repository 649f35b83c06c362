"""Server-side faults for the chaos harness (`make chaos`). Off unless `install` is called.

Faults are injected where the deployed code meets AWS, so the handlers run unchanged:

- botocore event hooks on every client the handlers open (call `install` before the
  stack starts, so that their clients are built with them):
  an exception just before or just after a write (a function dying between the writes
  of one operation), DynamoDB throttling, transactions cancelled by a conflict,
  PostToConnection answering 410 (the connection just dropped) or 429;
- `send` dying right after its TransactWriteItems committed (crash-after-commit), before
  any post or queue call: the message is stored, the sender gets no sendack and resends
  (`duplicate: true`), and whatever delivery was to follow the commit in `send` is lost;
- the invoker: a function that fails after doing its work (a timeout), so API Gateway
  answers an error and an SQS batch comes back;
- the SQS pollers: a batch delivered a second time, and failed batches visible again
  sooner than the queue's visibility timeout (so their redelivery happens within a run).

Only calls a function makes while the invoker runs it are touched (the function is
known per invocation, however many run at once); the pollers' own SQS calls never are.

The first chance of each kind of fault always fires, whatever its rate (above 0): a run
then exercises every kind by construction, not by luck.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse

from local import botocore_hooks

WRITES = frozenset(
    {
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "DeleteItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "BatchWriteItem"),
        ("apigatewaymanagementapi", "PostToConnection"),
        ("apigatewaymanagementapi", "DeleteConnection"),
        ("sqs", "SendMessage"),
        ("sqs", "SendMessageBatch"),
        ("sns", "Publish"),
    }
)
POST = ("apigatewaymanagementapi", "PostToConnection")
CRASH_AFTER = "courier_chaos_crash_after"  # in botocore's per-call context
TRANSACTION = ("dynamodb", "TransactWriteItems")
COMMITTING_FUNCTION = "send"  # whose transaction commits a message


class InjectedCrash(Exception):
    """A fault: the function dies at this point."""


@dataclass(frozen=True)
class ServerFaultRates:
    """Probabilities, each per opportunity."""

    crash: float = 0.0  # per write call: an exception just before or (as often) just after it
    throttle: float = 0.0  # per DynamoDB call: ProvisionedThroughputExceededException
    conflict: float = 0.0  # per TransactWriteItems: cancelled, TransactionConflict
    gone: float = 0.0  # per PostToConnection: the connection drops, 410 GoneException
    limit: float = 0.0  # per PostToConnection: 429 LimitExceededException
    duplicate_job: float = 0.0  # per SQS batch: delivered a second time
    invocation: float = 0.0  # per invocation: the function fails after its work
    # per TransactWriteItems of `send` that commits: the function dies right after it
    crash_after_commit: float = 0.0


class ServerFaults:
    """A fault plan: its rates, its own random source, and what it injected.

    `drop_connection(connection_id)` closes a live connection (called from a handler's
    thread) so that an injected 410 tells the truth; `spared(connection_id)`, true for a
    connection no injected 410 may close; `visibility_seconds` replaces the queues'
    visibility timeout for the pollers.
    """

    def __init__(
        self,
        rates: ServerFaultRates,
        rng: random.Random,
        *,
        drop_connection: Callable[[str], None] | None = None,
        visibility_seconds: int | None = None,
    ) -> None:
        self.rates = rates
        self.enabled = True
        self.injected: Counter[str] = Counter()
        self.where: Counter[str] = Counter()  # "kind function Operation"
        self._rng = rng
        self._lock = threading.Lock()
        self._forced: set[str] = set()
        self.drop_connection = drop_connection
        self.spared: Callable[[str], bool] = lambda connection_id: False
        self.visibility_seconds = visibility_seconds

    def chance(self, rate: float) -> bool:
        if not self.enabled or rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def decide(self, kind: str, rate: float) -> bool:
        """One opportunity for `kind`: the first one fires, later ones by `rate`."""
        if not self.enabled or rate <= 0:
            return False
        with self._lock:
            if kind not in self._forced:
                self._forced.add(kind)
                return True
            return self._rng.random() < rate

    def count(self, kind: str, where: str) -> None:
        with self._lock:
            self.injected[kind] += 1
            self.where[f"{kind} {where}"] += 1

    def roll(self, kind: str, rate: float, where: str) -> bool:
        """Decide one opportunity; count it when the fault fires."""
        fired = self.decide(kind, rate)
        if fired:
            self.count(kind, where)
        return fired

    def drop(self, connection_id: str) -> None:
        if self.drop_connection is not None:
            self.drop_connection(connection_id)


_plan: ServerFaults | None = None
# The function whose invocation this thread is running (set per invocation's context),
# and when that invocation began (wall clock, ms).
_function: ContextVar[str | None] = ContextVar("courier_local_function", default=None)
_started: ContextVar[int | None] = ContextVar("courier_local_started", default=None)


def install(plan: ServerFaults) -> None:
    """Turn faults on for this process: hooks on every client built from now on
    (local/botocore_hooks.py), then `plan`."""
    global _plan  # noqa: PLW0603 - one plan per process, like the stack itself
    botocore_hooks.add("before-call", _before_call)
    botocore_hooks.add("after-call", _after_call)
    _plan = plan


def uninstall() -> None:
    """Faults off; clients built from now on carry no hooks (those built before keep
    inert ones)."""
    global _plan  # noqa: PLW0603
    _plan = None
    botocore_hooks.remove("before-call", _before_call)
    botocore_hooks.remove("after-call", _after_call)


def _active() -> ServerFaults | None:
    plan = _plan
    return plan if plan is not None and plan.enabled else None


@contextmanager
def invocation(function: str) -> Iterator[None]:
    """Around one invocation: faults know whose calls they touch; on success, the
    function may still fail after its work."""
    token = _function.set(function)
    started = _started.set(time.time_ns() // 1_000_000)
    try:
        yield
    finally:
        _started.reset(started)
        _function.reset(token)
    plan = _active()
    if plan is not None and plan.roll("invocation", plan.rates.invocation, function):
        raise InjectedCrash(f"{function} failed after its work (injected)")


def invocation_started() -> int | None:
    """When the invocation this thread runs began (wall clock, ms; None outside one): what
    the function read, it read after that."""
    return _started.get()


def duplicate_delivery(queue: str) -> bool:
    """Whether SQS hands this batch over a second time."""
    plan = _active()
    return plan is not None and plan.roll("duplicate_job", plan.rates.duplicate_job, queue)


def visibility_timeout(queue_default: int) -> int:
    plan = _plan
    if plan is None or plan.visibility_seconds is None:
        return queue_default
    return plan.visibility_seconds


def _error(status: int, code: str, **fields: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """A response as botocore parses a failed call: the client raises its ClientError."""
    http = AWSResponse(url="", status_code=status, headers={}, raw=None)
    parsed = {
        "Error": {"Code": code, "Message": f"{code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **fields,
    }
    return http, parsed


def _conflict(params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """TransactWriteItems cancelled, nothing written: one reason per item, and another
    transaction held the second one (a send's channel counter)."""
    items = len(json.loads(params.get("body") or b"{}").get("TransactItems", []))
    reasons = [{"Code": "None"} for _ in range(max(items, 2))]
    reasons[1] = {"Code": "TransactionConflict"}
    return _error(400, "TransactionCanceledException", CancellationReasons=reasons)


def _call(model: Any) -> tuple[str, str]:
    return str(model.service_model.service_id.hyphenize()), str(model.name)


def _before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
    plan, function = _active(), _function.get()
    if plan is None or function is None:
        return None
    call = _call(model)
    where = f"{function} {call[1]}"
    rates = plan.rates
    if call == POST:
        connection_id = unquote(str(params.get("url_path", "")).rsplit("/", 1)[-1])
        if not plan.spared(connection_id) and plan.roll("gone", rates.gone, where):
            plan.drop(connection_id)
            return _error(410, "GoneException")
        if plan.roll("limit", rates.limit, where):
            return _error(429, "LimitExceededException")
    if call[0] == "dynamodb" and plan.roll("throttle", rates.throttle, where):
        return _error(400, "ProvisionedThroughputExceededException")
    if call == TRANSACTION and plan.roll("conflict", rates.conflict, where):
        return _conflict(params)
    if call in WRITES and plan.decide("crash", rates.crash):
        if plan.chance(0.5):
            context[CRASH_AFTER] = where  # once the write is done: see _after_call
        else:
            plan.count("crash", f"{where} (before)")
            raise InjectedCrash(f"{function} died before {call[1]} (injected)")
    return None


def _after_call(http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
    """A crash planned before the call (`crash`), or `send` dying once its transaction
    committed (`crash_after_commit`). Either raises InjectedCrash out of botocore's call,
    so the function stops there, like the process dying: PynamoDB passes an exception
    that is not a ClientError through, and nothing in `send` runs after the transaction
    (no post, no queue call); the handler's last-resort `except Exception`
    (courier/websocket.py `answer`) can only turn it into an `internal` error frame, no
    sendack, as API Gateway answers a function that died, so the client resends."""
    where = context.pop(CRASH_AFTER, None)
    plan = _active()
    if plan is None or http_response.status_code >= 300:
        return  # no plan, or the write failed by itself (a cancelled transaction commits nothing)
    if where is not None:
        plan.count("crash", f"{where} (after)")
        raise InjectedCrash(f"died just after {where} (injected)")
    function = _function.get()
    if function != COMMITTING_FUNCTION or _call(model) != TRANSACTION:
        return
    rate = plan.rates.crash_after_commit
    if plan.roll("crash_after_commit", rate, f"{function} {TRANSACTION[1]}"):
        raise InjectedCrash(f"{function} died just after its transaction committed (injected)")
