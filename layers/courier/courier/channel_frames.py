"""Frames about one message (recall, edit) for the live connections of every member of its
channel: posted inline up to FanoutInlineLimit members, as fan-out jobs above it.

Like a new message, a large channel's frames leave the caller's function as one plan job
on the fan-out queue; the fan-out worker splits the members into chunk jobs of
CHUNK_USERS and each chunk posts its users' frames. So a recall or an edit costs its
caller one Query page and one SendMessage in a group of any size, and the worker's reads
grow with the members, as a new message's do.

A `recall` frame carries each receiving user's unread, read when the frame is posted (one
BatchGetItem per chunk); an `edit` frame is the same for everyone. These frames are not
retried (a client that misses one catches up through sync), and a chunk SQS hands out
again posts them again: both are safe to apply twice (a recall is final, and clients keep
an edit's body only if its version is higher than the one they hold).

Each job is named for the FIFO queue's deduplication by the frame it carries, so a
recall's jobs are queued once however many recalls of the message race, and an edit's
once per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from courier.broadcast import FrameFor, broadcast, post_to_users, same_frame
from courier.channels import members_unread
from courier.ids import Channel, parse_channel
from courier.jobs import Job, chunks
from courier.membership import channel_members
from courier.runtime import Services


@dataclass(frozen=True)
class FrameJob:
    """A frame for the members of its channel: `users`, or (a plan job, users None) all."""

    frame: dict[str, Any]
    except_connection: str | None
    users: list[str] | None = None

    @property
    def channel(self) -> Channel:
        return parse_channel(self.frame["channel"])

    def job(self, chunk: int | None = None) -> Job:
        frame = self.frame
        version = f"-v{frame['version']}" if frame["type"] == "edit" else ""
        part = "plan" if chunk is None else f"chunk-{chunk}"
        body: dict[str, Any] = {"frame": frame, "except": self.except_connection}
        if self.users is not None:
            body["users"] = self.users
        key = f"{frame['channel']}/{frame['seq']}/{frame['type']}{version}/{part}"
        return Job(body, fifo_key=key)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FrameJob:
        frame = body["frame"]
        if not isinstance(frame, dict) or frame.get("type") not in ("recall", "edit"):
            raise ValueError("a frame job carries a recall or edit frame")
        users = body.get("users")
        return cls(
            frame, body.get("except"), [str(u) for u in users] if users is not None else None
        )


def frames_for(svc: Services, frame: dict[str, Any]) -> FrameFor:
    """Each user's frame: a recall's with that user's unread, an edit's as it is."""
    if frame["type"] != "recall":
        return same_frame(frame)

    def with_unread(users: list[str]) -> dict[str, dict[str, Any]]:
        unread = members_unread(svc.tables, frame["channel"], users)
        return {user: {**frame, "unread": unread.get(user, 0)} for user in users}

    return with_unread


def tell_channel(svc: Services, frame: dict[str, Any], except_connection: str | None) -> None:
    """Post `frame` to every member's live connections but `except_connection`: inline for
    a channel up to the inline limit, else through a fan-out plan job."""
    job = FrameJob(frame, except_connection)
    limit = svc.settings.fanout_inline_limit
    members = channel_members(svc.tables, job.channel, limit=limit + 1)
    if len(members) <= limit:
        broadcast(svc, members, frames_for(svc, frame), except_connection)
        return
    svc.queue.send(svc.settings.fanout_queue_url, [job.job()])
    svc.metrics.add_metric(name="FrameFanoutsQueued", unit=MetricUnit.Count, value=1)


def run_frame_job(svc: Services, job: FrameJob) -> str:
    """A plan job splits the members into chunk jobs; a chunk job posts to its users."""
    if job.users is None:
        members = channel_members(svc.tables, job.channel)
        parts = enumerate(chunks(members))
        svc.queue.send(
            svc.settings.fanout_queue_url,
            [FrameJob(job.frame, job.except_connection, users).job(i) for i, users in parts],
        )
        return "frames_planned"
    post_to_users(svc, job.users, frames_for(svc, job.frame), job.except_connection)
    return "frames_posted"
