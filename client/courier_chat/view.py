"""The screen's content as data: conversation rows, message lines, bars.

Pure functions of values read from the SDK (unread counts come from its store, never
counted here), so they are tested without a terminal. Text is prompt_toolkit fragments,
(style classes, text) pairs; the styles themselves live in the screen.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prompt_toolkit.formatted_text import StyleAndTextTuples

from courier_chat.channels import title
from courier_client.store import OutboxEntry

LIST_WIDTH = 24
MIN_TEXT_WIDTH = 20  # wrap to at least this many columns of text, however narrow
HINTS = " Enter send · Tab/↑↓ switch · PgUp/PgDn scroll · /dm USER · /help · Ctrl-D quit"


RECALLED = "message recalled"
EDITED = "  (edited)"
MUTED = "⊘"  # beside a muted conversation's name: its unread is left out of the total
ONLINE = "●"  # beside a DM whose other user has a live connection (as last asked)
SEEN = "  ✓ seen"  # after the person's last DM message once the other user has read it


@dataclass(frozen=True)
class Conversation:
    channel: str
    unread: int
    activity: int  # ms: the newest message's ts, or when it was opened here; 0 if unknown
    mentions: int = 0  # of its unread messages, those that mention the user
    muted: bool = False
    online: bool = False  # a DM's other user, when the server last said


def ordered(conversations: Iterable[Conversation]) -> list[Conversation]:
    """Most recent activity first; ties (and never-active ones) by channel id."""
    return sorted(conversations, key=lambda c: (-c.activity, c.channel))


def neighbour(channels: Sequence[str], current: str | None, step: int) -> str | None:
    """The channel `step` places from `current`, wrapping around; from none, the first/last."""
    if not channels:
        return None
    if current not in channels:
        return channels[0] if step > 0 else channels[-1]
    return channels[(channels.index(current) + step) % len(channels)]


def badge(unread: int) -> str:
    if unread <= 0:
        return ""
    return "99+" if unread > 99 else str(unread)


def mention_badge(mentions: int) -> str:
    return f"@{badge(mentions)}" if mentions > 0 else ""


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def conversation_list(
    conversations: Sequence[Conversation], user: str, selected: str | None, width: int
) -> StyleAndTextTuples:
    """One row per conversation: its name, an online dot, a muted marker, and badges: the
    unread count (dimmed when muted) and the unread mentions of the user."""
    if not conversations:
        return [("class:hint", " No conversations yet.\n\n /dm USER starts one.\n")]
    rows: StyleAndTextTuples = []
    for conversation in conversations:
        style = "class:conversation"
        if conversation.unread:
            style += " class:unread"
        if conversation.channel == selected:
            style += " class:selected"
        marks = [
            (f"{style} class:online", ONLINE if conversation.online else ""),
            (f"{style} class:muted", MUTED if conversation.muted else ""),
            (
                f"{style} class:badge.muted" if conversation.muted else f"{style} class:badge",
                badge(conversation.unread),
            ),
            (f"{style} class:badge.mention", mention_badge(conversation.mentions)),
        ]
        marks = [(mark_style, mark) for mark_style, mark in marks if mark]
        room = width - 2 - sum(len(mark) + 1 for _, mark in marks)
        name = _fit(title(conversation.channel, user), room)
        rows.append((style, f" {name.ljust(room)} "))
        for mark in marks:
            rows += [mark, (style, " ")]
        rows.append(("", "\n"))
    return rows


def body_text(body: Any) -> str:
    """A message body as text: its `text`, a plain string, or else its JSON."""
    if isinstance(body, dict) and isinstance(body.get("text"), str):
        return str(body["text"])
    if isinstance(body, str):
        return body
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def clock(ts_ms: int, now: datetime) -> str:
    """The time of day for today's messages; the date too for older ones."""
    when = datetime.fromtimestamp(ts_ms / 1000, tz=now.tzinfo)
    if when.date() == now.date():
        return when.strftime("%H:%M")
    if when.year == now.year:
        return when.strftime("%b %d %H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def wrap(text: str, width: int, *, first: int = 0, indent: int = 0) -> str:
    """`text` broken between words to fit `width` columns, on a line where it starts at
    column `first`; the lines after the first (its own newlines too) start at `indent`."""
    width = max(width, indent + MIN_TEXT_WIDTH)
    rows: list[str] = []
    for n, paragraph in enumerate(text.split("\n")):
        lead = " " * (first if n == 0 else indent)
        wrapper = textwrap.TextWrapper(
            width, initial_indent=lead, subsequent_indent=" " * indent, break_on_hyphens=False
        )
        rows += wrapper.wrap(paragraph) or [lead]
    return "\n".join(rows)[first:]


def wrap_block(text: str, width: int, indent: int) -> str:
    """Each line wrapped; an indented line's continuations start at `indent` (a column)."""
    return "\n".join(
        wrap(line, width, indent=indent if line.startswith(" ") else 0)
        for line in text.splitlines()
    )


def _message_line(
    when: str, sender: str, text: str, *, mine: bool, width: int, style: str = "class:body"
) -> StyleAndTextTuples:
    head = len(when) + 2
    return [
        ("class:time", when),
        ("", "  "),
        ("class:sender.me" if mine else "class:sender", sender),
        ("", ": "),
        (style, wrap(text, width, first=head + len(sender) + 2, indent=head)),
    ]


def _stored_line(
    message: Mapping[str, Any], user: str, *, now: datetime, width: int
) -> StyleAndTextTuples:
    """A stored message: its text, "(edited)" after it once edited; a recalled one says so."""
    sender = str(message["from"])
    when, mine = clock(int(message["ts"]), now), sender == user
    if message.get("recalled"):
        line = _message_line(when, sender, RECALLED, mine=mine, width=width, style="class:recalled")
    else:
        line = _message_line(when, sender, body_text(message["body"]), mine=mine, width=width)
        if message.get("version"):
            line.append(("class:edited", EDITED))
    return [*line, ("", "\n")]


def message_list(
    messages: Sequence[Mapping[str, Any]],
    pending: Sequence[OutboxEntry],
    user: str,
    *,
    now: datetime,
    width: int,
    new_from: int | None = None,
    peer_read: int = 0,
) -> StyleAndTextTuples:
    """The channel's stored messages in seq order, then those still in the outbox, wrapped
    to `width` columns.

    `new_from` is the first seq that was unread when the channel was opened: a rule
    marks where the new messages start. `peer_read` is a DM's other user's read cursor:
    the user's last message says "seen" once it reaches it.
    """
    if not messages and not pending:
        return [("class:hint", "No messages yet: say hello.\n")]
    lines: StyleAndTextTuples = []
    rule_at = new_from  # None once the rule is drawn
    mine = [int(message["seq"]) for message in messages if message["from"] == user]
    seen = mine[-1] if mine and mine[-1] <= peer_read else None
    for message in messages:
        if rule_at is not None and int(message["seq"]) >= rule_at:
            lines.append(("class:new", "──── new ────\n"))
            rule_at = None
        line = _stored_line(message, user, now=now, width=width)
        if int(message["seq"]) == seen:
            line.insert(-1, ("class:seen", SEEN))
        lines += line
    for entry in pending:
        when = clock(int(entry.created * 1000), now)
        lines += _message_line(when, user, body_text(entry.body), mine=True, width=width)
        lines += [("class:pending", "  (sending…)"), ("", "\n")]
    return lines


def welcome(user: str) -> StyleAndTextTuples:
    return [
        ("class:hint", f"Welcome, {user}.\n\n"),
        ("class:hint", "Pick a conversation with Tab or ↑/↓, or start one with /dm USER.\n"),
        ("class:hint", "/help lists the keys and commands.\n"),
    ]


def typing_text(users: Sequence[str]) -> str:
    if not users:
        return ""
    return f"{', '.join(users)} {'is' if len(users) == 1 else 'are'} typing…"


def header(
    channel: str | None, user: str, *, muted: bool = False, typing: Sequence[str] = ()
) -> StyleAndTextTuples:
    """The open conversation's name and id, whether it is muted, and who is typing in it."""
    if channel is None:
        return [("class:header", "Courier")]
    line: StyleAndTextTuples = [
        ("class:header class:header.title", title(channel, user)),
        ("class:header class:header.channel", f"  {channel}"),
    ]
    if muted:
        line.append(("class:header class:muted", f"  {MUTED} muted"))
    if typing:
        line.append(("class:header class:typing", f"  {typing_text(typing)}"))
    return line


def status_bar(
    *, user: str, device: str, server: str, connection: str, online: bool, total_unread: int
) -> StyleAndTextTuples:
    """`total_unread` is the SDK's: muted conversations are left out of it."""
    bar: StyleAndTextTuples = [
        ("class:status", f" {user}@{device} · {server} "),
        (
            "class:status class:status.online" if online else "class:status class:status.offline",
            f" ● {connection} ",
        ),
    ]
    if total_unread:
        bar.append(("class:status class:status.unread", f" {total_unread} unread "))
    return bar


def notice(text: str, *, error: bool) -> StyleAndTextTuples:
    return [("class:notice.error" if error else "class:notice", f" {text}")] if text else []
