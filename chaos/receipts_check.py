"""The read-receipt checks (protocol v1.1 "receipts"). Pure, like chaos/checker.py.

What a DM user's read cursor can hold: the server writes it only with a read (its seq,
clamped to the channel's lastSeq) or a send (the message's seq) of that user, and the
row's creation (0). A device asks to read only up to a seq the server told it of, so
committed before the read frame left: the read finds lastSeq at or above it and is not
clamped. A read asked above the channel's final lastSeq breaks that premise: its
(user, channel) is excluded from the checks that rest on it, never judged.

The network notes every value the server tells a device (chaos/cursor_watch.py), and
the server's cursors are read after the drain, once the devices are offline. Cursors
only move forward, and each value told was the cursor at some moment (or less: the
readSeq of a sync is capped at its lastSeq), so the cursor after the drain is at or
above every one of them. The order values arrive in proves nothing: concurrent
invocations post and reply in any order (the SDK keeps the highest), so it is not
judged.
"""

from __future__ import annotations

from collections import defaultdict

from chaos.history import History, dm_users, user_of
from chaos.liveness import Judged

Pair = tuple[str, str]  # (user, channel)


def _settable(history: History) -> dict[Pair, set[int]]:
    """The values each (user, DM) cursor may have been set to: 0, each read that reached
    the server, each of the user's messages (stored, or acknowledged to them)."""
    found: dict[Pair, set[int]] = defaultdict(lambda: {0})
    for user, channel, seq in history.read_frames:
        found[(user, channel)].add(seq)
    for message in history.server_messages:
        found[(message.sender, message.channel)].add(message.seq)
    for ack in history.sendacks:
        found[(user_of(ack.device), ack.channel)].add(ack.seq)
    return found


def _clamped(history: History) -> set[Pair]:
    """(user, channel) pairs with a read asked above the channel's final lastSeq."""
    return {
        (user, channel)
        for user, channel, seq in history.read_frames
        if seq > history.last_seq.get(channel, 0)
    }


def receipts_not_held(history: History) -> Judged:
    """Receipts about someone other than the receiver's DM peer, or in a channel that is
    not a DM, or whose readSeq the reader's cursor never held: no read or send of the
    reader set it, or it is above the DM's final lastSeq."""
    settable, clamped = _settable(history), _clamped(history)
    found: list[str] = []
    judged = excluded = 0
    for r in history.receipts:
        parties, receiver = dm_users(r.channel), user_of(r.device)
        where = f"{r.device} got {r.user}'s receipt {r.channel}@{r.read_seq}"
        if parties is None:
            found.append(f"{where}: not a DM")
        elif r.user == receiver or {r.user, receiver} != set(parties):
            found.append(f"{where}: {r.user} is not {receiver}'s peer in it")
        elif (r.user, r.channel) in clamped:
            excluded += 1
            continue
        elif r.read_seq > history.last_seq.get(r.channel, 0):
            found.append(f"{where}: above lastSeq {history.last_seq.get(r.channel, 0)}")
        elif r.read_seq not in settable[(r.user, r.channel)]:
            found.append(f"{where}: no read or send of {r.user} set it")
        judged += 1
    return Judged(found, judged, excluded, unit="receipts")


def _final(history: History, user: str, channel: str) -> int:
    return history.server_reads.get((user, channel), 0)


def cursors_behind(history: History) -> Judged:
    """Read cursor values the server told a device (receipts, read frames, sync readSeq,
    peerReadSeq) or granted (a sendack: sending moves the sender's cursor to its seq)
    above the cursor after the drain; and read replies below the read they answer (the
    cursor holds at least the read, which is not clamped: see the module)."""
    told: list[tuple[str, str, int, str]] = [
        (r.user, r.channel, r.read_seq, f"receipt to {r.device}") for r in history.receipts
    ]
    told += [(s.user, s.channel, s.value, f"{s.how} to {s.device}") for s in history.cursors_seen]
    told += [
        (user_of(a.device), a.channel, a.seq, f"sendack to {a.device}")
        for a in history.sendacks
        if dm_users(a.channel) is not None  # a group's row goes with its member
    ]
    found = [
        f"{user} {channel}: {how} said {value}, the cursor is at {final}"
        for user, channel, value, how in told
        if value > (final := _final(history, user, channel))
    ]
    clamped, excluded = _clamped(history), 0
    for reply in history.read_replies:
        if (user_of(reply.device), reply.channel) in clamped:
            excluded += 1
        elif reply.read_seq < reply.asked:
            found.append(
                f"{reply.device} read {reply.channel} up to {reply.asked}, "
                f"the reply said {reply.read_seq}"
            )
    judged = len(told) + len(history.read_replies) - excluded
    return Judged(found, judged, excluded, unit="cursor values")


def cursors_unset(history: History) -> Judged:
    """DM read cursors, after the drain or in a `read` frame, at a value no read or send
    of the user set (the server's writes: see the module)."""
    settable, clamped = _settable(history), _clamped(history)
    values = [
        (user, channel, value, "after the drain")
        for (user, channel), value in sorted(history.server_reads.items())
    ]
    values += [
        (s.user, s.channel, s.value, f"read frame to {s.device}")
        for s in history.cursors_seen
        if s.how == "read"
    ]
    found: list[str] = []
    judged = excluded = 0
    for user, channel, value, where in values:
        if dm_users(channel) is None:
            continue
        if (user, channel) in clamped:
            excluded += 1
            continue
        judged += 1
        if value not in settable[(user, channel)]:
            found.append(f"{user} {channel}: {value} {where}; no read or send of {user} set it")
    return Judged(found, judged, excluded, unit="DM cursor values")
