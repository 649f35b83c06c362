"""Presence (PROTOCOL.md v1.1 "presence"; docs/protocol.md, "v1.1, part 2: presence"):
online while one connection lives, lastSeen when the last one closed, kept right when
$disconnect never comes; only users who share a conversation with the caller."""

from __future__ import annotations

from typing import Any

import pytest

from courier import connections
from tests.harness import Conn, Courier

MINUTE = 60_000
HOUR = 60 * MINUTE


def presence(courier: Courier, conn: Conn, users: Any) -> dict[str, Any]:
    reply = courier.frame(conn, {"action": "presence", "users": users})
    assert reply is not None
    return reply


def reported(courier: Courier, conn: Conn, users: list[str]) -> dict[str, Any]:
    reply = presence(courier, conn, users)
    assert reply["type"] == "presence", reply
    return dict(reply["users"])


def connect(courier: Courier, clock: list[int], user: str, device: str = "phone") -> Conn:
    return courier.connect(user, device, at_ms=clock[0])


def stored_connections(courier: Courier) -> set[str]:
    return {item["connectionId"]["S"] for item in courier.items("ConnectionsTable")}


@pytest.fixture
def alice(courier: Courier, clock: list[int]) -> Conn:
    """alice, who has a DM with bob (one message)."""
    conn = connect(courier, clock, "alice")
    courier.send(conn, "dm:alice:bob", "hi")
    return conn


def test_a_user_with_a_live_connection_is_online(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    connect(courier, clock, "bob")

    assert presence(courier, alice, ["bob"]) == {
        "type": "presence",
        "users": {"bob": {"online": True}},
    }


def test_after_disconnect_a_user_is_offline_with_last_seen_when_it_closed(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    bob = connect(courier, clock, "bob")
    clock[0] += 5_000
    closed_at = clock[0]
    courier.disconnect(bob)
    clock[0] += MINUTE

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": closed_at}}


def test_a_user_who_never_connected_has_no_last_seen(courier: Courier, alice: Conn) -> None:
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False}}


def test_with_two_devices_one_closing_leaves_the_user_online_and_last_seen_is_the_later_close(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    phone, laptop = connect(courier, clock, "bob"), connect(courier, clock, "bob", "laptop")
    clock[0] += 1_000
    courier.disconnect(laptop)
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}

    clock[0] += 2_000
    courier.disconnect(phone)

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": clock[0]}}


def test_last_seen_never_moves_back_when_closes_land_out_of_order(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    """Two devices close at once: the $disconnect stamped later may be written first."""
    phone, laptop = connect(courier, clock, "bob"), connect(courier, clock, "bob", "laptop")
    clock[0] += 3_000
    later = clock[0]
    courier.disconnect(phone)
    clock[0] -= 1_000
    courier.disconnect(laptop)

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": later}}


def test_a_connection_gone_without_disconnect_is_offline_once_idle_10_minutes_and_its_row_deleted(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    connected_at = clock[0]
    bob = connect(courier, clock, "bob")
    courier.drop(bob)  # the socket died; API Gateway never sent $disconnect
    clock[0] += 10 * MINUTE - 1
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}
    assert courier.connections.checked == []

    clock[0] += 1

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": connected_at}}
    assert courier.connections.checked == [bob.connection_id]
    assert bob.connection_id not in stored_connections(courier)
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": connected_at}}
    assert courier.connections.checked == [bob.connection_id]  # the row is gone: no call


def test_a_connection_a_post_finds_gone_leaves_its_last_known_moment_as_last_seen(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    connected_at = clock[0]
    bob = connect(courier, clock, "bob")
    courier.drop(bob)
    clock[0] += MINUTE
    courier.send(alice, "dm:alice:bob", "still there?")  # 410: the row is deleted

    assert bob.connection_id not in stored_connections(courier)
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": connected_at}}
    assert courier.connections.checked == []


def test_a_verified_connection_costs_no_gateway_call_for_the_next_10_minutes(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    bob = connect(courier, clock, "bob")
    clock[0] += 10 * MINUTE
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}
    assert courier.connections.checked == [bob.connection_id]

    clock[0] += 10 * MINUTE - 1
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}
    assert courier.connections.checked == [bob.connection_id]

    clock[0] += 1
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}
    assert courier.connections.checked == [bob.connection_id] * 2


def test_a_connection_older_than_2_hours_is_offline_without_a_gateway_call(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    bob = connect(courier, clock, "bob")
    clock[0] += 2 * HOUR - 1
    verified_at = clock[0]
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}  # GetConnection: 200
    assert courier.connections.checked == [bob.connection_id]

    clock[0] += 1

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": verified_at}}
    assert courier.connections.checked == [bob.connection_id]
    assert bob.connection_id not in stored_connections(courier)


def test_one_live_device_keeps_the_user_online_beside_a_stale_one(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    phone = connect(courier, clock, "bob")
    courier.drop(phone)
    clock[0] += 30 * MINUTE
    laptop = connect(courier, clock, "bob", "laptop")
    clock[0] += 15 * MINUTE  # both idle for more than 10 minutes: both asked about

    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}
    assert courier.connections.checked == [phone.connection_id, laptop.connection_id]
    assert stored_connections(courier) == {alice.connection_id, laptop.connection_id}
    courier.disconnect(laptop)
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": clock[0]}}


def test_a_check_racing_disconnect_does_not_bring_the_row_back(
    courier: Courier, clock: list[int], alice: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = connect(courier, clock, "bob")
    clock[0] += 11 * MINUTE
    ask = courier.connections.get

    def closing_meanwhile(connection_id: str) -> Any:
        found = ask(connection_id)  # 200 ...
        courier.disconnect(bob)  # ... and $disconnect runs before activeAt is written
        return found

    monkeypatch.setattr(courier.connections, "get", closing_meanwhile)
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": True}}

    assert stored_connections(courier) == {alice.connection_id}
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": clock[0]}}


def test_users_who_share_no_conversation_are_left_out(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    # Given bob (a DM with a message) and carol (a group alice belongs to) ...
    courier.group("team", ["alice", "carol"])
    # ... dave, whose DM with alice has no message (typing leaves alice a membership row),
    courier.frame(alice, {"action": "typing", "channel": "dm:alice:dave"})
    # erin, of a group alice has left, and mallory, whom alice never met
    courier.group("old", ["alice", "erin"])
    courier.group("old", ["erin", "frank"])
    for user in ("bob", "carol", "dave", "erin", "mallory"):
        connect(courier, clock, user)

    users = reported(courier, alice, ["bob", "carol", "dave", "erin", "mallory"])

    assert users == {"bob": {"online": True}, "carol": {"online": True}}
    assert reported(courier, alice, ["mallory"]) == {}


def test_group_mates_are_found_past_one_batch_of_membership_keys(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    """3 groups x 40 asked users is 120 keys: each user's group rows are queried instead."""
    for group in ("g1", "g2"):
        courier.group(group, ["alice", "zed"])
    courier.group("g3", ["alice", "carol"])
    courier.group("other", ["erin", "zed"])
    strangers = [f"s{i:02d}" for i in range(37)]
    connect(courier, clock, "carol")

    users = reported(courier, alice, [*strangers, "carol", "erin", "zed"])

    assert users == {"carol": {"online": True}, "zed": {"online": False}}


def test_the_caller_is_left_out_of_their_own_presence(
    courier: Courier, clock: list[int], alice: Conn
) -> None:
    courier.group("team", ["alice", "bob"])

    assert reported(courier, alice, ["alice", "bob"]) == {"bob": {"online": False}}


@pytest.mark.parametrize(
    "users",
    [
        None,
        "bob",
        {"bob": True},
        [],
        [f"u{i}" for i in range(101)],
        ["bob", 7],
        ["bob", None],
        ["bad/id"],
        [""],
        ["a" * 65],
        ["bob", "bob"],
    ],
    ids=[
        "missing",
        "string",
        "object",
        "empty",
        "101-users",
        "int",
        "null",
        "slash",
        "empty-id",
        "65-chars",
        "duplicate",
    ],
)
def test_bad_users_are_invalid_and_change_nothing(
    courier: Courier, clock: list[int], alice: Conn, users: Any
) -> None:
    # Given bob's stale row, which a valid presence call would delete
    courier.drop(connect(courier, clock, "bob"))
    clock[0] += 11 * MINUTE
    before = courier.state()

    reply = presence(courier, alice, users)

    assert (reply["type"], reply["code"]) == ("error", "invalid")
    assert courier.state() == before
    assert courier.connections.checked == []


def test_100_users_are_accepted(courier: Courier, clock: list[int], alice: Conn) -> None:
    courier.group("team", ["alice", "bob"])
    others = [f"u{i:02d}" for i in range(99)]

    assert reported(courier, alice, ["bob", *others]) == {"bob": {"online": False}}


def test_presence_asked_while_disconnect_runs_never_reports_offline_without_last_seen(
    courier: Courier, clock: list[int], alice: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$disconnect makes two writes (lastSeen, the row's delete): presence landing between
    them must find the user's row (online) or the close's lastSeen, never neither, which
    it would report as offline with no lastSeen. The moment between is the one before
    lastSeen is written: the row must still be there."""
    bob = connect(courier, clock, "bob")
    clock[0] += 5_000
    original = connections.record_last_seen
    rows_meanwhile: list[set[str]] = []

    def before_last_seen(*args: Any, **kwargs: Any) -> Any:
        rows_meanwhile.append(stored_connections(courier))
        return original(*args, **kwargs)

    monkeypatch.setattr(connections, "record_last_seen", before_last_seen)
    courier.disconnect(bob)

    assert rows_meanwhile == [{alice.connection_id, bob.connection_id}]
    assert reported(courier, alice, ["bob"]) == {"bob": {"online": False, "lastSeen": clock[0]}}
