"""The reference SDK against the local stack, v1.1 part 1: after mentions, an edit, a
recall and a mute, the SDK's unread, mentions and total match the server's."""

from __future__ import annotations

import aiohttp

from courier_client import CourierClient, Store
from tests.integration.sdk_events import next_event
from tests.integration.wire import put_group, run, token

ALICE, BOB = "alice.v11", "bob.v11"
GROUP = "g:v11"


async def admin_unread(session: aiohttp.ClientSession, url: str, user: str) -> dict[str, object]:
    async with session.get(f"{url}/admin/users/{user}/unread") as reply:
        assert reply.status == 200, await reply.text()
        return dict(await reply.json())


def test_the_sdk_counts_unread_and_mentions_as_the_server_does_through_recall_edit_and_mute(
    stack_url: str,
) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        await put_group(session, stack_url, "v11", [ALICE, BOB])
        alice_jwt = await token(session, stack_url, ALICE)
        bob_jwt = await token(session, stack_url, BOB)
        alice = CourierClient(stack_url, alice_jwt, Store(":memory:"), backoff_base=0.05)
        bob = CourierClient(stack_url, bob_jwt, Store(":memory:"), backoff_base=0.05)
        await alice.connect()
        await bob.connect()

        for n in range(3):
            await alice.send(GROUP, {"text": f"m{n}"}, mentions=[BOB] if n != 1 else [])
            await next_event(alice, "sendack")
            await next_event(bob, "message")
        await alice.edit(GROUP, 1, {"text": "m0, edited"})
        await next_event(bob, "edit")
        await alice.recall(GROUP, 3)
        await next_event(bob, "recall")
        await bob.mute(GROUP, True)

        server = await admin_unread(session, stack_url, BOB)
        assert server["channels"] == {GROUP: 2} and server["mentions"] == {GROUP: 1}
        assert server["muted"] == [GROUP] and server["totalUnread"] == 0
        assert (bob.unread(GROUP), bob.mentions(GROUP), bob.total_unread()) == (2, 1, 0)
        assert bob.muted(GROUP)
        [first, _second, third] = bob.store.messages(GROUP)
        assert first["body"] == {"text": "m0, edited"} and first["version"] == 1
        assert third.get("recalled") is True and third.get("body") is None

        for client in (alice, bob):
            await client.close()
            client.store.close()

    run(scenario, timeout=40)
