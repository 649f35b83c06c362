"""What a run's history says the truth is, shared by the checks: who is in a channel,
which message a (channel, seq) names on the server, and how far each user read."""

from __future__ import annotations

from chaos.history import History, Message, user_of


def members_of(history: History, channel: str) -> list[str]:
    if channel in history.members:
        return history.members[channel]
    if channel.startswith("dm:"):
        return channel.split(":")[1:]
    return []


def server_index(history: History) -> dict[tuple[str, int], Message]:
    return {(m.channel, m.seq): m for m in history.server_messages}


def true_read(history: History) -> dict[tuple[str, str], tuple[int, str]]:
    """Each (user, channel)'s read cursor as the users made it, and what made it: their
    reads and their own stored messages (sending reads the channel up to the message)."""
    truth: dict[tuple[str, str], tuple[int, str]] = {}
    made = [((user_of(r.device), r.channel), r.seq, f"a read on {r.device}") for r in history.reads]
    made += [((m.sender, m.channel), m.seq, "a message sent") for m in history.server_messages]
    for key, seq, why in made:
        if seq > truth.get(key, (0, ""))[0]:
            truth[key] = (seq, why)
    return truth
