"""The full-screen terminal UI: status bar, conversations | messages, notice, input line.

It draws the session's snapshot and forwards keys and lines to it; nothing else.
"""

from __future__ import annotations

from prompt_toolkit.application import Application, create_app_session
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.data_structures import Point
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import FormattedTextControl, HSplit, Layout, VSplit, Window
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style
from prompt_toolkit.widgets import TextArea

from courier_chat import view
from courier_chat.session import ChatSession, Snapshot

STYLE = Style.from_dict(
    {
        "status": "bg:#303030 #d0d0d0",
        "status.online": "#5fd75f bold",
        "status.offline": "#ffaf00 bold",
        "status.unread": "#ff8787 bold",
        "unread": "bold",
        "selected": "reverse",
        "badge": "bg:#d70000 #ffffff bold noreverse",
        "badge.muted": "bg:#585858 #ffffff noreverse",
        "badge.mention": "bg:#5f5fd7 #ffffff bold noreverse",
        "muted": "#808080",
        "online": "#5fd75f bold noreverse",
        "seen": "#808080",
        "typing": "nobold #87afff italic",
        "recalled": "#808080 italic",
        "edited": "#808080",
        "header": "bold",
        "header.channel": "nobold #808080",
        "time": "#808080",
        "sender": "#5fafff bold",
        "sender.me": "#87d787",
        "pending": "#808080 italic",
        "new": "#ff8787",
        "hint": "#808080",
        "notice": "#87afff",
        "notice.error": "#ff5f5f bold",
        "hints": "#808080",
        "rule": "#585858",
    }
)
DEFAULT_HEIGHT = 20  # before the first render


class ChatScreen:
    def __init__(
        self, session: ChatSession, *, input: Input | None = None, output: Output | None = None
    ) -> None:
        self.session = session
        self._paging_up = False
        self.input_line = TextArea(
            height=1,
            multiline=False,
            prompt=lambda: self._snapshot().prompt,
            accept_handler=self._accept,
        )
        self.input_line.buffer.on_text_changed += self._typed
        self.messages = Window(
            FormattedTextControl(
                lambda: self._snapshot().body,
                get_cursor_position=self._cursor,
                show_cursor=False,
            ),
            wrap_lines=True,
        )
        snapshot = self._snapshot
        root = HSplit(
            [
                Window(
                    FormattedTextControl(lambda: snapshot().status), height=1, style="class:status"
                ),
                VSplit(
                    [
                        Window(
                            FormattedTextControl(lambda: snapshot().conversation_list),
                            width=view.LIST_WIDTH,
                        ),
                        Window(width=1, char="│", style="class:rule"),
                        Window(width=1),
                        HSplit(
                            [
                                Window(FormattedTextControl(lambda: snapshot().header), height=1),
                                self.messages,
                            ]
                        ),
                    ]
                ),
                Window(FormattedTextControl(lambda: snapshot().notice), height=1),
                Window(height=1, char="─", style="class:rule"),
                self.input_line,
                Window(FormattedTextControl(view.HINTS), height=1, style="class:hints"),
            ]
        )
        self.app: Application[None] = Application(
            layout=Layout(root, focused_element=self.input_line),
            key_bindings=self._keys(),
            style=STYLE,
            full_screen=True,
            input=input,
            output=output,
        )

    async def run(self) -> None:
        """Until the person quits; the session is stopped however this ends."""
        self.session.on_change = self.app.invalidate
        self.session.on_quit = self.quit
        self.session.start()
        try:
            # Its own app session: the current app is per session, so screens can coexist.
            with create_app_session(input=self.app.input, output=self.app.output):
                await self.app.run_async()
        finally:
            await self.session.stop()

    def quit(self) -> None:
        if self.app.is_running and not self.app.is_done:
            self.app.exit()

    def _accept(self, buffer: Buffer) -> bool:
        self.session.submit(buffer.text)
        return False  # clear the line

    def _typed(self, buffer: Buffer) -> None:
        self.session.typed(buffer.text)

    def _snapshot(self) -> Snapshot:
        """The session's snapshot, with text wrapped to the terminal's current width."""
        self.session.fit(self.app.output.get_size().columns - view.LIST_WIDTH - 2)
        return self.session.snapshot()

    def _cursor(self) -> Point:
        """Where the messages window keeps its hidden cursor: it scrolls just enough to
        show it, so it goes to the top of the wanted view when paging up, else the bottom."""
        snapshot = self._snapshot()
        if snapshot.top:
            return Point(0, 0)
        bottom = max(0, snapshot.body_lines - 1 - self.session.scroll)
        if self.session.scroll and self._paging_up:
            return Point(0, max(0, bottom - self._height() + 1))
        return Point(0, bottom)

    def _height(self) -> int:
        info = self.messages.render_info
        return info.window_height if info is not None else DEFAULT_HEIGHT

    def _page(self, pages: int) -> None:
        """Scroll by whole pages (one line kept in view), never past the oldest message."""
        height = self._height()
        most = max(0, self._snapshot().body_lines - height)
        self._paging_up = pages > 0
        self.session.scroll_to(min(most, max(0, self.session.scroll + pages * (height - 1))))

    def _keys(self) -> KeyBindings:
        keys = KeyBindings()
        empty_line = Condition(lambda: not self.input_line.text)

        @keys.add("c-c")
        @keys.add("c-d", filter=empty_line)
        def _quit(event: KeyPressEvent) -> None:
            self.quit()

        @keys.add("tab")
        @keys.add("down")
        @keys.add("c-n")
        def _next(event: KeyPressEvent) -> None:
            self.session.select(1)

        @keys.add("s-tab")
        @keys.add("up")
        @keys.add("c-p")
        def _previous(event: KeyPressEvent) -> None:
            self.session.select(-1)

        @keys.add("pageup")
        def _older(event: KeyPressEvent) -> None:
            self._page(1)

        @keys.add("pagedown")
        def _newer(event: KeyPressEvent) -> None:
            self._page(-1)

        return keys
