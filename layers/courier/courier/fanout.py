"""Delivering a new message: a fast inline post, and a durable path that cannot be lost.

- The fast path (`post_new_message`, inside `send`, after the commit) posts the `message`
  frame to the live connections of a small channel's members (but the sending one). It
  is best effort: if the send function dies after the commit, nothing else depends on it.
- The durable path (`schedule_delivery`) runs from the messages table's stream for every
  committed message, at least once, whatever happened to the send. It queues a retry
  probe per device connected at the commit (the retry worker posts the message if it is
  still un-acked, so a device the fast path missed gets it live within the retry
  schedule) and a notification job per member with no connection at the commit. A
  channel above the inline limit gets a fan-out plan job instead, whose chunks post,
  probe and notify.

"At the commit" is judged from the connection rows, whenever the stream gets to the
message (its lag grows under load): a socket opened after the message's timestamp is
not one the message was owed to (it synced after the commit), so a member with only such
sockets was offline at the commit and is owed the push, not a frame.

A device so gets the fast path's copy (at most one) and the retry chain's (at most
COURIER_MAX_RETRIES): the bound on copies holds whichever path reached it first. None of
it writes to DynamoDB, so a message costs the same writes in a DM and in a group of
thousands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from courier.connections import Connection, connections_of
from courier.delivery import live_connections, post_frame
from courier.history import StoredMessage, stored_message
from courier.ids import parse_channel
from courier.jobs import Job, chunks
from courier.membership import channel_members
from courier.notify import queue_notifications
from courier.retry import probes
from courier.runtime import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FanoutJob:
    """A message to deliver: to `users`, or (a plan job, users None) to every member."""

    message: StoredMessage
    except_connection: str | None
    users: list[str] | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message.job(), "except": self.except_connection}
        if self.users is not None:
            body["users"] = self.users
        return body

    def job(self, chunk: int | None = None) -> Job:
        """The queued job, named for the FIFO queue's deduplication: a plan or chunk of
        (channel, seq) is queued once, however often its producer runs."""
        part = "plan" if chunk is None else f"chunk-{chunk}"
        return Job(self.body(), fifo_key=f"{self.message.channel}/{self.message.seq}/{part}")

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FanoutJob:
        message = StoredMessage.from_job(body["message"])
        users = body.get("users")
        return cls(
            message, body.get("except"), [str(u) for u in users] if users is not None else None
        )


def post_new_message(
    svc: Services, message: StoredMessage, member_count: int, except_connection: str | None
) -> list[Connection]:
    """The fast path: post to the live connections of a small channel's members; the
    connections still there. Large channels are left to the durable path's fan-out jobs."""
    if member_count > svc.settings.fanout_inline_limit:
        return []
    members = channel_members(svc.tables, parse_channel(message.channel))
    targets = live_connections(svc.tables, members, except_connection=except_connection)
    report = post_frame(svc.tables, svc.poster, targets, {"type": "message", **message.fields()})
    report.record(svc.metrics)
    return report.delivered + report.failed


def schedule_delivery(svc: Services, message: StoredMessage, except_connection: str | None) -> str:
    """The durable path for one committed message: a fan-out plan job for a large channel,
    else a retry probe per connected device and a notification job per offline member."""
    channel = parse_channel(message.channel)
    limit = svc.settings.fanout_inline_limit
    members = channel_members(svc.tables, channel, limit=limit + 1)
    if len(members) > limit:
        plan = FanoutJob(message, except_connection)
        svc.queue.send(svc.settings.fanout_queue_url, [plan.job()])
        svc.metrics.add_metric(name="FanoutsQueued", unit=MetricUnit.Count, value=1)
        return "fanned_out"
    deliver_to_users(svc, message, members, except_connection, post=False)
    return "scheduled"


def run_fanout_job(svc: Services, job: FanoutJob, *, redelivered: bool = False) -> str:
    """A plan job splits the members into chunk jobs; a chunk job delivers to its users.

    A chunk SQS delivers again (its first run failed, perhaps after posting) posts
    nothing: it queues the retry probes, so each device still gets at most 1 + MAX_RETRIES
    copies, the first of them from the retry chain if the first run never reached it.

    A chunk reads the message again (one GetItem): one recalled since its job was queued
    is not delivered at all (its body is gone), one edited is delivered as it is now."""
    if job.users is None:
        members = channel_members(svc.tables, parse_channel(job.message.channel))
        svc.queue.send(
            svc.settings.fanout_queue_url,
            [
                FanoutJob(job.message, job.except_connection, chunk).job(i)
                for i, chunk in enumerate(chunks(members))
            ],
        )
        return "planned"
    latest = stored_message(svc.tables, job.message.channel, job.message.seq)
    if latest is not None and latest.recalled:
        return "recalled"  # nothing to deliver: retries and pushes skip it too
    message = latest or job.message  # edited since the job was queued: its latest body
    deliver_to_users(svc, message, job.users, job.except_connection, post=not redelivered)
    return "redelivered" if redelivered else "delivered"


def deliver_to_users(
    svc: Services,
    message: StoredMessage,
    users: list[str],
    except_connection: str | None,
    *,
    post: bool = True,
) -> None:
    """Post to the users' connections and queue retry probes for those reached; queue the
    notifications of users with no connection open at the commit. With `post` False,
    nothing is posted and the probes are for the connections open at the commit."""
    targets: list[Connection] = []
    offline: list[str] = []
    for user in dict.fromkeys(users):
        connections = [
            c for c in connections_of(svc.tables, user) if c.connection_id != except_connection
        ]
        at_commit = [c for c in connections if c.connected_at <= message.ts]
        targets += connections if post else at_commit
        if not at_commit and user != message.sender:
            offline.append(user)
    frame = {"type": "message", **message.fields()}
    report = post_frame(svc.tables, svc.poster, targets if post else [], frame)
    settings = svc.settings
    reached = report.delivered + report.failed if post else targets
    reached_users = {c.user for c in reached}
    offline += [  # every connection of these turned out to be gone
        user
        for user in dict.fromkeys(c.user for c in report.gone)
        if user not in reached_users and user not in offline and user != message.sender
    ]
    if settings.max_retries > 0 and reached:
        svc.queue.send(
            settings.retry_queue_url, probes(message, reached, settings.retry_base_seconds)
        )
    if offline:
        queue_notifications(svc, message.channel, message.seq, offline)
    report.record(svc.metrics)
