"""Billed units of recorded AWS calls, by each service's published metering rules.

DynamoDB (on-demand): a write costs ceil(item size / 1 KB) write request units, twice that
in a transaction; a failed conditional write is billed like a successful one. A read costs
ceil(size / 4 KB) read request units when strongly consistent, half when eventually
consistent (a missing item still costs the minimum); Query and Scan round the total size
of the items read, not each item. Item sizes follow DynamoDB's item-size rules, computed
from the request (Put, keys, an UpdateItem's SET/ADD values) or the response (items read,
ALL_NEW attributes). SQS bills each 64 KB chunk of a request's payload, API Gateway each
32 KB of a WebSocket message in either direction and each request to an HTTP API (the
admin API's are far below its 512 KB increment), SNS each 64 KB of a publish.

Lambda's duration cannot be measured against moto, so it is modelled: a fixed overhead
plus an in-region round trip per AWS call, parallel posts overlapping 16 at a time.

A DynamoDB stream's records reach their function with no SQS request (Lambda reads the
stream for free), but each invocation is billed: its request, its duration and its log
lines. The bench runs each stream record as its own batch, the worst case and what a
quiet shard does (Lambda polls it about four times a second and invokes with what it
found); a busy one fills batches up to the mapping's BatchSize. `stream_batch` bills a
stream invocation as a share of such a batch: each record pays 1/stream_batch of the
request, of the fixed overhead and of the log lines (one EMF metric set per invocation),
and its own AWS calls in full.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bench.recorder import Call, Invocation, Trace
from courier.delivery import PARALLEL_POSTS

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
SQS_CHUNK_BYTES = 64 * 1024
SNS_CHUNK_BYTES = 64 * 1024
API_MESSAGE_BYTES = 32 * 1024
PLATFORM_LOG_BYTES = 350  # Lambda's own START, END and REPORT lines per invocation

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]


# ----------------------------------------------------------------- DynamoDB item sizes
def number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    try:
        digits = len(Decimal(text).normalize().as_tuple().digits)
    except InvalidOperation:
        digits = len(text)
    return math.ceil(digits / 2) + 1


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _raw(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else _utf8(str(value))


def value_size(value: AttributeValue) -> int:  # noqa: PLR0911 - a rule per type
    """The size of one attribute value (without its name)."""
    kind, inner = next(iter(value.items()))
    match kind:
        case "S":
            return _utf8(inner)
        case "N":
            return number_size(inner)
        case "B":
            return _raw(inner)
        case "BOOL" | "NULL":
            return 1
        case "SS":
            return sum(_utf8(v) for v in inner)
        case "NS":
            return sum(number_size(v) for v in inner)
        case "BS":
            return sum(_raw(v) for v in inner)
        case "L":
            return 3 + sum(value_size(v) + 1 for v in inner)
        case "M":
            return 3 + sum(_utf8(k) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Item) -> int:
    """Attribute names plus values, as DynamoDB sizes an item."""
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int) -> int:
    return max(1, math.ceil(size / READ_UNIT_BYTES))


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r":\w+")


def _top_level(text: str) -> list[str]:
    """Split on the commas that are not inside parentheses (if_not_exists(a, :v))."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def updated_item_size(update: Mapping[str, Any]) -> int:
    """An UpdateItem's item after the update: its key plus the attributes SET or ADDed.

    Courier's rows hold nothing else, so this is their size; an item the reply returns
    (ALL_NEW, or the old item of a failed condition) is used when it is larger."""
    names: Mapping[str, str] = update.get("ExpressionAttributeNames", {})
    values: Mapping[str, AttributeValue] = update.get("ExpressionAttributeValues", {})
    pieces = _CLAUSE.split(update.get("UpdateExpression", ""))
    attributes: dict[str, int] = {}
    for clause, body in zip(pieces[1::2], pieces[2::2], strict=True):
        if clause.upper() not in {"SET", "ADD"}:
            continue
        for action in _top_level(body):
            separator = "=" if clause.upper() == "SET" else " "
            path, _, expression = action.strip().partition(separator)
            name = re.split(r"[.\[]", path.strip())[0]
            name = names.get(name, name)
            size = sum(value_size(values[p]) for p in _PLACEHOLDER.findall(expression))
            attributes[name] = _utf8(name) + max(size, 1)
    key = update["Key"]
    return item_size(key) + sum(v for k, v in attributes.items() if k not in key)


def _update_size(update: Mapping[str, Any], response: Mapping[str, Any]) -> int:
    returned = response.get("Attributes") or response.get("Item")
    estimate = updated_item_size(update)
    return max(estimate, item_size(returned)) if returned else estimate


def _action_write_units(action: Mapping[str, Any]) -> int:
    """One write of a transaction or batch (ConditionCheck is billed as a write of its key)."""
    kind, spec = next(iter(action.items()))
    match kind:
        case "Put" | "PutRequest":
            return write_units(item_size(spec["Item"]))
        case "Update":
            return write_units(updated_item_size(spec))
        case "Delete" | "DeleteRequest" | "ConditionCheck":
            return write_units(item_size(spec["Key"]))
    raise ValueError(f"unknown write action {kind}")


def _consistency(spec: Mapping[str, Any]) -> float:
    return 1.0 if spec.get("ConsistentRead") else 0.5


def dynamodb_units(call: Call) -> tuple[float, float]:  # noqa: PLR0911 - a rule per operation
    """(write request units, read request units) of one DynamoDB call."""
    p, r = call.params, call.response
    match call.operation:
        case "PutItem":
            return write_units(item_size(p["Item"])), 0.0
        case "UpdateItem":
            return write_units(_update_size(p, r)), 0.0
        case "DeleteItem":
            return write_units(item_size(r.get("Attributes") or p["Key"])), 0.0
        case "TransactWriteItems":
            return 2.0 * sum(_action_write_units(a) for a in p["TransactItems"]), 0.0
        case "BatchWriteItem":
            return float(
                sum(_action_write_units(a) for v in p["RequestItems"].values() for a in v)
            ), 0.0
        case "GetItem":
            found = r.get("Item")
            return 0.0, _consistency(p) * read_units(item_size(found) if found else 0)
        case "BatchGetItem":
            return 0.0, sum(_batch_get_units(t, s, r) for t, s in p["RequestItems"].items())
        case "Query" | "Scan":
            if "FilterExpression" in p or "ProjectionExpression" in p:
                raise ValueError("a filtered or projected read is billed on items the reply omits")
            total = sum(item_size(i) for i in r.get("Items", []))
            consistency = 0.5 if "IndexName" in p else _consistency(p)
            return 0.0, consistency * read_units(total)
    raise ValueError(f"no billing rule for dynamodb.{call.operation}")


def _batch_get_units(table: str, spec: Mapping[str, Any], response: Mapping[str, Any]) -> float:
    found = response.get("Responses", {}).get(table, [])
    unprocessed = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    missing = len(spec["Keys"]) - len(found) - len(unprocessed)
    return _consistency(spec) * (sum(read_units(item_size(i)) for i in found) + missing)


# ------------------------------------------------------------ SQS, SNS, API Gateway
def _chunks(size: int, chunk: int) -> int:
    return max(1, math.ceil(size / chunk))


def _sqs_attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(
        _utf8(name)
        + _utf8(a.get("DataType", ""))
        + _raw(a.get("StringValue", a.get("BinaryValue", "")))
        for name, a in attributes.items()
    )


def _sqs_payload(entry: Mapping[str, Any]) -> int:
    return _utf8(entry.get("MessageBody", "")) + _sqs_attributes_size(
        entry.get("MessageAttributes", {})
    )


def sqs_requests(call: Call) -> int:
    """Billed SQS requests: every 64 KB of payload counts as one request."""
    p = call.params
    match call.operation:
        case "SendMessage":
            return _chunks(_sqs_payload(p), SQS_CHUNK_BYTES)
        case "SendMessageBatch":
            return _chunks(sum(_sqs_payload(e) for e in p["Entries"]), SQS_CHUNK_BYTES)
    return 1


def sns_requests(call: Call) -> int:
    p = call.params
    if call.operation != "Publish":
        return 1
    return _chunks(
        _utf8(p["Message"]) + _sqs_attributes_size(p.get("MessageAttributes", {})), SNS_CHUNK_BYTES
    )


def api_messages(size: int) -> int:
    """WebSocket messages are metered in 32 KB increments."""
    return _chunks(size, API_MESSAGE_BYTES)


# ------------------------------------------------------------------------- the bill
@dataclass(frozen=True)
class DurationModel:
    """Billed Lambda duration, estimated: `base_ms` of handler work plus `call_ms` per AWS
    call made in sequence (posts made in parallel count once per wave of `parallel`)."""

    base_ms: float = 5.0
    call_ms: float = 8.0
    parallel: int = PARALLEL_POSTS

    def billed_ms(self, calls: Iterable[Call], share: float = 1.0) -> float:
        """Milliseconds billed (rounded up to 1 ms); with `share` < 1, one record's part of a
        batch whose fixed overhead it shares (not rounded: the batch is)."""
        flags = [c.parallel for c in calls]
        rounds = flags.count(False) + math.ceil(flags.count(True) / self.parallel)
        work = self.base_ms * share + self.call_ms * rounds
        return math.ceil(work) if share == 1.0 else work


@dataclass
class Bill:
    """What one operation costs, in each service's billing unit."""

    calls: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    sqs_standard: int = 0
    sqs_fifo: int = 0
    api_messages: int = 0
    http_requests: int = 0
    lambda_invocations: float = 0.0  # a stream record in a shared batch is a fraction
    lambda_gb_seconds: float = 0.0
    sns_publishes: int = 0
    log_bytes: float = 0.0

    def add_call(self, call: Call) -> None:
        self.calls += 1
        self.by_operation[call.name] += 1
        match call.service:
            case "dynamodb":
                wru, rru = dynamodb_units(call)
                self.wru += wru
                self.rru += rru
            case "sqs":
                self.add_sqs(
                    sqs_requests(call), fifo=str(call.params.get("QueueUrl", "")).endswith(".fifo")
                )
            case "sns":
                self.sns_publishes += sns_requests(call)
            case "apigatewaymanagementapi":
                self.api_messages += api_messages(_raw(call.params.get("Data", b"")))
            case _:
                raise ValueError(f"no billing rule for {call.name}")

    def add_sqs(self, requests: int, *, fifo: bool) -> None:
        if fifo:
            self.sqs_fifo += requests
        else:
            self.sqs_standard += requests

    def add_invocation(
        self, invocation: Invocation, duration: DurationModel, stream_batch: int = 1
    ) -> None:
        """The invocation itself: its request, duration, logs, the WebSocket frames it
        received and answered (or the HTTP API request), and the event source's receive
        and delete of its batch (a stream's: none, and the invocation shared by
        `stream_batch` records)."""
        share = 1.0 / stream_batch if invocation.stream else 1.0
        self.lambda_invocations += share
        billed_ms = duration.billed_ms(invocation.calls, share)
        self.lambda_gb_seconds += invocation.memory_mb / 1024 * billed_ms / 1000
        self.log_bytes += (invocation.log_bytes + PLATFORM_LOG_BYTES) * share
        for size in (invocation.frame_bytes, invocation.reply_bytes):
            if size:
                self.api_messages += api_messages(size)
        self.http_requests += int(invocation.http_request)
        if invocation.records and not invocation.stream:
            # ReceiveMessage + DeleteMessageBatch; Lambda reads a DynamoDB stream for free
            self.add_sqs(2, fifo=invocation.fifo)
        for call in invocation.calls:
            self.add_call(call)


def bill(trace: Trace, duration: DurationModel | None = None, *, stream_batch: int = 1) -> Bill:
    """The bill of everything a trace recorded; each stream invocation billed as one record
    of a batch of `stream_batch` (1: its own batch, the worst case)."""
    model = duration or DurationModel()
    total = Bill()
    for invocation in trace.invocations:
        total.add_invocation(invocation, model, stream_batch)
    for call in trace.stray:
        total.add_call(call)
    return total
