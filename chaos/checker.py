"""The checker: a run's history in, one list of violations per guarantee out. Pure.

Each function returns one line per violation, readable on its own; an empty list
means the guarantee held.

Some checks only mean something once the drain has finished: "not on a device" or
"never acknowledged" is a violation only if the device had every chance to get it. When
the drain did not finish (work still pending when it gave up), those checks are not run
and the verdict says so; the others are run, as each is sound on an unfinished run: a
violation it reports is one whatever happens next (see `Check.needs_drain`).

The liveness checks (`late_deliveries`, `missed_notifications`: chaos/liveness.py) judge
only the cases the run could observe; when it observed none, the check is inconclusive,
never ok.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from chaos import checker_v11, receipts_check
from chaos.history import Attempt, History, Message, Read, user_of
from chaos.liveness import (
    Judged,
    Unobservable,
    first_frame_latency,
    late_deliveries,
    missed_notifications,
)
from chaos.truth import members_of, server_index

DETAILS_KEPT = 50
Result = Literal["pass", "fail", "inconclusive"]
EXIT_CODES: dict[Result, int] = {"pass": 0, "fail": 1, "inconclusive": 3}


def not_stored(history: History) -> list[str]:
    """Acknowledged messages the server does not hold (or holds as another message)."""
    server = server_index(history)
    found: list[str] = []
    for ack in history.sendacks:
        stored = server.get((ack.channel, ack.seq))
        if stored is None or stored.client_msg_no != ack.client_msg_no:
            found.append(f"{ack.channel}#{ack.seq}: acknowledged to {ack.device}, not stored")
    return found


def lost(history: History) -> list[str]:
    """Stored messages some member device does not hold after the drain."""
    held = {
        device: {(m.channel, m.seq) for m in messages}
        for device, messages in history.stores.items()
    }
    nothing: set[tuple[str, int]] = set()
    found: list[str] = []
    for (channel, seq), message in sorted(server_index(history).items()):
        for user in members_of(history, channel):
            for device in history.devices.get(user, []):
                if (channel, seq) not in held.get(device, nothing):
                    found.append(f"{channel}#{seq} ({message.client_msg_no}): not on {device}")
    return found


def _as_sent(message: Message, attempt: Attempt, edits: list[Any]) -> bool:
    """Whether a stored message is as its sender made it: the body sent (or, edited, the
    body of one of its edits) and the mentions sent; recalled, neither."""
    if message.recalled:
        return message.body is None and not message.mentions
    if (message.channel, message.mentions) != (attempt.channel, attempt.mentions):
        return False
    return message.body == attempt.body if message.version == 0 else message.body in edits


def unexpected(history: History) -> list[str]:
    """Stored messages no device attempted, or not as attempted (`_as_sent`), or (on a
    device) not as the server stored them."""
    attempts = {(user_of(a.device), a.client_msg_no): a for a in history.attempts}
    edits: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for edit in history.edits:
        edits[(edit.channel, edit.seq)].append(edit.body)
    server = server_index(history)
    holders: list[tuple[str, list[Message]]] = [("server", history.server_messages)]
    holders += sorted(history.stores.items())
    found: list[str] = []
    for where, messages in holders:
        for m in messages:
            attempt = attempts.get((m.sender, m.client_msg_no))
            original = server.get((m.channel, m.seq))
            if attempt is None:
                found.append(f"{where}: {m.channel}#{m.seq} from {m.sender} was never sent")
            elif not _as_sent(m, attempt, edits[(m.channel, m.seq)]):
                found.append(f"{where}: {m.channel}#{m.seq} differs from what was sent")
            elif original is None or original.message_id != m.message_id:
                found.append(f"{where}: {m.channel}#{m.seq} differs from the server's")
    return found


def shown_twice(history: History) -> list[str]:
    """A (channel, seq) a device's SDK showed more than once, and a (sender, clientMsgNo)
    that came to name two messages."""
    found = [
        f"{device}: {channel}#{seq} shown {count} times"
        for device, shown in sorted(history.shown.items())
        for (channel, seq), count in sorted(Counter(shown).items())
        if count > 1
    ]
    named: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    for ack in history.sendacks:
        named[(user_of(ack.device), ack.client_msg_no)].add((ack.channel, ack.seq))
    for m in history.server_messages + [m for ms in history.stores.values() for m in ms]:
        named[(m.sender, m.client_msg_no)].add((m.channel, m.seq))
    found += [
        f"{sender} {client_msg_no}: names {sorted(places)}"
        for (sender, client_msg_no), places in sorted(named.items())
        if len(places) > 1
    ]
    return found


def unacknowledged(history: History) -> list[str]:
    """Messages attempted whose sender never got a sendack, and outboxes not emptied."""
    acked = {(user_of(a.device), a.client_msg_no) for a in history.sendacks}
    found = [
        f"{a.device}: {a.client_msg_no} to {a.channel} never acknowledged"
        for a in history.attempts
        if (user_of(a.device), a.client_msg_no) not in acked
    ]
    found += [
        f"{device}: {len(left)} left in the outbox"
        for device, left in sorted(history.outbox_left.items())
        if left
    ]
    return found


def unheld_reads(reads: Iterable[Read], held: Mapping[tuple[str, str], int]) -> list[Read]:
    """The reads a (user, channel) read cursor of `held` does not reach, each once (a
    user may read the same channel up to the same seq again)."""
    return [r for r in dict.fromkeys(reads) if held.get((user_of(r.device), r.channel), 0) < r.seq]


def reads_not_held(history: History) -> list[str]:
    """Reads a device made that the server's read cursor does not reach after the drain
    (guarantee 7: a read the user made is never lost)."""
    return [
        f"{r.device} read {r.channel} up to {r.seq}; the server's cursor for "
        f"{user_of(r.device)} is at {history.server_reads.get((user_of(r.device), r.channel), 0)}"
        for r in unheld_reads(history.reads, history.server_reads)
    ]


def cursor_regressions(history: History) -> list[str]:
    """A cursor value lower than one the same source observed before it."""
    found: list[str] = []
    for source, observed in sorted(history.cursors.items()):
        highest: dict[tuple[str, ...], int] = {}
        for key, value in observed:
            if value < highest.get(key, 0):
                found.append(f"{source}: {'/'.join(key)} went from {highest[key]} to {value}")
            highest[key] = max(value, highest.get(key, 0))
    return found


def excess_copies(history: History) -> list[str]:
    """(message, device) pairs the server sent more than 1 + MAX_RETRIES times."""
    bound = 1 + history.max_retries
    return [
        f"{device}: {channel}#{seq} sent {count} times (at most {bound})"
        for device, copies in sorted(history.copies.items())
        for (channel, seq), count in sorted(copies.items())
        if count > bound
    ]


def seq_gaps(history: History) -> list[str]:
    """Channels whose stored seqs are not exactly 1..lastSeq."""
    seqs: dict[str, list[int]] = defaultdict(list)
    for m in history.server_messages:
        seqs[m.channel].append(m.seq)
    found: list[str] = []
    for channel in sorted(set(seqs) | set(history.last_seq)):
        expected = list(range(1, history.last_seq.get(channel, 0) + 1))
        if sorted(seqs[channel]) != expected:
            found.append(f"{channel}: seqs {sorted(seqs[channel])} but lastSeq {len(expected)}")
    return found


class Check(NamedTuple):
    """One line of the verdict. `needs_drain`: the check is only sound once the drain has
    finished, and is not run when it did not.

    Needing a finished drain: `lost` (a member device may still be catching up),
    `unacknowledged` (an outbox may still be draining, a sendack on its way),
    `unread_mismatches` and `total_mismatches` (a read or a message may still be on its
    way to a device or to the server, and the final sync reply may be missing),
    `reads_not_held` (a read may still be on its way to the server) and `stale_revisions`
    (a sync may still bring a device a message's latest revision). What they call missing
    may only be late.

    Sound on an unfinished run, each violation being one whatever happens next:
    `unexpected`, `not_stored` and `seq_gaps` compare one consistent snapshot of the
    server (chaos/server_state.py `snapshot`) taken after every device went offline, so
    every message a device holds or got a sendack for was committed before it, and no send
    committed while it was read; `shown_twice` (a message shown twice, a clientMsgNo
    naming two messages), `cursor_regressions` (a cursor seen going back) and
    `excess_copies` (more copies than the bound) note things no later event can undo:
    more time could only add violations, never take one back. So do `wrong_answers` (an
    answer given), `unwanted_pushes` (a push published) and `requests_not_held`: the
    devices asked every recall, edit and mute during the workload, and the server's state
    is read after it and after the devices went offline.

    The receipt checks (chaos/receipts_check.py) compare what the network noted until the
    devices went offline with the server's cursors and messages read after that: cursors
    only move forward, and every read or send that set one passed the network before.

    `late_deliveries` judges windows that closed during the run (a later frame cannot
    make a late one timely): sound on an unfinished run. `missed_notifications` needs the
    notification jobs run: a push may still be on its way.
    """

    label: str
    run: Callable[[History], list[str] | Judged]
    needs_drain: bool


CHECKS: dict[str, Check] = {
    "not_stored": Check("acknowledged, not stored by the server", not_stored, False),
    "lost": Check("stored, missing from a member device", lost, True),
    "unexpected": Check("unexpected", unexpected, False),
    "shown_twice": Check("shown twice", shown_twice, False),
    "unacknowledged": Check("never acknowledged after the drain", unacknowledged, True),
    "unread_mismatches": Check(
        "(user, channel) unread, mentions or mute not the truth",
        checker_v11.unread_mismatches,
        True,
    ),
    "total_mismatches": Check(
        "devices whose totalUnread is not the truth", checker_v11.total_mismatches, True
    ),
    "reads_not_held": Check("reads not held by the server", reads_not_held, True),
    "cursor_regressions": Check("cursor regressions", cursor_regressions, False),
    "excess_copies": Check(
        "copies per (message, device) above 1 + MAX_RETRIES", excess_copies, False
    ),
    "seq_gaps": Check("channels with seq gaps", seq_gaps, False),
    "late_deliveries": Check(
        "late to a device connected all along (message, device)", late_deliveries, False
    ),
    "missed_notifications": Check(
        "no push to an offline member (message, member)", missed_notifications, True
    ),
    "requests_not_held": Check(
        "recalls, edits, mutes: server state no answer explains",
        checker_v11.requests_not_held,
        False,
    ),
    "wrong_answers": Check(
        "recalls, edits, mutes refused or granted against the rules",
        checker_v11.wrong_answers,
        False,
    ),
    "stale_revisions": Check(
        "held revision not the server's (device, revised message)",
        checker_v11.judge_revisions,
        True,
    ),
    "unwanted_pushes": Check(
        "push about a recalled message or in a muted channel",
        checker_v11.judge_pushes,
        False,
    ),
    "receipts_not_held": Check(
        "receipt not a cursor the DM peer held (receipt)",
        receipts_check.receipts_not_held,
        False,
    ),
    "cursors_behind": Check(
        "read cursor after the drain below a value told of it",
        receipts_check.cursors_behind,
        False,
    ),
    "cursors_unset": Check(
        "DM read cursor no read or send of its user set", receipts_check.cursors_unset, False
    ),
}


@dataclass(frozen=True)
class Verdict:
    attempted: int
    acknowledged: int
    stored: int
    redelivered: int  # message frames a device got beyond the first: the server's retries
    violations: dict[str, list[str]]  # the checks that were run
    not_checked: tuple[str, ...] = ()  # the checks that need a finished drain, when not
    pending: dict[str, list[str]] = field(default_factory=dict)  # drain step -> what was left
    inconclusive: dict[str, str] = field(default_factory=dict)  # check -> what it could not see
    judged: dict[str, str] = field(default_factory=dict)  # liveness check -> what it judged
    latency: dict[str, int] | None = None  # commit -> first frame (first_frame_latency)

    @property
    def result(self) -> Result:
        """A violation fails the run even when the drain did not finish (the checks run
        then are sound on an unfinished run); otherwise an unfinished drain, or a check
        that could observe nothing, proves nothing either way."""
        if any(self.violations.values()):
            return "fail"
        return "inconclusive" if self.pending or self.inconclusive else "pass"

    @property
    def ok(self) -> bool:
        return self.result == "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.result]


def check(history: History, pending: Mapping[str, list[str]] | None = None) -> Verdict:
    """Every check on a history; with work `pending` (the drain did not finish), only the
    checks that do not need a finished drain."""
    pending = {step: list(left) for step, left in (pending or {}).items() if left}
    run = {name: c for name, c in CHECKS.items() if not (pending and c.needs_drain)}
    acked = {(user_of(a.device), a.client_msg_no) for a in history.sendacks}
    attempted = {(user_of(a.device), a.client_msg_no) for a in history.attempts}
    violations: dict[str, list[str]] = {}
    inconclusive: dict[str, str] = {}
    judged: dict[str, str] = {}
    for name, c in run.items():
        try:
            outcome = c.run(history)
        except Unobservable as exc:
            inconclusive[name] = str(exc)
            continue
        if isinstance(outcome, Judged):
            if outcome.judged == 0:
                excluded = f" ({outcome.excluded} excluded)" if outcome.excluded else ""
                inconclusive[name] = f"no {outcome.unit} could be judged{excluded}"
                continue
            judged[name] = outcome.note
            outcome = outcome.found
        violations[name] = outcome
    return Verdict(
        attempted=len(attempted),
        acknowledged=len(acked & attempted),
        stored=len(history.server_messages),
        redelivered=sum(
            count - 1 for copies in history.copies.values() for count in copies.values()
        ),
        violations=violations,
        not_checked=tuple(name for name in CHECKS if name not in run),
        pending=pending,
        inconclusive=inconclusive,
        judged=judged,
        latency=first_frame_latency(history),
    )
