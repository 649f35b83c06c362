"""The liveness checks (DESIGN.md guarantee 8): what reached devices and offline users in
time, judged only on the cases the run could observe; a check that observed none is
inconclusive, never ok. And the commit -> first frame latency the report gives."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from chaos.history import Connection, History, Key, Liveness, Message, Recall, user_of
from chaos.truth import maybe_muted, members_of, recalled


class Unobservable(Exception):
    """The run could not observe what a check needs: the check is inconclusive."""


@dataclass(frozen=True)
class Judged:
    """What a liveness check found among the cases it could judge."""

    found: list[str]
    judged: int  # cases judged (violations included)
    excluded: int = 0  # cases set aside as not the server's doing
    unit: str = "cases"

    @property
    def note(self) -> str:
        excluded = f", {self.excluded} excluded" if self.excluded else ""
        return f"{self.judged} {self.unit} judged{excluded}"


def _liveness(history: History) -> Liveness:
    if history.liveness is None:
        raise Unobservable("the run did not note when frames reached devices")
    return history.liveness


def _sending_devices(history: History) -> dict[tuple[str, str], str]:
    """(sender user, clientMsgNo) -> the device that sent it (it gets a sendack, no frame)."""
    return {(user_of(a.device), a.client_msg_no): a.device for a in history.attempts}


def _receivers(
    history: History, message: Message, sending: Mapping[tuple[str, str], str]
) -> list[str]:
    """The devices a message is for: every member's, but the one that sent it."""
    sender = sending.get((message.sender, message.client_msg_no))
    return [
        device
        for user in members_of(history, message.channel)
        for device in history.devices.get(user, [])
        if device != sender
    ]


def _timed(history: History) -> list[Message]:
    """The stored messages with a server timestamp, in order."""
    messages = sorted(history.server_messages, key=lambda m: (m.channel, m.seq))
    timed = [m for m in messages if m.ts > 0]
    if messages and not timed:
        raise Unobservable("the server's messages carry no timestamp")
    return timed


def _open_at(links: Mapping[int, Connection], at: int, ended: int) -> tuple[int, int] | None:
    """The connection open at `at` (opened before it): its number and when it closed."""
    for number, link in links.items():
        closed = link.closed if link.closed is not None else ended
        if link.opened <= at < closed:
            return number, closed
    return None


def _first_seen(live: Liveness, device: str, key: Key) -> tuple[int, str] | None:
    """When and how a device first got a message: a frame that reached it, or a sync."""
    seen = [
        (f.at, f"a frame on connection #{f.link}")
        for f in live.frames.get(device, {}).get(key, [])
        if f.delivered
    ]
    synced = live.synced.get(device, {}).get(key)
    if synced is not None:
        seen.append((synced[0], f"a sync on connection #{synced[1]}"))
    return min(seen) if seen else None


def judge_deliveries(history: History) -> Judged:
    """Late deliveries: a message a device did not get within the live window
    (`Liveness.live_ms`, plus `fanout_ms` in a fanned-out channel) after its commit,
    although one connection of it was open from before the commit until the window closed.

    The commit is the message's `ts`: the server stamps it just before its transaction,
    so a connection open before it was known to the server when the message committed.
    The device got the message on that connection when a `message` frame reached it, or
    a sync reply holding it did (the SDK fills a gap it sees with a sync; the retry worker
    then rightly sends nothing more, the device having acknowledged it). Not judged: a
    device whose connection closed before the window did (the server could no longer
    reach it; it catches up on connect). Excluded: a device to which the server did send
    the message within the window, every copy dropped by the harness's network; a
    message whose recall was asked before the window closed (a recalled message is never
    sent again by a retry).
    """
    live = _liveness(history)
    sending = _sending_devices(history)
    recalls: dict[Key, list[Recall]] = defaultdict(list)
    for recall in history.recalls:
        recalls[(recall.channel, recall.seq)].append(recall)
    found: list[str] = []
    judged = excluded = 0
    for message in _timed(history):
        key = (message.channel, message.seq)
        due = message.ts + live.live_ms + live.fanout_ms.get(message.channel, 0)
        for device in _receivers(history, message, sending):
            connection = _open_at(live.links.get(device, {}), message.ts, live.ended)
            if connection is None:
                continue
            number, closed = connection
            frames = [
                f
                for f in live.frames.get(device, {}).get(key, [])
                if f.link == number and f.at <= due
            ]
            got = [f.at for f in frames if f.delivered]
            synced = live.synced.get(device, {}).get(key)
            if synced is not None and synced[1] == number:
                got.append(synced[0])
            if got and min(got) <= due:
                judged += 1
                continue
            if closed < due:
                continue  # it left before the server's time was up
            if frames:
                excluded += 1  # sent in time; the network dropped every copy
                continue
            if any(r.sent < due for r in recalls.get(key, [])):
                excluded += 1  # retries rightly stop at a recall: it may have come in time
                continue
            judged += 1
            first = _first_seen(live, device, key)
            later = "never got it"
            if first is not None:
                after = (first[0] - message.ts) / 1000
                later = f"first got it {after:.1f} s after the commit by {first[1]}"
            found.append(
                f"{device}: {message.channel}#{message.seq} not received within "
                f"{(due - message.ts) / 1000:g} s of its commit on connection #{number}, open all "
                f"that time; {later}"
            )
    return Judged(found, judged, excluded, "(message, device) pairs")


def late_deliveries(history: History) -> Judged:
    return judge_deliveries(history)


def judge_notifications(history: History) -> Judged:
    """Missed notifications: a member with no live connection from just before a message's
    commit (`Liveness.offline_margin_ms`, the gateway's $disconnect catching up) until the
    server must have noticed they were offline (`Liveness.decide_ms` after it), who did
    not read the message before the drain had run every notification job, yet got no push
    for it: none to that user for that channel with a seq at or above the message's (the
    notifier coalesces into the channel's latest message; a push of a later seq was
    necessarily published after the commit; in a channel the member may have muted, where
    a push is about the mention that made it, any push published after the commit, as the
    notifier sends none within the coalescing window of the last one). Not judged: the
    sender (sending read it).
    Excluded: a member without a push who read it in time, by a read that reached the
    server or by sending a later message there (the notifier rightly skips a read channel);
    a message recalled (a push not yet published for it is not published); a message that
    does not mention the member in a channel they had asked to mute by then (a muted
    channel pushes only mentions; when the notifier ran, it may have been muted).
    """
    live = _liveness(history)
    if live.pushes is None:
        raise Unobservable("the run did not observe the push topic")
    if live.notified is None:
        raise Unobservable("the drain did not run every notification job")
    pushed: dict[tuple[str, str], int] = {}
    last_push: dict[tuple[str, str], int] = {}  # when the latest push was published
    for push in live.pushes:
        key = (push.user, push.channel)
        pushed[key] = max(pushed.get(key, 0), push.seq)
        last_push[key] = max(last_push.get(key, 0), push.at)
    read: dict[tuple[str, str], int] = {}  # how far each user read in time
    made = [(user, channel, seq, at) for user, channel, seq, at in live.reads]
    made += [(m.sender, m.channel, m.seq, m.ts) for m in history.server_messages if m.ts > 0]
    for user, channel, seq, at in made:  # sending reads the channel up to the message
        if at <= live.notified:
            read[(user, channel)] = max(read.get((user, channel), 0), seq)
    gone = recalled(history)
    found: list[str] = []
    judged = excluded = 0
    for message in _timed(history):
        start, end = message.ts - live.offline_margin_ms, message.ts + live.decide_ms
        for user in members_of(history, message.channel):
            if user == message.sender:
                continue
            links = [
                link
                for device in history.devices.get(user, [])
                for link in live.links.get(device, {}).values()
            ]
            if any(
                link.opened < end and (link.closed is None or link.closed > start) for link in links
            ):
                continue  # online (or not surely offline) to the server
            key = (user, message.channel)
            if pushed.get(key, 0) >= message.seq or (
                last_push.get(key, 0) > message.ts
                and maybe_muted(history, user, message.channel, live.notified)
            ):
                judged += 1
                continue
            if (
                read.get((user, message.channel), 0) >= message.seq
                or (message.channel, message.seq) in gone
                or (
                    user not in message.mentions
                    and maybe_muted(history, user, message.channel, live.notified)
                )
            ):
                excluded += 1  # no push, rightly if the notifier ran after that
                continue
            judged += 1
            found.append(
                f"{user}: no push for {message.channel}#{message.seq}, offline from "
                f"{live.offline_margin_ms / 1000:g} s before its commit until at least "
                f"{live.decide_ms / 1000:g} s after; highest seq pushed for the channel: "
                f"{pushed.get((user, message.channel), 0)}"
            )
    return Judged(found, judged, excluded, "(message, offline member) pairs")


def missed_notifications(history: History) -> Judged:
    return judge_notifications(history)


def percentile(values: list[int], share: float) -> int:
    """The nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def first_frame_latency(history: History) -> dict[str, int] | None:
    """Commit (the message's ts) to the first `message` frame the server sent a device,
    in ms, over every (message, receiving device) pair that got one: p50, p95, p99 and
    the pairs counted. None when no frame was observed."""
    live = history.liveness
    if live is None:
        return None
    sending = _sending_devices(history)
    latencies: list[int] = []
    for message in [m for m in history.server_messages if m.ts > 0]:
        key = (message.channel, message.seq)
        for device in _receivers(history, message, sending):
            frames = live.frames.get(device, {}).get(key)
            if frames:
                latencies.append(max(0, min(f.at for f in frames) - message.ts))
    if not latencies:
        return None
    latencies.sort()
    return {
        "pairs": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
    }
