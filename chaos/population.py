"""Who takes part: users, their devices, their DMs and groups, drawn from the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from chaos.history import device_name, dm_users

DM_PEERS = 2  # DMs each user starts
SECOND_DEVICE = 0.4  # share of users with a laptop besides their phone
GROUP_SIZES = (3, 6)


@dataclass(frozen=True)
class Population:
    users: list[str]
    devices: dict[str, list[str]]  # user -> `user/device`
    dms: list[str]
    groups: dict[str, list[str]]  # group name (without `g:`) -> members
    deaf: tuple[str, ...] = ()  # the devices whose acks are lost
    absent: tuple[str, ...] = ()  # group members who never connect (no device)

    def members(self) -> dict[str, list[str]]:
        """Every channel of the run and its users."""
        found = {dm: list(dm_users(dm) or ()) for dm in self.dms}
        return found | {f"g:{name}": members for name, members in self.groups.items()}

    def channels_of(self, user: str) -> list[str]:
        return [channel for channel, users in self.members().items() if user in users]


def populate(
    users: int, groups: int, rng: random.Random, *, deaf: int = 0, absent: int = 0
) -> Population:
    """`users` users with their DMs and `groups` groups, then `deaf` listeners (`z00`...):
    one phone each, in every group, no DM; and `absent` members (`a00`...): in every
    group, no device, no DM (drawn last: the rest is the same without them)."""
    names = [f"u{i:02d}" for i in range(users)]
    devices = {
        user: [device_name(user, "phone")]
        + ([device_name(user, "laptop")] if rng.random() < SECOND_DEVICE else [])
        for user in names
    }
    if names and all(len(found) == 1 for found in devices.values()):
        devices[names[0]].append(device_name(names[0], "laptop"))  # always a multi-device user
    dms: set[str] = set()
    for user in names:
        for peer in rng.sample([u for u in names if u != user], min(DM_PEERS, users - 1)):
            low, high = sorted((user, peer))
            dms.add(f"dm:{low}:{high}")
    group_members = {
        f"team{i}": sorted(rng.sample(names, min(users, rng.randint(*GROUP_SIZES))))
        for i in range(groups)
    }
    listeners = [f"z{i:02d}" for i in range(deaf)]
    for user in listeners:
        devices[user] = [device_name(user, "phone")]
    missing = [f"a{i:02d}" for i in range(absent)]
    for members in group_members.values():
        members.extend(listeners + missing)
    return Population(
        names + listeners + missing,
        devices,
        sorted(dms),
        group_members,
        tuple(devices[user][0] for user in listeners),
        tuple(missing),
    )
