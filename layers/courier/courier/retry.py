"""Bounded redelivery of un-acked messages to connected devices.

Each message posted to a device is followed by a *probe* job (SQS, DelaySeconds =
COURIER_RETRY_BASE_SECONDS) naming (device, channel, seq). Probes write nothing at send
time, so a send's DynamoDB writes do not grow with the group.

A probe that finds the message un-acked and the device connected starts, or joins, the
device's *chain* for the channel (courier.retry_chains). Every redelivery first claims its
attempt by a conditional write (the job's attempt must follow the stored one), so a second
run of a job never posts again. A message is redelivered only by the one chain that covers
it, once per attempt, so a device gets at most 1 + COURIER_MAX_RETRIES copies of it. An
ack, a vanished device or the last attempt ends the chain.

A probe whose seq joins a chain posts that message once itself: the probe may be the
message's first live delivery (the send died after its commit), and the chain's next
attempt may be far off, or never come (it was at its last). The bound still holds: the
chain was at attempt j >= 1 when the seq joined, so it posts it at most MAX_RETRIES - j
more times, and 1 (inline) + 1 (the join) + MAX_RETRIES - j <= 1 + MAX_RETRIES.

A user whose every connection has gone by then (a socket found dead when the chain posts,
or closed since the commit) gets a notification job for the chain's newest message
instead: the push that user is owed as an offline member (the notifier skips it if they
have read that far, and coalesces it with any other).

A job that dies after its claim (before its post, or before queueing its follow-up) is
handed back by SQS after the visibility timeout. Its second run finds its own claim still
the chain's latest (same chain id and attempt: no later job has claimed since) and
*resumes*: it queues the follow-up without posting, so the chain goes on within one
visibility timeout and the bound holds. A probe handed back looks for its chain first,
before its ack and connection checks, which would otherwise end its run and leave the
chain stalled. A copy of a job that SQS delivers twice at once may resume too: that chain
then carries one spare job per attempt, which posts nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from courier import retry_chains
from courier.connections import Connection, connections_of
from courier.cursors import ack_cursor
from courier.delivery import post_frame
from courier.history import SentMessage, StoredMessage, messages_between
from courier.jobs import MAX_DELAY_SECONDS, Job
from courier.notify import queue_notifications
from courier.retry_chains import Chain, Joined, Resumed, Where
from courier.runtime import Services

JITTER = 0.1  # retries come up to 10% late, never early


@dataclass(frozen=True)
class RetryJob:
    user: str
    device: str
    channel: str
    seq: int
    attempt: int = 1
    chain: str | None = None  # None for a probe; the chain id for its follow-ups

    @property
    def where(self) -> Where:
        return Where(self.user, self.device, self.channel)

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


@dataclass(frozen=True)
class Device:
    """The job's device's connections, and whether its user has any other."""

    connections: list[Connection]
    user_elsewhere: bool


def _device(svc: Services, job: RetryJob) -> Device:
    every = connections_of(svc.tables, job.user)
    mine = [c for c in every if c.device == job.device]
    return Device(mine, len(mine) < len(every))


def _offline(svc: Services, job: RetryJob, device: Device, seq: int) -> str:
    """A user left with no connection is owed the push: the message reached no device."""
    if not device.user_elsewhere:
        queue_notifications(svc, job.channel, seq, [job.user])
    return "offline"


Taken = tuple[Chain | Joined, Device] | Resumed | str


@dataclass(frozen=True)
class Moment:
    """What a job run knows before it takes its chain: its device's ack, and the time."""

    ack: int
    now: int
    next_due: int
    redelivered: bool


def _take_follow_up(svc: Services, job: RetryJob, at: Moment) -> Taken:
    """Claim this follow-up's attempt; the chain and the device's connections, or why not."""
    claimed = retry_chains.claim(
        svc.tables, job.where, job.chain or "", job.attempt, now=at.now, next_due=at.next_due
    )
    if claimed is None:
        return "duplicate"
    if isinstance(claimed, Resumed):
        return claimed
    ended = at.ack >= claimed.seq and retry_chains.end(
        svc.tables, job.where, claimed, ack=at.ack, only_if_acked=True
    )
    if ended:
        return "acked"
    device = _device(svc, job)
    if not device.connections:
        retry_chains.end(svc.tables, job.where, claimed, ack=at.ack)
        return _offline(svc, job, device, claimed.seq)
    return claimed, device


def _take_probe(svc: Services, job: RetryJob, at: Moment) -> Taken:
    """Start or join the device's chain; the chain and its connections, or why not.
    Nothing is written for an acked message or an offline device."""
    if at.redelivered and (own := retry_chains.resumable(svc.tables, job.where, job.seq)):
        return own
    if at.ack >= job.seq:
        return "acked"
    device = _device(svc, job)
    if not device.connections:
        return _offline(svc, job, device, job.seq)
    started = retry_chains.start_or_join(
        svc.tables,
        job.where,
        job.seq,
        now=at.now,
        next_due=at.next_due,
        max_retries=svc.settings.max_retries,
    )
    if started is None:
        return "coalesced"
    return started if isinstance(started, Resumed) else (started, device)


def run_retry_job(svc: Services, job: RetryJob, *, redelivered: bool = False) -> str:
    """Carry out one retry job (`redelivered`: SQS hands it back after a failed run);
    returns what it did (for metrics and tests)."""
    tables, settings = svc.tables, svc.settings
    now = svc.now_ms() // 1000
    next_delay = retry_delay(settings.retry_base_seconds, job.attempt + 1)
    ack = ack_cursor(tables, job.user, job.device, job.channel)
    at = Moment(ack, now, now + next_delay, redelivered)
    taken = (_take_probe if job.chain is None else _take_follow_up)(svc, job, at)
    if isinstance(taken, str):
        return taken
    if isinstance(taken, Resumed):
        return _resume(svc, job, taken.chain, ack)
    chain, device = taken
    if isinstance(chain, Joined):
        alive = _post(svc, job, device, job.seq - 1, job.seq)
        return "joined" if alive else _offline(svc, job, device, job.seq)
    # only what was posted to this device is sent again
    if not _post(svc, job, device, max(ack, chain.floor), chain.seq, covers=chain.covers):
        retry_chains.end(tables, job.where, chain, ack=ack)  # every socket was dead
        return _offline(svc, job, device, chain.seq)
    if chain.attempt >= settings.max_retries:
        retry_chains.end(tables, job.where, chain, ack=ack)
        return "gave_up"
    _queue_follow_up(svc, job, chain, next_delay)
    return "retried"


def _owed(connection: Connection, sent: SentMessage) -> bool:
    """Whether a retry may post this message to this socket of the device: never to the
    socket that sent it, nor to one opened after it was sent (that one synced after the
    commit: pushing it would be pushing an offline backlog). A socket opened within the
    send's own commit (between its timestamp and its transaction) is skipped too: the
    send's inline post reaches it, or its next sync does."""
    if connection.connection_id == sent.sender_connection:
        return False
    return connection.connected_at <= sent.message.ts


def _post(
    svc: Services,
    job: RetryJob,
    device: Device,
    after: int,
    upto: int,
    *,
    covers: Callable[[int], bool] = lambda _: True,
) -> bool:
    """Post the channel's messages after `after` up to `upto` that `covers` names to the
    device's sockets, in order, while one lives; whether one still does. A recalled
    message is never sent again; an edited one goes with its latest body."""
    connections = device.connections
    for sent in messages_between(svc.tables, job.channel, after, upto):
        targets = [c for c in connections if _owed(c, sent)]
        if targets and covers(sent.message.seq) and not sent.message.recalled:
            frame = {"type": "message", **sent.message.fields()}
            gone = post_frame(svc.tables, svc.poster, targets, frame).gone
            connections = [c for c in connections if c not in gone]
    return bool(connections)


def _queue_follow_up(svc: Services, job: RetryJob, chain: Chain, delay: int) -> None:
    follow_up = RetryJob(job.user, job.device, job.channel, chain.seq, chain.attempt + 1, chain.id)
    svc.queue.send(svc.settings.retry_queue_url, [Job(follow_up.body(), delay)])


def _resume(svc: Services, job: RetryJob, chain: Chain, ack: int) -> str:
    """Carry on a chain whose claiming run may have died: queue its follow-up, post nothing
    (that run may have posted, and each attempt posts at most once)."""
    if chain.attempt >= svc.settings.max_retries:
        retry_chains.end(svc.tables, job.where, chain, ack=ack)
        return "resumed"
    if not retry_chains.resume(svc.tables, job.where, chain):
        return "duplicate"  # another run of this job has queued the follow-up again
    delay = retry_delay(svc.settings.retry_base_seconds, chain.attempt + 1)
    _queue_follow_up(svc, job, chain, delay)
    return "resumed"
