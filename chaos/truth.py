"""What a run's history says the truth is, shared by the checks: who is in a channel,
which message a (channel, seq) names on the server, how far each user read, which
messages are recalled, what each (user, channel)'s unread and mentions should be, and
when a conversation was surely muted."""

from __future__ import annotations

from chaos.history import Entry, History, Key, Message, Mute, dm_users, user_of


def members_of(history: History, channel: str) -> list[str]:
    if channel in history.members:
        return history.members[channel]
    return list(dm_users(channel) or ())


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


def recalled(history: History) -> set[Key]:
    """The recalled messages: what the server holds as recalled after the drain, on the
    message or on its channel's row (the `requests_not_held` check says where the two
    disagree, or disagree with what the devices asked and were answered).

    The server's state is the truth, not the recalls answered: a recall whose answer was
    lost (a frame dropped, a connection cut, the function dying after its transaction)
    may well have happened, and then every member's unread rightly leaves it out. What
    the devices saw bounds it: every recall answered `recall` must be in it (else the
    server lost it), and every message in it must have been asked for by its sender."""
    found = {(m.channel, m.seq) for m in history.server_messages if m.recalled}
    return found | {(c, seq) for c, seqs in history.server_recalled.items() for seq in seqs}


class Expected:
    """Each (user, channel)'s unread and unread mentions as v1.1 defines them: the
    messages in (true read, lastSeq] not recalled, and those of them that mention the
    user (the sender's own mentions count for no one); muted as the server holds it after
    the drain. And each user's totalUnread: the unread of their conversations not muted."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.server = server_index(history)
        self.gone = recalled(history)
        self.read = true_read(history)

    def entry(self, user: str, channel: str) -> Entry:
        read = self.read.get((user, channel), (0, ""))[0]
        last = self.history.last_seq.get(channel, 0)
        open_ = [seq for seq in range(read + 1, last + 1) if (channel, seq) not in self.gone]
        mentions = 0
        for seq in open_:
            message = self.server.get((channel, seq))
            if message is not None and user != message.sender and user in message.mentions:
                mentions += 1
        return Entry(len(open_), mentions, self.history.server_muted.get((user, channel), False))

    def total(self, user: str) -> int:
        entries = [
            self.entry(user, channel)
            for channel in self.history.members
            if user in members_of(self.history, channel)
        ]
        return sum(entry.unread for entry in entries if not entry.muted)


def mutes_of(history: History, user: str, channel: str) -> list[Mute]:
    return [m for m in history.mutes if user_of(m.device) == user and m.channel == channel]


def surely_muted(history: History, user: str, channel: str, after: int, before: int) -> bool:
    """Whether the (user, channel) was muted all through [after, before]: a mute answered
    before `after`, and no unmute that may have landed after that mute and before
    `before` (an unmute lands between when it was sent and when it was answered, if
    ever)."""
    requests = mutes_of(history, user, channel)
    for mute in requests:
        if not (mute.muted and mute.granted and mute.answered is not None):
            continue
        if mute.answered >= after:
            continue
        if all(
            other.sent > before or (other.answered is not None and other.answered < mute.sent)
            for other in requests
            if not other.muted
        ):
            return True
    return False


def maybe_muted(history: History, user: str, channel: str, before: int) -> bool:
    """Whether the (user, channel) may have been muted at some time before `before`: a
    mute of the user's for it had been sent by then."""
    return any(m.muted and m.sent <= before for m in mutes_of(history, user, channel))
