"""What a line typed at the prompt means: a message to send, or a /command."""

from __future__ import annotations

import re
from dataclasses import dataclass

from courier_chat.channels import dm_channel, group_channel, is_channel_of, is_valid_id
from courier_client.mentions import MAX_MENTIONS

HELP_COLUMN = 25  # where the descriptions in HELP start
HELP = """\
Keys
  Enter                  send the line, or run the /command
  Tab, Down, Ctrl-N      next conversation (opening one marks it read)
  Shift-Tab, Up, Ctrl-P  previous conversation
  PageUp, PageDown       scroll the messages
  Ctrl-C, or Ctrl-D on an empty line: quit

Commands
  /dm USER               open your direct conversation with USER
  /group NAME A,B        create group NAME of you, A and B, and open it
                         (local stack; an existing group gets these members)
  /open #NAME            open a group you belong to (or /open USER)
  /read                  mark the open conversation read
  /recall                recall your latest message here
  /edit TEXT             replace the text of your latest message here
  /mute, /unmute         leave the open conversation out of the unread total, or not
  @USER in a message     mentions USER: it shows as @ beside their unread count
  ✓ seen                 the other user of a DM has read your last message
  ● beside a DM          its other user is online (asked on connecting and opening it)
  /help                  this help; any command or Tab hides it
  /quit                  leave (also /exit, /q)
  //text                 send a message that starts with "/"
"""


@dataclass(frozen=True)
class Say:
    text: str
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Open:
    channel: str


@dataclass(frozen=True)
class CreateGroup:
    group: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class MarkRead:
    pass


@dataclass(frozen=True)
class Recall:
    pass


@dataclass(frozen=True)
class Edit:
    text: str


@dataclass(frozen=True)
class Mute:
    muted: bool


@dataclass(frozen=True)
class ShowHelp:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Invalid:
    reason: str


Command = Say | Open | CreateGroup | MarkRead | Recall | Edit | Mute | ShowHelp | Quit | Invalid

_ID_RULE = "ids are 1-64 characters of A-Z a-z 0-9 _ . -"
# @user, not inside a word or an e-mail address; a dot that ends the sentence is not its id's
_MENTION = re.compile(r"(?<![\w@.-])@([A-Za-z0-9_.-]{1,64})")


def mentioned(text: str) -> tuple[str, ...]:
    """The users a message mentions with @user, each once, in order of first mention."""
    users = (match.group(1).rstrip(".") for match in _MENTION.finditer(text))
    return tuple(dict.fromkeys(user for user in users if user))


def _say(text: str) -> Command:
    mentions = mentioned(text)
    if len(mentions) > MAX_MENTIONS:
        return Invalid(f"a message mentions at most {MAX_MENTIONS} users, not {len(mentions)}")
    return Say(text, mentions)


def _open_dm(user: str, other: str) -> Command:
    if not is_valid_id(other):
        return Invalid(f"no such user id {other!r}: {_ID_RULE}")
    if other == user:
        return Invalid("a DM needs another user: /dm USER")
    return Open(dm_channel(user, other))


def _open(user: str, target: str) -> Command:
    if target.startswith("#"):
        target = group_channel(target[1:])
    if ":" not in target:
        return _open_dm(user, target)
    if not is_channel_of(target, user):
        return Invalid(f"{target} is not a conversation of yours")
    return Open(target)


def _create_group(user: str, args: list[str]) -> Command:
    if not args:
        return Invalid("usage: /group NAME A,B,...")
    name, members = args[0].removeprefix("#"), re.split(r"[,\s]+", " ".join(args[1:]))
    members = [m for m in members if m]
    bad = [m for m in [name, *members] if not is_valid_id(m)]
    if bad:
        return Invalid(f"bad id {bad[0]!r}: {_ID_RULE}")
    return CreateGroup(name, tuple(sorted({user, *members})))


def _simple(name: str) -> Command | None:
    if name in ("quit", "exit", "q"):
        return Quit()
    if name in ("help", "h", "?"):
        return ShowHelp()
    if name == "read":
        return MarkRead()
    if name == "recall":
        return Recall()
    if name in ("mute", "unmute"):
        return Mute(name == "mute")
    return None


def _one_argument(name: str, args: list[str], user: str) -> Command | None:
    if name not in ("dm", "open"):
        return None
    if len(args) != 1:
        return Invalid(f"usage: /{name} {'USER' if name == 'dm' else '#GROUP | USER'}")
    return _open_dm(user, args[0]) if name == "dm" else _open(user, args[0])


def parse(line: str, user: str) -> Command | None:
    """The command a line stands for; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/") or text.startswith("//"):
        return _say(text.removeprefix("/"))
    words = text[1:].split()
    if not words:
        return Invalid("a command follows the /: /help lists them")
    name, args = words[0].lower(), words[1:]
    command = _simple(name) or _one_argument(name, args, user)
    if command is None and name == "group":
        command = _create_group(user, args)
    if command is None and name == "edit":
        rest = text[1:].split(maxsplit=1)
        command = Edit(rest[1]) if len(rest) == 2 else Invalid("usage: /edit TEXT")
    return command or Invalid(f"unknown command /{name}: /help lists them")
