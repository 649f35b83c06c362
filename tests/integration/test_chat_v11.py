"""The chat CLI's v1.1 part 2 against the local stack, on the real screen: the other user
opening a DM marks the person's last message "seen", and their keystrokes show as "is
typing…" until their message arrives. (This stack serves no presence yet: asking for it
must cost the screen nothing.)"""

from __future__ import annotations

from tests.integration.test_chat import TAB, chat, run, until


def test_a_read_shows_as_seen_and_keystrokes_as_typing(stack_url: str) -> None:
    async def scenario() -> None:
        async with (
            chat(stack_url, "--user", "chat-amy") as amy,
            chat(stack_url, "--user", "chat-ben") as ben,
        ):
            await until("both connected", lambda: amy.session.online and ben.session.online)
            amy.type("/dm chat-ben\r")
            amy.type("are you there?\r")
            await until("sent", lambda: "(sending…)" not in amy.screen("body"))
            assert "seen" not in amy.screen("body")

            await until("ben gets it", lambda: ben.unread("dm:chat-amy:chat-ben") == 1)
            ben.type(TAB)  # opens the DM, which reads it
            await until("seen", lambda: "chat-amy: are you there?  ✓ seen" in amy.screen("body"))

            ben.type("yes")
            await until("typing", lambda: "chat-ben is typing…" in amy.screen("header"))
            ben.type("\r")
            await until("ben's reply", lambda: "chat-ben: yes" in amy.screen("body"))
            assert "typing" not in amy.screen("header")
            assert (amy.screen("notice"), ben.screen("notice")) == ("", "")

    run(scenario)
