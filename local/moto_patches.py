"""Where moto's server differs from AWS in a way Courier's guarantees depend on, patched
for the life of one local stack.

- DynamoDB applies each request atomically; moto's threaded server does not, so its
  DynamoDB requests are serialized (conditional writes then mean what they say), and so
  are its DynamoDB Streams requests with them: a transaction appends the stream record of
  each write as it applies it, and removes them when it rolls back, so a GetRecords in
  between would hand the stream consumer a message that was never committed.
- An SQS FIFO queue drops a message whose deduplication id it has seen in the last
  5 minutes; moto only compares against messages still in the queue, so a job sent again
  after the first copy was processed and deleted would run twice.

Where moto's DynamoDB costs what its tables hold rather than what a request touches, so the
local stack slows down as it fills (`DynamoDBCostPatches` installs both; the results are
moto's own):

- TransactWriteItems deep-copies every table it names, to roll back a cancelled
  transaction (2.5 four-table transactions/s at 5,000 items a table, 70 at 200).
  `TransactionRollbackByItem` keeps a copy of each item it is about to write instead,
  and puts back exactly those (about 770/s at either size; bench/moto_transactions.py).
- A Query sorts the whole table, then keeps the items it can use. `PartitionQuery` hands
  a base-table Query the partition it names alone, and an index Query the items whose
  index hash key may match, unsorted (it sorts those it keeps by their keys anyway); the
  latter still reads every item, as moto keeps no index to read instead.

Where moto's SQS costs what a queue holds, per message (`SqsCostPatches`): a queue of
thousands of delayed retry jobs made every SendMessage count the queue three times, and
every received message count it again (for its retention period). Counting stays for
GetQueueAttributes, each count reading the clock once rather than once per message. And
a DeleteMessage asked every message of the queue whether it ever had the receipt handle;
the handles given out are now remembered.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# TransactWriteItems' limit, and its operations (moto's own values).
MAX_TRANSACTION_ITEMS = 100
TRANSACTION_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})

# What PartitionQuery reads from Table.query's arguments.
QUERY_PARAMETERS = frozenset({"hash_key", "index_name", "hash_key_conditions"})

# One entry of a TransactionCanceledException's reasons: (code, message, ALL_OLD item).
CancellationReason = tuple[str | None, str | None, dict[str, Any] | None]

FIFO_DEDUPLICATION_SECONDS = 300.0

# (owner, attribute, value): a class or module of moto's, and what one of its attributes
# is replaced with (install) or was (uninstall).
Replacement = tuple[Any, str, Any]


_INHERITED = object()  # the replaced attribute was the base class's: uninstall deletes


class Patch:
    """Attributes of moto's classes or modules, replaced while installed. Installing twice
    changes nothing; uninstalling puts back exactly what was there."""

    def __init__(self) -> None:
        self._originals: list[Replacement] = []

    def replacements(self) -> list[Replacement]:
        """What to replace; moto is imported from here, only when a patch is installed."""
        raise NotImplementedError

    def install(self) -> None:
        if self._originals:
            return
        for owner, name, value in self.replacements():
            self._originals.append((owner, name, owner.__dict__.get(name, _INHERITED)))
            setattr(owner, name, value)

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._originals):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._originals = []


class AtomicDynamoDB(Patch):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()

    def replacements(self) -> list[Replacement]:
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler  # noqa: PLC0415

        return [
            (handler, "call_action", self._locked(handler.call_action))
            for handler in (DynamoHandler, DynamoDBStreamsHandler)
        ]

    def _locked(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        lock = self._lock

        def call_action(handler: Any) -> Any:
            with lock:
                return original(handler)

        return call_action


class FifoDeduplicationWindow(Patch):
    """Remember every FIFO deduplication id for 5 minutes, deleted or not, as SQS does."""

    def __init__(self, window_seconds: float = FIFO_DEDUPLICATION_SECONDS) -> None:
        super().__init__()
        self.window_seconds = window_seconds
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def first_sighting(self, queue_arn: str, deduplication_id: str, now: float) -> bool:
        """True when the id is new to the queue within the window (and remember it)."""
        with self._lock:
            key = (queue_arn, deduplication_id)
            seen = self._seen.get(key)
            if seen is not None and now - seen < self.window_seconds:
                return False
            self._seen[key] = now
            return True

    def replacements(self) -> list[Replacement]:
        from moto.sqs.models import Queue  # noqa: PLC0415

        original, window = Queue.add_message, self

        def add_message(queue: Any, message: Any) -> None:
            dedup_id = message.deduplication_id
            duplicate = (
                queue.fifo_queue
                and dedup_id is not None
                and not window.first_sighting(queue.queue_arn, dedup_id, time.monotonic())
            )
            if not duplicate:
                original(queue, message)

        return [(Queue, "add_message", add_message)]

    def uninstall(self) -> None:
        super().uninstall()
        self._seen.clear()


@dataclass
class _PriorItem:
    """What a table held at one key before a transaction wrote there (None: nothing)."""

    table: Any
    hash_key: Any
    range_key: Any  # None for a table without a range key
    stored: Any  # a deep copy: an Update changes the stored item in place
    partition_existed: bool

    def restore(self) -> None:
        # Table.put_item stores items[hash] = item without a range key and
        # items[hash][range] = item with one (items is a defaultdict(dict)).
        items = self.table.items
        if self.range_key is None:
            if self.partition_existed:
                items[self.hash_key] = self.stored
            else:
                items.pop(self.hash_key, None)
        elif self.stored is not None:
            items[self.hash_key][self.range_key] = self.stored
        else:
            partition = items.get(self.hash_key)
            if partition is not None:
                partition.pop(self.range_key, None)
                if not partition and not self.partition_existed:
                    del items[self.hash_key]  # moto's lookups leave empty partitions behind


@dataclass
class _ItemUndo:
    """The state a transaction's writes replace, item by item, and how to put it back."""

    items: list[_PriorItem] = field(default_factory=list)
    # Stream records appended by the transaction's writes are dropped with them.
    streams: dict[int, tuple[Any, list[Any], int]] = field(default_factory=dict)

    def remember(self, table: Any, hash_key: Any, range_key: Any) -> None:
        if range_key is None:
            existed = hash_key in table.items
            stored = table.items.get(hash_key)
        else:
            partition = table.items.get(hash_key)  # .get: the defaultdict would add it
            existed = partition is not None
            stored = partition.get(range_key) if partition is not None else None
        self.items.append(_PriorItem(table, hash_key, range_key, copy.deepcopy(stored), existed))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.streams:
            self.streams[id(shard)] = (shard, shard.items, len(shard.items))

    def rollback(self) -> None:
        for prior in reversed(self.items):  # the last write to a partition goes first
            prior.restore()
        for shard, records, count in self.streams.values():
            del records[count:]
            shard.items = records  # moto starts a new list when it delivers to a Lambda


def _transaction_key(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _write(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    """The write itself, as moto's transact_write_items makes it."""
    table_name = op["TableName"]
    condition = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **condition)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **condition)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **condition)


def _apply_one(
    backend: Any,
    transact_item: dict[str, Any],
    targets: set[tuple[str, str]],
    undo: _ItemUndo,
) -> CancellationReason:
    """One operation of a transaction: its cancellation reason, or (None, None, None).
    A validation error (two operations on one item among them) is raised, not collected."""
    from moto.dynamodb.comparisons import get_filter_expression  # noqa: PLC0415
    from moto.dynamodb.exceptions import (  # noqa: PLC0415
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
    )

    original_item: dict[str, Any] | None = None
    try:
        op_type, op = next(iter(transact_item.items()))
        if op_type not in TRANSACTION_OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        key = _transaction_key(backend, op_type, op)
        target = (str(table_name), str(dict(sorted(key.items()))))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)

        # Raises what backend.get_item would, just before it would.
        table = backend.get_table(table_name)
        undo.remember(table, *backend.get_keys_value(table, key))
        current = backend.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            condition_op = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not condition_op.expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
        _write(backend, op_type, op, key)
    except MockValidationException:
        raise
    except ConditionalCheckFailed as error:
        return ("ConditionalCheckFailed", str(error.message), original_item)
    except Exception as error:  # moto reports any other failure as the operation's reason
        return (type(error).__name__, str(error), original_item)
    return (None, None, None)


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's DynamoDBBackend.transact_write_items, rolled back item by item.

    Operations apply one after another and every reason is collected, as moto does; when
    any failed, or a validation error stops the transaction, the items written so far are
    put back and the same exception is raised. One difference: moto leaves the operations
    before an item naming two operations applied; here they are rolled back too."""
    from moto.dynamodb.exceptions import (  # noqa: PLC0415
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    undo = _ItemUndo()
    targets: set[tuple[str, str]] = set()
    reasons: list[CancellationReason] = []
    try:
        for transact_item in transact_items:
            if len(transact_item) > 1:
                raise TransactWriteSingleOpException
            reasons.append(_apply_one(backend, transact_item, targets, undo))
    except BaseException:
        undo.rollback()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.rollback()
        raise TransactionCanceledException(reasons)


class TransactionRollbackByItem(Patch):
    """TransactWriteItems rolls back what it wrote, not a copy of every table it names.

    moto keeps nothing of an index but the table's items, so putting those back puts back
    every index too; the stream records the writes appended are dropped, as they are
    with moto's copy of the table."""

    def replacements(self) -> list[Replacement]:
        from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

        @functools.wraps(DynamoDBBackend.transact_write_items)
        def patched(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            transact_write_items(backend, transact_items)

        return [(DynamoDBBackend, "transact_write_items", patched)]


class _TableView:
    """A table as Table.query sees it, but for what all_items() lists: the query's candidates."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


class _Partition(_TableView):
    """One partition: the base-table branch keeps the items with the hash key asked for."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        super().__init__(table)
        self._hash_key = hash_key

    def all_items(self) -> list[Any]:
        from moto.dynamodb.models.dynamo_type import Item  # noqa: PLC0415

        stored = self._table.items.get(self._hash_key)  # .get: the defaultdict would add it
        if stored is None:
            return []
        if isinstance(stored, Item):
            return [stored]
        return sorted(
            (item for item in stored.values() if isinstance(item, Item)),
            key=lambda item: item.range_key,
        )


class _IndexCandidates(_TableView):
    """The items that may match an index Query's hash key, in no order: the index branch
    checks every item against the hash key, then sorts those it keeps by the index's keys
    and the table's (unique per item, so the order does not depend on the input's).

    Reading every item stays, as moto keeps no index; what goes is sorting the whole table
    first, and computing two values per item to compare one string with another."""

    def __init__(self, table: Any, hash_conditions: list[tuple[str, Any]]) -> None:
        super().__init__(table)
        # An item without the attribute, or with another type, never matches; one of type
        # S matches only its own value. Other types are left for moto to compare (1 = 1.0).
        self._conditions = [(name, value.type, value.value) for name, value in hash_conditions]

    def _may_match(self, item: Any) -> bool:
        for name, kind, value in self._conditions:
            attribute = item.attrs.get(name)
            if attribute is None or attribute.type != kind:
                return False
            if kind == "S" and attribute.value != value:
                return False
        return True

    def all_items(self) -> list[Any]:
        from moto.dynamodb.models.dynamo_type import Item  # noqa: PLC0415

        items: list[Any] = []
        for stored in self._table.items.values():
            for item in [stored] if isinstance(stored, Item) else stored.values():
                if isinstance(item, Item) and self._may_match(item):
                    items.append(item)
        return items


class PartitionQuery(Patch):
    """A Query on a base table reads the partition it names, not the whole table sorted; one
    on an index still reads every item (moto keeps no index), but sorts only its matches.

    Install it before anything wraps Table.query without functools.wraps (it needs to see
    which arguments are the hash key and the index); after, it leaves Table.query alone."""

    def replacements(self) -> list[Replacement]:
        from moto.dynamodb.models.table import Table  # noqa: PLC0415

        original: Any = Table.query
        signature = inspect.signature(original)  # moto's, through functools.wraps
        if not signature.parameters.keys() >= QUERY_PARAMETERS:
            return []  # a wrapper that hides moto's parameters: leave it be, right if not fast

        @functools.wraps(original)
        def query(table: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(table, _TableView):  # installed twice: the inner one passes it on
                return original(table, *args, **kwargs)
            arguments = signature.bind(table, *args, **kwargs).arguments
            if arguments.get("index_name"):
                conditions = arguments.get("hash_key_conditions") or []
                return original(_IndexCandidates(table, conditions), *args, **kwargs)
            hash_key = arguments.get("hash_key")
            if hash_key is None:
                return original(table, *args, **kwargs)
            return original(_Partition(table, hash_key), *args, **kwargs)

        return [(Table, "query", query)]


class DynamoDBCostPatches(Patch):
    """Every DynamoDB cost patch: install after moto is imported, uninstall to get moto back.
    Safe beside AtomicDynamoDB, whose lock still makes each request atomic."""

    def replacements(self) -> list[Replacement]:
        return [
            *TransactionRollbackByItem().replacements(),
            *PartitionQuery().replacements(),
        ]


_sending = threading.local()


class SqsCostPatches(Patch):
    """SendMessage, ReceiveMessage and DeleteMessage at the cost of what they touch;
    moto's answers."""

    def __init__(self) -> None:
        super().__init__()
        self._by_handle: dict[str, Any] = {}  # every receipt handle given out -> its message

    def replacements(self) -> list[Replacement]:
        from moto.sqs.exceptions import ReceiptHandleIsInvalid  # noqa: PLC0415
        from moto.sqs.models import Message, Queue, SQSBackend  # noqa: PLC0415

        send = SQSBackend.send_message
        attributes = Queue.__dict__["attributes"]
        mark_received, delete = Message.mark_received, Queue.delete_message
        by_handle = self._by_handle

        def send_message(backend: Any, *args: Any, **kwargs: Any) -> Any:
            _sending.on = True  # a send reads one attribute: see queue_attributes
            try:
                return send(backend, *args, **kwargs)
            finally:
                _sending.on = False

        def queue_attributes(queue: Any) -> dict[str, Any]:
            if getattr(_sending, "on", False):
                flag = str(bool(queue.content_based_deduplication)).lower()
                return {"ContentBasedDeduplication": flag}
            result: dict[str, Any] = attributes.fget(queue)
            return result

        def retained(backend: Any, queue_name: str, message: Any) -> bool:
            period = int(backend.get_queue(queue_name).message_retention_period)
            return bool(period + message.sent_timestamp / 1000 > time.time())

        def received(message: Any, *args: Any, **kwargs: Any) -> None:
            mark_received(message, *args, **kwargs)
            by_handle[message.receipt_handle] = message

        def delete_message(queue: Any, receipt_handle: str) -> None:
            """moto's, without testing every message of the queue for the handle."""
            message = by_handle.get(receipt_handle)
            if receipt_handle in queue.deleted_messages or message is None:
                delete(queue, receipt_handle)  # moto's answer (and a handle from before us)
                return
            try:
                queue._messages.remove(message)
            except ValueError:  # not in this queue (moved to its DLQ, or another queue)
                raise ReceiptHandleIsInvalid() from None
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
            for handle in message.all_receipt_handles:
                by_handle.pop(handle, None)

        return [
            (SQSBackend, "send_message", send_message),
            (SQSBackend, "is_message_valid_based_on_retention_period", retained),
            (Queue, "attributes", property(queue_attributes)),
            (Message, "mark_received", received),
            (Queue, "delete_message", delete_message),
            *((Queue, name, property(count)) for name, count in _QUEUE_COUNTS.items()),
        ]

    def uninstall(self) -> None:
        super().uninstall()
        self._by_handle.clear()


def _now_ms() -> float:
    return time.time() * 1000.0  # moto's unix_time_millis, without its datetime arithmetic


def _ready(queue: Any) -> list[Any]:
    now = _now_ms()
    return [m for m in queue._messages if now > m.visible_at and now >= m.delayed_until]


def _delayed(queue: Any) -> int:
    now = _now_ms()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def _not_visible(queue: Any) -> int:
    now = _now_ms()
    return sum(1 for m in queue._messages if now <= m.visible_at)


# moto's Queue properties that scan the queue, each with one clock read per scan.
_QUEUE_COUNTS = {
    "messages": _ready,
    "approximate_number_of_messages": lambda queue: len(_ready(queue)),
    "approximate_number_of_messages_delayed": _delayed,
    "approximate_number_of_messages_not_visible": _not_visible,
}


class ResponseMethodCache(Patch):
    """moto finds a request's handler method by listing every method of its response class,
    for every request (`inspect.getmembers`, about a tenth of the local stack's time under
    load). The list is remembered per class instead; patches made while installed (to a
    response class's methods) must come before it, as those in this module do."""

    def replacements(self) -> list[Replacement]:
        from moto.core import responses  # noqa: PLC0415

        name = "method_names_from_class"  # moto.core.responses' own name for it
        return [(responses, name, functools.cache(responses.__dict__[name]))]


class UpdateExpressionCache(Patch):
    """moto parses an UpdateExpression twice per UpdateItem (request check, then update).
    The parse of each distinct expression is remembered: moto only reads the tree it
    gets (its validator works on a deep copy), and a handler sends a handful of distinct
    expressions, with values apart. An expression that does not parse raises as before."""

    SIZE = 1024

    def replacements(self) -> list[Replacement]:
        from moto.dynamodb.parsing import expressions  # noqa: PLC0415

        parser = expressions.__dict__["UpdateExpressionParser"]
        parse: Any = functools.lru_cache(self.SIZE)(parser.__dict__["make"].__func__)
        return [(parser, "make", classmethod(parse))]


class ForgetUsedShardIterators(Patch):
    """GetRecords forgets the shard iterator it was given, as AWS lets iterators expire
    (15 minutes); moto keeps every one it ever made, and the local stream poller makes
    one per read (ten a second while idle)."""

    def replacements(self) -> list[Replacement]:
        from moto.dynamodbstreams.models import DynamoDBStreamsBackend  # noqa: PLC0415

        original = DynamoDBStreamsBackend.get_records

        @functools.wraps(original)
        def get_records(backend: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
            reply: dict[str, Any] = original(backend, iterator_arn, limit)
            backend.shard_iterators.pop(iterator_arn, None)
            return reply

        return [(DynamoDBStreamsBackend, "get_records", get_records)]
