"""The small world bad-input and fuzz tests start from (alice and bob with a DM of two
messages and a group g:team; carol outside both), and how they read a frame."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.harness import Conn, Courier

DM, TEAM = "dm:alice:bob", "g:team"


@dataclass(frozen=True)
class World:
    courier: Courier
    conns: dict[str, Conn]


def make_world(courier: Courier) -> World:
    conns = {name: courier.connect(name) for name in ("alice", "bob", "carol")}
    courier.group("team", ["alice", "bob"])
    courier.send(conns["alice"], DM, "m1")
    courier.send(conns["bob"], DM, "m2")
    courier.send(conns["bob"], TEAM, "t1")
    courier.ack(conns["bob"], DM, 1)
    courier.read(conns["alice"], TEAM, 1)
    return World(courier, conns)


def strict_parse(text: str) -> Any:
    """What the frame says, if it is JSON at all (NaN/Infinity are not); else None."""

    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return None
