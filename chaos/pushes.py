"""The push notifications of a run, as the topic got them, with when.

The stack runs in this process over moto, so the run wraps moto's SNS topic for its
duration. moto facts relied on (moto 5): every `Publish` to a topic, whichever client
makes it, goes through `moto.sns.models.Topic.publish(self, message, ...)`, which
returns the message id; the topic keeps `sent_notifications` but no time, hence the
wrapper. The notifier's message is the JSON of courier/notify.py (`user`, `channel`,
`seq`: the channel's latest message when it was published). Each push also notes when
the notifier's invocation began (local/faults.py `invocation_started`): it read the
channel after that.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from moto.sns.models import Topic

from chaos.history import Liveness, Push, now_ms
from local import faults


def parse(message: str, at: int, started: int = 0) -> Push | None:
    """The notifier's notification, or None for anything else published."""
    try:
        value = json.loads(message)
        return Push(str(value["user"]), str(value["channel"]), int(value["seq"]), at, started)
    except (ValueError, TypeError, KeyError):
        return None


@contextlib.contextmanager
def recorded(liveness: Liveness | None, topic_arns: Iterable[str]) -> Iterator[None]:
    """Note in `liveness.pushes` every notification published to one of `topic_arns`,
    meanwhile (nothing without a list to note them in)."""
    pushes = liveness.pushes if liveness is not None else None
    if pushes is None:
        yield
        return
    arns = set(topic_arns)
    original = Topic.publish

    def publish(topic: Topic, message: str, *args: Any, **kwargs: Any) -> str:
        message_id = original(topic, message, *args, **kwargs)
        started = faults.invocation_started() or 0
        push = parse(message, now_ms(), started) if topic.arn in arns else None
        if push is not None:
            pushes.append(push)  # one append: atomic, whichever thread publishes
        return message_id

    Topic.publish = publish  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        Topic.publish = original  # type: ignore[method-assign]
