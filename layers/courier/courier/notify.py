"""Offline notifications: members with no live connection get a push through SNS.

A notification job is queued per (offline member, message) with DelaySeconds =
COURIER_NOTIFY_COALESCE_SECONDS. When it runs, the notifier skips a channel the user
has read that far and a message recalled since, notifies about the channel's *latest*
message not recalled, and claims it with a conditional write: at most one notification
per (user, channel, seq), and none within the coalescing window of the previous one for
that (user, channel). A claim whose Publish never happened (the notifier died between
the two) is taken over by the job's own redelivery, or by any job after a lease, so a
push is never lost for it; it is duplicated only if the notifier dies between its
Publish and the write that follows it. A muted
channel pushes only a message that mentions the user. The badge is the user's
totalUnread, muted channels left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from courier.channels import ChannelView, channel_view
from courier.conversations import conversations_of, total_unread
from courier.dynamo import is_condition_failure
from courier.history import StoredMessage, last_messages
from courier.ids import parse_channel
from courier.jobs import Job
from courier.runtime import Services

PREVIEW_CHARS = 80
ROW_TTL_SECONDS = 30 * 86_400
CLAIM_LEASE_MS = 60_000


@dataclass(frozen=True)
class Delivery:
    """Which SQS delivery of a job this is: its messageId, and how many times SQS has
    handed it out (a redelivery after a failed run counts one more; a duplicate copy
    delivered at the same time does not)."""

    message_id: str
    receive_count: int


@dataclass(frozen=True)
class NotifyJob:
    user: str
    channel: str
    seq: int

    def body(self) -> dict[str, Any]:
        return {"user": self.user, "channel": self.channel, "seq": self.seq}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> NotifyJob:
        return cls(user=str(body["user"]), channel=str(body["channel"]), seq=int(body["seq"]))


def queue_notifications(svc: Services, channel: str, seq: int, offline_users: list[str]) -> None:
    """Queue a notification job per offline user about (channel, seq), delayed by the
    coalescing window."""
    delay = svc.settings.notify_coalesce_seconds
    jobs = [Job(NotifyJob(user, channel, seq).body(), delay) for user in offline_users]
    svc.queue.send(svc.settings.notify_queue_url, jobs)


def preview(message: StoredMessage) -> str:
    """A short text for the lock screen: the body's `text`, or the body if it is a string."""
    body = json.loads(message.body_json)
    text = body.get("text") if isinstance(body, dict) else body
    return text[:PREVIEW_CHARS] if isinstance(text, str) else ""


def _claim(svc: Services, job: NotifyJob, seq: int, now_ms: int, delivery: Delivery) -> bool:
    """Claim the right to notify (user, channel) about `seq`; False if already done, too
    soon, or claimed by a job that may still publish.

    `now_ms` is when the notifier began reading the channel, not the time of this write:
    a message committed after it is not in this push, and its own job, due a coalescing
    window after its commit, finds this claim old enough not to coalesce into it.

    The claim stays `pending` until the push is published (`_published`), and names the
    delivery that made it. A pending claim belongs to a notifier that died between its
    claim and its Publish when SQS hands the same job out again (same messageId, a higher
    receive count: SQS redelivers only once the failed run's visibility timeout is over),
    and that redelivery takes it over at once, whatever the queue's visibility timeout;
    any job of that (user, channel) takes it over once CLAIM_LEASE_MS have passed (the
    dead job's retries may all have been spent), so the push is not lost (DESIGN.md
    guarantee 8). The lease outlasts the notifier's timeout (20 s)."""
    window_ms = svc.settings.notify_coalesce_seconds * 1000
    row = svc.tables.notifications
    own_dead_attempt = (row.claimed_by == delivery.message_id) & (
        row.claim_receive < delivery.receive_count
    )
    try:
        row(job.user, job.channel).update(
            actions=[
                row.notified_seq.set(seq),
                row.notified_at.set(now_ms),
                row.pending.set(True),
                row.claimed_by.set(delivery.message_id),
                row.claim_receive.set(delivery.receive_count),
                row.expires_at.set(now_ms // 1000 + ROW_TTL_SECONDS),
            ],
            condition=row.notified_seq.does_not_exist()
            | ((row.notified_seq < seq) & (row.notified_at <= now_ms - window_ms))
            | (
                row.pending.exists()
                & (row.notified_seq <= seq)
                & ((row.notified_at <= now_ms - CLAIM_LEASE_MS) | own_dead_attempt)
            ),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def _published(svc: Services, job: NotifyJob, seq: int, claimed_at: int) -> None:
    """The claim's push is out: it is no longer pending (unless another job took it over)."""
    row = svc.tables.notifications
    try:
        row(job.user, job.channel).update(
            actions=[row.pending.remove(), row.claimed_by.remove(), row.claim_receive.remove()],
            condition=(row.notified_seq == seq) & (row.notified_at == claimed_at),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _skipped(view: ChannelView, seq: int, *, member: bool) -> str | None:
    """Why nothing is owed for this job's message: the user left, read it, or it was
    recalled."""
    if not member:
        return "not_member"
    if view.read_seq >= seq or view.read_seq >= view.last_seq:
        return "read"
    return "recalled" if seq in view.recalled else None


def _subject(view: ChannelView, seq: int) -> int | None:
    """The message the push is about: the channel's latest unread one not recalled (the
    notifier coalesces); in a muted channel, this job's message if it mentions the user,
    else none."""
    if view.muted:
        return seq if seq in view.mentioned else None
    latest = view.last_seq
    while latest in view.recalled:
        latest -= 1
    return latest


def run_notify_job(svc: Services, job: NotifyJob, delivery: Delivery) -> str:
    """Carry out one notification job; returns what it did."""
    channel = parse_channel(job.channel)
    began_at = svc.now_ms()  # before the read: see _claim
    view = channel_view(svc.tables, job.user, channel)
    skipped = _skipped(view, job.seq, member=channel.is_dm or view.joined_at is not None)
    if skipped:
        return skipped
    about = _subject(view, job.seq)
    if about is None:
        return "muted"
    latest = last_messages(svc.tables, {channel.id: about}).get(channel.id)
    if latest is None:
        return "expired"
    if not _claim(svc, job, latest.seq, began_at, delivery):
        return "coalesced"
    badge = total_unread(conversations_of(svc.tables, job.user))
    notification = {
        "user": job.user,
        "channel": channel.id,
        "seq": latest.seq,
        "from": latest.sender,
        "preview": preview(latest),
        "badge": badge,
    }
    svc.sns.publish(
        TopicArn=svc.settings.notify_topic_arn,
        Message=json.dumps(notification, separators=(",", ":"), ensure_ascii=False),
        MessageAttributes={"user": {"DataType": "String", "StringValue": job.user}},
    )
    _published(svc, job, latest.seq, began_at)
    return "notified"
