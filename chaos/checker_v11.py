"""The checks of protocol v1.1 part 1 (recall, edit, mentions, mute). Pure, like
chaos/checker.py: a history in, one line per violation out.

The truth (chaos/truth.py): a message is recalled when the server holds it recalled
after the drain, bounded by what the devices saw (`requests_not_held`); unread is the
messages after the true read cursor not recalled, mentions those of them that mention
the user, totalUnread their sum over the conversations not muted.

What is a violation, and what is a race the server may rightly lose:

- A request the server answered is a fact: a granted recall or edit the server does not
  hold, a refusal the rules do not allow (`wrong_answers`), is a violation. A request
  not answered may or may not have happened: it never makes one.
- A device may hold an older revision of a message than the server's only if its SDK
  never had the newer one: recall and edit frames are not retried (a dropped one, or one
  that came on a connection closed before the SDK took it, is gone), and the SDK does
  not sync a message it holds again (docs/protocol.md, v1.1 part 1, item 5). That is
  excluded, not judged (`stale_revisions`).
- A push about a recalled message, or about a message that does not mention the user in
  a channel the user muted, is a violation only if the notifier's invocation began after
  the recall or the mute had been answered (and, for a mute, no unmute may have landed
  in between): the notifier read the channel after it began, so it saw them. A push
  decided earlier is a race the push rightly won (a push published just before a recall
  is correct): excluded, not judged (`unwanted_pushes`).
"""

from __future__ import annotations

from collections import defaultdict

from chaos.history import Edit, History, Key, Message, Recall, user_of
from chaos.liveness import Judged, Unobservable
from chaos.truth import (
    Expected,
    maybe_muted,
    members_of,
    mutes_of,
    recalled,
    server_index,
    surely_muted,
)


def unread_mismatches(history: History) -> list[str]:
    """(user, channel) pairs where a device's SDK or the server's sync disagrees with the
    v1.1 unread or unread mentions, or shows another mute than the server holds."""
    truth = Expected(history)
    found: list[str] = []
    for channel in sorted(history.members):
        last = history.last_seq.get(channel, 0)
        for user in members_of(history, channel):
            want = truth.entry(user, channel)
            seen: dict[str, tuple[int, int, bool] | None] = {}
            for device in history.devices.get(user, []):
                seen[device] = (
                    history.device_unread.get(device, {}).get(channel, 0),
                    history.device_mentions.get(device, {}).get(channel, 0),
                    history.device_muted.get(device, {}).get(channel, False),
                )
                listed = history.server_entries.get(device, {}).get(channel)
                nothing = None if last > 0 or want.muted else (0, 0, False)
                seen[f"sync to {device}"] = (
                    (listed.unread, listed.mentions, listed.muted) if listed else nothing
                )
            wanted = (want.unread, want.mentions, want.muted)
            wrong = {where: value for where, value in seen.items() if value != wanted}
            if wrong:
                read, why = truth.read.get((user, channel), (0, "nothing read"))
                sent = history.reads_sent.get((user, channel), 0)
                found.append(
                    f"{user} {channel}: (unread, mentions, muted) should be {wanted} (lastSeq "
                    f"{last}, read {read} by {why}, recalled "
                    f"{sorted(s for c, s in truth.gone if c == channel)}), seen {wrong}; "
                    f"highest read frame the server got: {sent}"
                )
    return found


def total_mismatches(history: History) -> list[str]:
    """Devices whose SDK, or whose final sync reply, gives another totalUnread than the
    unread of the user's conversations not muted."""
    truth = Expected(history)
    found: list[str] = []
    for user, devices in sorted(history.devices.items()):
        want = truth.total(user)
        for device in devices:
            seen = {
                "SDK": history.device_total.get(device),
                "sync": history.server_total.get(device),
            }
            wrong = {where: value for where, value in seen.items() if value != want}
            if wrong:
                found.append(f"{device}: totalUnread should be {want}, seen {wrong}")
    return found


def _mute_candidates(history: History, user: str, channel: str) -> set[bool]:
    """What the server may hold as the (user, channel)'s mute: the value of each request
    that may have landed last (one answered with no answered request sent after its
    answer, or one not answered), and unmuted if none surely landed."""
    requests = mutes_of(history, user, channel)
    landed = [m for m in requests if m.granted and m.answered is not None]
    found = {m.muted for m in requests if m not in landed}
    found |= {m.muted for m in landed if all(o.sent <= (m.answered or 0) for o in landed)}
    return found | ({False} if not landed else set())


def requests_not_held(history: History) -> list[str]:
    """The server's final state against the recalls, edits and mutes the devices asked:
    a recall or edit answered that the server does not hold, a message recalled (or with
    more versions) that nobody asked for, a message row and its channel row disagreeing
    on a recall, a mute no request can explain."""
    server = server_index(history)
    found: list[str] = []
    rows = {(m.channel, m.seq) for m in history.server_messages if m.recalled}
    heads = {(c, seq) for c, seqs in history.server_recalled.items() for seq in seqs}
    stored = set(server)
    found += [f"{c}#{s}: recalled on the message only" for c, s in sorted(rows - heads)]
    found += [
        f"{c}#{s}: recalled on the channel row only" for c, s in sorted((heads - rows) & stored)
    ]
    asked: dict[Key, list[Recall]] = defaultdict(list)
    for r in history.recalls:
        asked[(r.channel, r.seq)].append(r)
    for key in sorted(rows | heads):
        message = server.get(key)
        senders = {user_of(r.device) for r in asked.get(key, [])}
        if message is not None and message.sender not in senders:
            found.append(f"{key[0]}#{key[1]}: recalled, never asked by {message.sender}")
    for r in history.recalls:
        if r.answer == "recall" and (r.channel, r.seq) not in rows | heads:
            found.append(f"{r.device}: {r.channel}#{r.seq} recall answered, not recalled")
    edits: dict[Key, list[Edit]] = defaultdict(list)
    for e in history.edits:
        edits[(e.channel, e.seq)].append(e)
    for key, message in sorted(server.items()):
        found += _edits_not_held(message, edits.get(key, []))
    asked_mutes = {(user_of(m.device), m.channel) for m in history.mutes}
    for user, channel in sorted(asked_mutes | history.server_muted.keys()):
        muted = history.server_muted.get((user, channel), False)
        if muted not in _mute_candidates(history, user, channel):
            found.append(f"{user} {channel}: muted {muted}, which no request of theirs left")
    return found


def _edits_not_held(message: Message, edits: list[Edit]) -> list[str]:
    where = f"{message.channel}#{message.seq}"
    if message.version > len(edits):
        return [f"{where}: version {message.version} after {len(edits)} edits asked"]
    if message.recalled:
        return []
    for e in edits:
        if e.version is None:
            continue
        if e.version > message.version:
            return [
                f"{e.device}: {where} edit answered version {e.version}, server holds "
                f"{message.version}"
            ]
        if e.version == message.version and e.body != message.body:
            return [f"{where}: version {e.version} holds another body than its edit's"]
    return []


def wrong_answers(history: History) -> list[str]:
    """Refusals and grants the rules do not allow: a sender's recall refused within the
    window (COURIER_RECALL_SECONDS after the message's ts: answered before then, the
    server handled it before then) or granted after it (sent after it, with no other
    recall of the message sent before it was answered, which would make it a repeat); an
    edit of the sender's refused though the message is not recalled, or granted after a
    recall of it was answered; a member's mute refused. Other errors (`throttled`,
    `internal`) say nothing: the function may have failed after its write."""
    server = server_index(history)
    found: list[str] = []
    for r in history.recalls:
        message = server.get((r.channel, r.seq))
        if message is None or message.sender != user_of(r.device):
            continue
        due = message.ts + history.recall_seconds * 1000
        where = f"{r.device}: recall of {r.channel}#{r.seq}"
        if r.answer == "forbidden" and r.answered is not None and r.answered < due:
            found.append(f"{where} refused {(r.answered - message.ts) / 1000:.1f} s after it")
        repeat = any(
            o is not r and o.channel == r.channel and o.seq == r.seq and o.sent < (r.answered or 0)
            for o in history.recalls
        )
        if r.answer == "recall" and r.sent > due and not repeat:
            found.append(f"{where} granted {(r.sent - message.ts) / 1000:.1f} s after it")
    for e in history.edits:
        message = server.get((e.channel, e.seq))
        if message is None or message.sender != user_of(e.device):
            continue
        where = f"{e.device}: edit of {e.channel}#{e.seq}"
        if e.answer == "forbidden" and not message.recalled:
            found.append(f"{where} refused, and it is not recalled")
        if e.answer == "edit" and any(
            r.answer == "recall" and r.answered is not None and r.answered < e.sent
            for r in history.recalls
            if (r.channel, r.seq) == (e.channel, e.seq)
        ):
            found.append(f"{where} granted after its recall was answered")
    found += [
        f"{m.device}: mute of {m.channel} refused ({m.answer})"
        for m in history.mutes
        if m.answer in ("forbidden", "invalid")
    ]
    return found


def judge_revisions(history: History) -> Judged:
    """Each message a device holds against the server's: never recalled, nor at a higher
    version, nor with another body at the same version, than the server's. Held at an
    older revision (not recalled, or an older version): a violation if the SDK gave its
    store the newer one (`History.versions_seen`, `recalls_seen`), else excluded: the
    server tells a device of a recall or an edit once, and the SDK does not sync a message
    it holds again. Judged: the held messages the server holds recalled or edited, and
    any a device holds as such."""
    server = server_index(history)
    found: list[str] = []
    judged = excluded = 0
    for device, held in sorted(history.stores.items()):
        versions = history.versions_seen.get(device, {})
        recalls = history.recalls_seen.get(device, set())
        for mine in held:
            key = (mine.channel, mine.seq)
            theirs = server.get(key)
            if theirs is None or not (
                theirs.recalled or theirs.version or mine.recalled or mine.version
            ):
                continue
            where = f"{device}: {mine.channel}#{mine.seq}"
            if mine.recalled and not theirs.recalled:
                found.append(f"{where} recalled here, not on the server")
            elif theirs.recalled and not mine.recalled:
                if key not in recalls:
                    excluded += 1
                    continue
                found.append(f"{where} held, though its SDK was told of its recall")
            elif not theirs.recalled and mine.version > theirs.version:
                found.append(f"{where} at version {mine.version}, the server's {theirs.version}")
            elif not theirs.recalled and mine.version < theirs.version:
                if versions.get(key, 0) < theirs.version:
                    excluded += 1
                    continue
                found.append(
                    f"{where} at version {mine.version}, though its SDK was given "
                    f"version {theirs.version}"
                )
            elif not theirs.recalled and mine.body != theirs.body:
                found.append(f"{where} holds another body than the server's version")
            judged += 1
    return Judged(found, judged, excluded, "(device, revised message) pairs")


def judge_pushes(history: History) -> Judged:
    """Pushes the notifier must not have published: about a message recalled before its
    invocation began, or, in a channel surely muted from before it began until the push,
    about a message that does not mention the user. Judged: every push; excluded: those
    decided before such a recall or mute could be known (see the module's docstring)."""
    live = history.liveness
    if live is None or live.pushes is None:
        raise Unobservable("the run did not observe the push topic")
    sent = {(user_of(a.device), a.client_msg_no): a.mentions for a in history.attempts}
    mentioned = {
        key: sent.get((m.sender, m.client_msg_no), ()) for key, m in server_index(history).items()
    }
    gone = recalled(history)
    found: list[str] = []
    judged = excluded = 0
    for push in live.pushes:
        key = (push.channel, push.seq)
        where = f"{push.user}: push about {push.channel}#{push.seq}"
        if key in gone:
            known = [
                r.answered
                for r in history.recalls
                if (r.channel, r.seq) == key and r.answer == "recall" and r.answered is not None
            ]
            if not any(at < push.started for at in known):
                excluded += 1
                continue
            found.append(
                f"{where}, recalled {(push.started - min(known)) / 1000:.1f} s before "
                "the notifier began"
            )
        elif push.user not in mentioned.get(key, ()) and maybe_muted(
            history, push.user, push.channel, push.at
        ):
            if not surely_muted(history, push.user, push.channel, push.started, push.at):
                excluded += 1
                continue
            found.append(f"{where}, which does not mention them, in a channel they muted")
        judged += 1
    return Judged(found, judged, excluded, "pushes")
