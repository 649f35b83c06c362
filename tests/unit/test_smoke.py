from tests.harness import Courier


def test_dm_round_trip(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    ack = courier.send(alice, "dm:alice:bob", "m1")
    assert ack["seq"] == 1 and ack["duplicate"] is False
    assert courier.posted(bob, "message")[0]["seq"] == 1
    convs = courier.sync(bob)
    assert convs["totalUnread"] == 1, convs
    r = courier.read(bob, "dm:alice:bob", 5)
    assert r == {"type": "read", "channel": "dm:alice:bob", "readSeq": 1, "unread": 0}
