"""Bounded redelivery of un-acked messages to connected devices.

Each message posted to a device is followed by a *probe* job (SQS, DelaySeconds =
COURIER_RETRY_BASE_SECONDS) naming (device, channel, seq). Probes write nothing at send
time, so a send's DynamoDB writes do not grow with the group.

A probe that finds the message un-acked and the device connected starts, or joins, the
device's *chain* for the channel: one row per (device, channel) with

    chainSeq   the highest seq the chain covers (coalescing: later probes raise it)
    seqs       the seqs the chain covers: those its probes named, i.e. the messages that
               were posted to this device. A seq of the range it was never sent (one sent
               from this very connection, or while the device was offline) is not "sent
               again": the sending connection never gets its own message, and a device
               that reconnects is pushed no backlog
    attempt    how many redeliveries the chain has made (1 .. COURIER_MAX_RETRIES)
    floorSeq   seqs at or below it are finished: never redelivered again

Every redelivery first advances `attempt` by a conditional write (the job's attempt
must follow the stored one), so a job SQS delivers twice, or replays after a crash,
does nothing. A message is redelivered only by the one chain that covers it, once per
attempt, so a device gets at most 1 + COURIER_MAX_RETRIES copies of it. An ack, a
vanished device or the last attempt ends the chain and raises floorSeq.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from courier.connections import Connection, connections_of
from courier.cursors import ack_cursor
from courier.delivery import post_frame
from courier.dynamo import is_condition_failure
from courier.history import StoredMessage, messages_between
from courier.jobs import MAX_DELAY_SECONDS, Job
from courier.models import Retries
from courier.runtime import Services
from courier.tables import Tables, device_key

STALE_GRACE_SECONDS = 300  # a chain whose next job is this late is taken over by a probe
ROW_TTL_SECONDS = 86_400
JITTER = 0.1  # retries come up to 10% late, never early


@dataclass(frozen=True)
class RetryJob:
    user: str
    device: str
    channel: str
    seq: int
    attempt: int = 1
    chain: str | None = None  # None for a probe; the chain id for its follow-ups

    def body(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"user": self.user, "device": self.device}
        fields |= {"channel": self.channel, "seq": self.seq, "attempt": self.attempt}
        return fields | ({"chain": self.chain} if self.chain else {})

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RetryJob:
        return cls(
            user=str(body["user"]),
            device=str(body["device"]),
            channel=str(body["channel"]),
            seq=int(body["seq"]),
            attempt=int(body.get("attempt", 1)),
            chain=str(body["chain"]) if body.get("chain") else None,
        )


@dataclass(frozen=True)
class Chain:
    id: str
    seq: int
    attempt: int
    floor: int
    seqs: frozenset[int] | None = None  # None: a row written before `seqs` (its whole range)

    @classmethod
    def from_row(cls, row: Retries) -> Chain:
        return cls(
            id=row.chain_id or "",
            seq=int(row.chain_seq or 0),
            attempt=int(row.attempt or 0),
            floor=int(row.floor_seq or 0),
            seqs=frozenset(int(v) for v in row.seqs) if row.seqs else None,
        )

    def covers(self, seq: int) -> bool:
        return self.seqs is None or seq in self.seqs


def retry_delay(base_seconds: int, attempt: int) -> int:
    """Seconds before redelivery `attempt` (1-based): base, 2x base, 4x base ... capped
    at 900 s, plus up to 10% jitter so that a burst of chains spreads out."""
    delay = min(base_seconds * (1 << (attempt - 1)), MAX_DELAY_SECONDS)
    return min(MAX_DELAY_SECONDS, math.ceil(delay * (1.0 + random.uniform(0, JITTER))))


def probes(message: StoredMessage, connections: list[Connection], base_seconds: int) -> list[Job]:
    """One probe per (device, channel, seq) the message was posted to."""
    devices = dict.fromkeys((c.user, c.device) for c in connections)
    return [
        Job(RetryJob(user, device, message.channel, message.seq).body(), base_seconds)
        for user, device in devices
    ]


def _update(
    tables: Tables, job: RetryJob, actions: list[Action], condition: Condition
) -> Chain | None:
    """A conditional UpdateItem on the chain row: the chain after it, or None if the
    condition failed (PynamoDB's update returns the whole new row)."""
    row = tables.retries(device_key(job.user, job.device), job.channel)
    try:
        row.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise
    return Chain.from_row(row)


def _unfinished(seq: int) -> Condition:
    unfinished: Condition = Retries.floor_seq.does_not_exist() | (Retries.floor_seq < seq)
    return unfinished


def _start_or_join(
    tables: Tables, job: RetryJob, now: int, next_due: int, max_retries: int
) -> Chain | None:
    """The chain this probe starts (attempt 1) or takes over; None when an active chain
    covers it, or its seq is finished."""
    row = tables.retries
    schedule = [row.due_at.set(next_due), row.expires_at.set(now + ROW_TTL_SECONDS)]
    started = _update(
        tables,
        job,
        [
            row.chain_id.set(secrets.token_hex(8)),
            row.chain_seq.set(job.seq),
            row.seqs.set({job.seq}),
            row.attempt.set(1),
            *schedule,
        ],
        row.chain_id.does_not_exist() & _unfinished(job.seq),
    )
    if started is not None:
        return started
    try:
        current = row.get(device_key(job.user, job.device), job.channel, consistent_read=True)
    except row.DoesNotExist:
        return None
    if not current.chain_id:
        return None  # finished: floorSeq covers this seq
    chain = Chain.from_row(current)
    if int(current.due_at or 0) < now - STALE_GRACE_SECONDS:
        if chain.attempt >= max_retries:
            _end(tables, job, chain)
            return None
        # Its next job was lost (a worker died between its claim and its enqueue):
        # carry on from the next attempt, so the bound on copies still holds.
        return _update(
            tables,
            job,
            [
                row.chain_id.set(secrets.token_hex(8)),
                row.chain_seq.set(max(chain.seq, job.seq)),
                row.attempt.set(chain.attempt + 1),
                *schedule,
                row.seqs.add({job.seq}),
            ],
            (row.chain_id == chain.id) & (row.attempt == chain.attempt),
        )
    _join(tables, job, chain)
    return None  # coalesced into the active chain


def _join(tables: Tables, job: RetryJob, chain: Chain) -> None:
    """Add the probe's seq to the active chain (raising chainSeq if it is the highest), unless
    it is finished. If the chain changed meanwhile the seq gets fewer retries, never more."""
    row = tables.retries
    active = (row.chain_id == chain.id) & _unfinished(job.seq)
    if chain.seq < job.seq:
        raised = _update(
            tables,
            job,
            [row.chain_seq.set(job.seq), row.seqs.add({job.seq})],
            active & (row.chain_seq < job.seq),
        )
        if raised is not None:
            return
    _update(tables, job, [row.seqs.add({job.seq})], active & (row.chain_seq >= job.seq))


def _claim(tables: Tables, job: RetryJob, now: int, next_due: int) -> Chain | None:
    """Advance the chain to this job's attempt; None for a duplicate, replayed or ended job."""
    row = tables.retries
    return _update(
        tables,
        job,
        [
            row.attempt.set(job.attempt),
            row.due_at.set(next_due),
            row.expires_at.set(now + ROW_TTL_SECONDS),
        ],
        (row.chain_id == (job.chain or "")) & (row.attempt == job.attempt - 1),
    )


def _end(tables: Tables, job: RetryJob, chain: Chain, *, acked_upto: int | None = None) -> bool:
    """Finish the chain: everything it covers is done. With `acked_upto`, only if the ack
    covers the chain's current seq (a probe may have raised it meanwhile)."""
    row = tables.retries
    condition = row.chain_id == chain.id
    if acked_upto is not None:
        condition &= row.chain_seq <= acked_upto
    ended = _update(
        tables,
        job,
        [
            row.floor_seq.set(row.chain_seq),
            row.chain_id.remove(),
            row.chain_seq.remove(),
            row.seqs.remove(),
            row.attempt.remove(),
            row.due_at.remove(),
        ],
        condition,
    )
    return ended is not None


def _device_connections(tables: Tables, job: RetryJob) -> list[Connection]:
    return [c for c in connections_of(tables, job.user) if c.device == job.device]


Taken = tuple[Chain, list[Connection]] | str


def _take_follow_up(svc: Services, job: RetryJob, ack: int, now: int, next_due: int) -> Taken:
    """Claim this follow-up's attempt; the chain and the device's connections, or why not."""
    chain = _claim(svc.tables, job, now, next_due)
    if chain is None:
        return "duplicate"
    if ack >= chain.seq and _end(svc.tables, job, chain, acked_upto=ack):
        return "acked"
    connections = _device_connections(svc.tables, job)
    if not connections:
        _end(svc.tables, job, chain)
        return "offline"
    return chain, connections


def _take_probe(svc: Services, job: RetryJob, ack: int, now: int, next_due: int) -> Taken:
    """Start or join the device's chain; the chain and its connections, or why not.
    Nothing is written for an acked message or an offline device."""
    if ack >= job.seq:
        return "acked"
    connections = _device_connections(svc.tables, job)
    if not connections:
        return "offline"
    started = _start_or_join(svc.tables, job, now, next_due, svc.settings.max_retries)
    return "coalesced" if started is None else (started, connections)


def run_retry_job(svc: Services, job: RetryJob) -> str:
    """Carry out one retry job; returns what it did (for metrics and tests)."""
    tables, settings = svc.tables, svc.settings
    now = svc.now_ms() // 1000
    next_delay = retry_delay(settings.retry_base_seconds, job.attempt + 1)
    ack = ack_cursor(tables, job.user, job.device, job.channel)
    take = _take_probe if job.chain is None else _take_follow_up
    taken = take(svc, job, ack, now, now + next_delay)
    if isinstance(taken, str):
        return taken
    chain, connections = taken
    for message in messages_between(tables, job.channel, max(ack, chain.floor), chain.seq):
        if chain.covers(message.seq):  # only what was posted to this device is sent again
            post_frame(tables, svc.poster, connections, {"type": "message", **message.fields()})
    if chain.attempt >= settings.max_retries:
        _end(tables, job, chain)
        return "gave_up"
    follow_up = RetryJob(job.user, job.device, job.channel, chain.seq, chain.attempt + 1, chain.id)
    svc.queue.send(settings.retry_queue_url, [Job(follow_up.body(), next_delay)])
    return "retried"
