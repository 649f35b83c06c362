"""The floor: the fewest AWS calls Courier's protocol permits for each operation, written
as the trace an ideal implementation would leave, and billed by the same rules as ours.

Messages are sized as Courier stores and posts the bench's, other rows like Courier's (all
well under 1 KB: each costs the minimum units). The floor writes no metrics (only Lambda's
own log lines are billed). Each floor comes with the reasoning that makes its calls
necessary.

Durability (DESIGN.md guarantee 8). Once the send's transaction commits, any Lambda may
die at any instruction, and still every device online at the commit must get the
message live within the retry schedule, and every offline member a push. So something
durable must exist at the commit that leads to the delivery work, and nothing the send
function does after its commit can be it. The candidates, cheapest first:

- The messages table's stream, consumed by a function: the commit itself writes the
  record (no extra write), Lambda reads the stream for free and retries a failed batch.
  It costs one invocation per batch: a request, its duration's fixed part and its log
  lines, per message at batch 1 (a quiet shard), 1/BatchSize of them when busy.
- A delayed job queued *before* the transaction (an intent): it costs nothing the
  pre-durable floor did not already pay (that floor queued the retry job anyway), but
  the connections read before the commit cannot be trusted at the commit (a device that
  connects and syncs in between would be missed), so the job must read every member's
  connections again when it runs: a read unit per member per message (a thousand for a
  group of 1,000, against one invocation), and its first live copy after a crash waits
  for the retry delay. Only for a DM on a quiet shard does it come out cheaper: two read
  units ($0.25 per million) against an invocation of its own (request $0.20, 5 ms at
  256 MB $0.02, 350 bytes of log lines $0.16: $0.38 per million), $0.13 per million less.
  From two records per batch, and for any group, the stream is cheaper.
- An outbox row in the transaction: two more write units per message (transactional),
  plus whatever reads the outbox (a stream or a poller): dearer than the stream alone.

The floor takes the stream for every operation (one design, not the cheapest per
operation: its DM at batch 1 is that $0.13 per million above the intent's), and gives its
consumer all the delivery work: the send only reads the counter and commits (and answers
its sendack); the consumer reads the members' connections once, posts, and queues the
retry job and the notification jobs. A crash anywhere after the commit replays the
consumer's batch, so delivery and pushes still happen (a replay may post twice: within
1 + MAX_RETRIES copies). Its first copy waits for
the stream's poll (a few hundred ms, well within the first retry's delay) where Courier
posts inline before its sendack: Courier pays for that fast path with a second read of
the connections (in the send, then in its stream consumer).
"""

from __future__ import annotations

import math
from typing import Any

from bench import BODY
from bench.billing import item_size
from bench.moto_env import batched
from bench.recorder import Call, Invocation, Trace
from courier.frames import dumps, encode
from courier.history import StoredMessage
from courier.sequencer import new_message_id


def _stored_message() -> StoredMessage:
    """A message like the bench's, as Courier stores it."""
    return StoredMessage(
        channel="dm:alice:bob",
        seq=2,
        message_id=new_message_id(1_795_694_400_000),
        sender="alice",
        client_msg_no="m-2",
        body_json=dumps(BODY),
        ts=1_795_694_400_000,
    )


ROW = 100  # a counter, cursor, dedup or notification row
MEMBER = item_size({"channel": {"S": "g:crowd"}, "userId": {"S": "m0001"}})  # ByChannel entry
CONNECTIONS = 150  # one user's live connections, kept as one item
MESSAGE = item_size(_stored_message().to_row(1_827_230_400).serialize())  # as Courier stores it
MESSAGE_FRAME = len(encode({"type": "message", **_stored_message().fields()}))
FRAME = 150  # a client frame or a short reply
JOB = 150  # a queued job
MEMORY_MB = 256

Floor = tuple[Trace, list[str]]


def _item(size: int) -> dict[str, Any]:
    return {"pad": {"S": "x" * (size - len("pad"))}}


def _get(size: int = ROW) -> Call:
    return Call("dynamodb", "GetItem", {"ConsistentRead": True}, {"Item": _item(size)})


def _batch_gets(count: int, size: int = ROW, *, consistent: bool = True) -> list[Call]:
    """BatchGetItem of `count` items, 100 per call."""
    return [
        Call(
            "dynamodb",
            "BatchGetItem",
            {"RequestItems": {"t": {"Keys": [{}] * len(part), "ConsistentRead": consistent}}},
            {"Responses": {"t": [_item(size)] * len(part)}},
        )
        for part in batched(list(range(count)), 100)
    ]


def _query(count: int, size: int, *, consistent: bool = True, index: bool = False) -> Call:
    params: dict[str, Any] = {"ConsistentRead": consistent} | ({"IndexName": "i"} if index else {})
    return Call("dynamodb", "Query", params, {"Items": [_item(size)] * count})


def _update(size: int = ROW) -> Call:
    return Call(
        "dynamodb",
        "UpdateItem",
        {"Key": {}, "ReturnValues": "ALL_NEW"},
        {"Attributes": _item(size)},
    )


def _send_transaction() -> Call:
    """The dedup record, the counter, the message and the sender's read cursor."""
    items = [{"Put": {"Item": _item(size)}} for size in (ROW, ROW, MESSAGE, ROW)]
    return Call("dynamodb", "TransactWriteItems", {"TransactItems": items})


def _post(*, parallel: bool = False) -> Call:
    return Call(
        "apigatewaymanagementapi", "PostToConnection", {"Data": b"x" * MESSAGE}, parallel=parallel
    )


def _enqueue(jobs: int = 1) -> list[Call]:
    return [
        Call(
            "sqs",
            "SendMessageBatch",
            {"QueueUrl": "q", "Entries": [{"MessageBody": "x" * JOB}] * len(part)},
        )
        for part in batched(list(range(jobs)), 10)
    ]


def _route(function: str, calls: list[Call], reply: int = FRAME) -> Invocation:
    return Invocation(function, MEMORY_MB, frame_bytes=FRAME, reply_bytes=reply, calls=calls)


def _worker(function: str, calls: list[Call]) -> Invocation:
    return Invocation(function, MEMORY_MB, records=1, calls=calls)


def _send() -> Invocation:
    """The send route: the counter, the transaction, the sendack; nothing after the commit."""
    return _route("send", [_get(), _send_transaction()])


def _consumer(calls: list[Call]) -> Invocation:
    """The messages table's stream consumer, one record: free to read, billed to invoke."""
    return Invocation("delivery", MEMORY_MB, records=1, stream=True, calls=calls)


COMMON_REASONS = [  # every operation that sends a message
    "send: the counter row must be read first (the transaction's condition is "
    "`lastSeq = n - 1`), and the transaction needs its four items: the dedup record "
    "(one message per key), the counter (gap-free seq), the message, and the sender's read "
    "cursor (sending moves it).",
    "Durability: whatever dies after the commit, the message must still be delivered and "
    "pushed, so the delivery work must hang on something the commit itself leaves: the "
    "messages table's stream (the commit writes its record, Lambda reads it for free). Its "
    "consumer does all the delivery work, once: the send only commits. The price is one "
    "invocation per batch of records (request, fixed duration, log lines): per message at "
    "batch 1, a 25th of it in a full batch. A job queued before the commit would save the "
    "invocation but must re-read every member's connections when it runs (one read unit "
    "per member: cheaper only for a DM at batch 1, by $0.13 per million), and an outbox "
    "row costs two more write units per message (bench/floor.py weighs the three).",
    "Live connections: one read for all recipients if each user's connections are one item "
    "(BatchGetItem, 100 users per call), made by the stream consumer after the commit; ours "
    "makes one strongly consistent Query per user, twice: in the send for its fast inline "
    "post (before the sendack), and in its stream consumer.",
    "Retries need a timer per message (a delayed SQS job: send, receive, delete), queued "
    "by the stream consumer, whose run reads the ack cursors (ours queues one probe per "
    "device the message was for).",
]


def dm() -> Floor:
    deliver = _consumer([*_batch_gets(2, CONNECTIONS), _post(), *_enqueue()])
    ack = _route("ack", [_get(), _update()], reply=0)
    read = _route("read", [_get(), _update(), _get(CONNECTIONS)])
    probe = _worker("retry_worker", [_get()])
    why = [
        "ack: clamping to lastSeq reads the counter row; a DM's access is in its id, so no "
        "membership read (ours reads both rows in one BatchGetItem).",
        "read: the counter row (clamp, unread), one conditional write that returns the old "
        "cursor when it does not move, and the reader's other connections.",
    ]
    return Trace([_send(), deliver, ack, read, probe]), why


def dm_offline() -> Floor:
    deliver = _consumer([*_batch_gets(2, CONNECTIONS), *_enqueue()])
    notify = _worker(
        "notifier",
        [
            *_batch_gets(2, ROW + MESSAGE),
            _update(),
            _query(1, ROW),
            *_batch_gets(1, ROW, consistent=False),
            Call("sns", "Publish", {"Message": "x" * 200}),
        ],
    )
    why = [
        "The notification waits (a delayed job): none if the user has read by then, one per "
        "coalescing window. It reads the counter (holding the latest message) and the "
        "membership row, claims the notification with one conditional write, and derives "
        "the badge from the user's membership rows and their channels' counters.",
    ]
    return Trace([_send(), deliver, notify]), why


def dm_unacked(retries: int = 5) -> Floor:
    deliver = _consumer([*_batch_gets(2, CONNECTIONS), _post(), *_enqueue()])
    attempts = [
        _worker("retry_worker", [_get(), _update(), _post(), *(_enqueue() if k < retries else [])])
        for k in range(1, retries + 1)
    ]
    why = [
        "Each retry reads the ack cursor and claims its attempt with one conditional write "
        "(a job SQS delivers twice must not post again), posts, and queues the next. The job "
        "can carry the message and the connection id, and a post to a gone connection "
        "answers 410, so no reads of messages or connections (ours reads both: a chain "
        "covers every un-acked seq of the channel, and goes only to live connections).",
    ]
    return Trace([_send(), deliver, *attempts]), why


def group_send(members: int) -> Floor:
    receivers = members - 1
    deliver = _consumer(
        [
            _query(members, MEMBER, consistent=False, index=True),
            *_batch_gets(members, CONNECTIONS),
            *(_post(parallel=True) for _ in range(receivers)),
            *_enqueue(),
        ],
    )
    acks = [_route("ack", [*_batch_gets(2), _update()], reply=0) for _ in range(receivers)]
    probe = _worker("retry_worker", _batch_gets(receivers))
    why = [
        "Members: one Query of the by-channel index (1 MB per page).",
        "Delivery in the stream consumer: one invocation posts 16 at a time, a few seconds "
        "even for 1,000 devices (ours posts inline up to 100 members and hands larger groups "
        "to FIFO fan-out jobs queued by its stream consumer: a plan, then chunks of 100 "
        "users, 5 per invocation).",
        f"One retry job per message checks all {receivers} ack cursors in "
        f"{math.ceil(receivers / 100)} BatchGetItem (ours: one job and one GetItem per device).",
        "Each device acks (acks are per device); a group ack must read the membership row "
        "(access) and the counter (clamp): one BatchGetItem and one conditional write.",
    ]
    return Trace([_send(), deliver, *acks, probe]), why


def sync_conversations(conversations: int) -> Floor:
    sync = _route(
        "sync",
        [_query(conversations, ROW), *_batch_gets(conversations, ROW + MESSAGE, consistent=False)],
        reply=conversations * MESSAGE_FRAME,
    )
    why = [
        "The user's membership rows (read cursors, strongly consistent: a stale cursor "
        "would bring unread back) and every channel's counter (totalUnread covers all "
        "conversations). With the last message kept in the counter row there is no message "
        "read (ours reads the last messages in one more BatchGetItem; keeping the body in "
        "the counter row would make every send write it twice).",
    ]
    return Trace([sync]), why


def sync_messages(page: int) -> Floor:
    sync = _route("sync", [*_batch_gets(2), _query(page, MESSAGE)], reply=page * MESSAGE_FRAME)
    why = [
        "lastSeq, readSeq and access in one BatchGetItem, then one Query of exactly `limit` "
        "messages: `more` follows from lastSeq (ours reads limit + 1).",
    ]
    return Trace([sync]), why
