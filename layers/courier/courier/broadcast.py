"""Frames for every live connection of some users: recall and edit (a channel's members,
through courier.channel_frames), mute (the user's own devices).

Unlike a new message these are not retried: a client that misses one catches up through
sync (a recalled message syncs as recalled, an edited one with its latest body). Each
receiving user may get a frame of their own (a recall carries that user's unread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from courier.delivery import live_connections, post_frame
from courier.runtime import Services

logger = logging.getLogger(__name__)

FrameFor = Callable[[list[str]], dict[str, dict[str, Any]]]  # users -> user -> frame


def post_to_users(
    svc: Services, users: list[str], frames_for: FrameFor, except_connection: str | None
) -> None:
    """Post each user's frame to their live connections but `except_connection`."""
    targets = live_connections(svc.tables, users, except_connection=except_connection)
    frames = frames_for(sorted({c.user for c in targets}))
    for user, frame in frames.items():
        mine = [c for c in targets if c.user == user]
        post_frame(svc.tables, svc.poster, mine, frame).record(svc.metrics)


def broadcast(
    svc: Services, users: list[str], frames_for: FrameFor, except_connection: str | None
) -> None:
    """`post_to_users` from the caller's function, after its change is carried out
    (`except_connection` is the caller's, answered directly): never fails the caller."""
    try:
        post_to_users(svc, users, frames_for, except_connection)
    except Exception:
        logger.exception("broadcast failed")
        svc.metrics.add_metric(name="DeliveryErrors", unit=MetricUnit.Count, value=1)


def same_frame(frame: dict[str, Any]) -> FrameFor:
    """One frame for every user."""
    return lambda users: dict.fromkeys(users, frame)
