"""Who shares a conversation with a user: the users presence may report to them.

PROTOCOL.md v1.1 "presence": a DM with at least one message, or a group both belong to
now. Everything starts from the asking user's side, their membership rows (one strongly
consistent Query), then:

- DMs: the counter rows of the DMs they have with the asked users (one BatchGetItem of
  at most 100 keys; eventually consistent, 0.5 read unit a key: lastSeq only grows);
- groups: for each asked user who is no DM contact, whether they belong now to one of
  the asker's groups. With u such users and g groups, u * g <= 100 membership keys are
  one strongly consistent BatchGetItem (u * g read units, one round trip); past that,
  one strongly consistent Query of each user's group rows (begins_with "g:": u calls,
  1 read unit per 4 KB of the rows, which are under 100 bytes each).
"""

from __future__ import annotations

from courier.ids import dm_channel_id
from courier.membership import memberships_of
from courier.tables import Tables

GROUP_KEYS_PER_BATCH = 100  # BatchGetItem's limit


def shared_with(tables: Tables, user: str, others: list[str]) -> list[str]:
    """Those of `others` (never `user`) who share a conversation with `user`, in order."""
    mine = memberships_of(tables, user)
    channels = {m.channel for m in mine}
    groups = {m.channel for m in mine if m.channel.startswith("g:") and m.joined_at}
    dms = {dm_channel_id(user, other): other for other in others}
    talked = [channel for channel in dms if channel in channels]
    shared = {
        dms[row.channel]
        for row in (tables.channels.batch_get(talked) if talked else [])
        if int(row.last_seq or 0) > 0
    }
    rest = [other for other in others if other not in shared]
    if rest and groups:
        shared |= group_mates(tables, rest, groups)
    return [other for other in others if other in shared]


def group_mates(tables: Tables, users: list[str], groups: set[str]) -> set[str]:
    """Those of `users` who belong now to one of `groups` (the cheaper read: see above)."""
    rows = tables.memberships
    if len(users) * len(groups) <= GROUP_KEYS_PER_BATCH:
        keys = [(user, group) for user in users for group in sorted(groups)]
        found = rows.batch_get(keys, consistent_read=True)
        return {row.user_id for row in found if row.joined_at is not None}
    return {
        user
        for user in users
        if any(
            row.channel in groups and row.joined_at is not None
            for row in rows.query(user, rows.channel.startswith("g:"), consistent_read=True)
        )
    }
