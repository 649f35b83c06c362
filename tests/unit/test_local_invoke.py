"""`make invoke` (local/invoke.py): each sample WebSocket event runs on the scene it needs
(local/seed.py), shows the frames its handler posted to a connected receiver, and a bad
event path is one line on stderr, not a traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from courier.runtime import reset_services
from local.invoke import invoke, main
from tests.events import load_event
from tests.harness import divert_metrics


@pytest.fixture(autouse=True)
def local_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As `make invoke` runs: the local defaults (which signed the samples' tokens)."""
    divert_metrics(monkeypatch)
    with mock.patch.dict(os.environ):
        for name in ("COURIER_JWT_SECRET", "COURIER_WS_ENDPOINT"):
            os.environ.pop(name, None)
        reset_services()
        yield
    reset_services()


def run_sample(function: str, sample: str, *, seeded: bool = True) -> dict[str, Any]:
    return invoke(function, load_event(sample), seeded=seeded)


def reply_of(outcome: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(outcome["result"]["body"])
    return reply


def test_the_group_send_sample_is_accepted_and_reaches_the_seeded_members() -> None:
    outcome = run_sample("send", "send-group")

    ack = reply_of(outcome)
    assert (ack["type"], ack["channel"], ack["seq"]) == ("sendack", "g:team", 2), ack
    message = {k: v for k, v in ack.items() if k not in {"type", "duplicate"}}
    expected = {"type": "message", **message, "from": "alice", "body": {"text": "hello team"}}
    assert outcome["posted"] == {"seeded-bob": [expected], "seeded-carol": [expected]}


def test_the_dm_send_sample_shows_the_frames_posted_to_the_receiver() -> None:
    outcome = run_sample("send", "send-dm")

    ack = reply_of(outcome)
    assert ack["type"] == "sendack", ack
    [message, receipt] = outcome["posted"]["seeded-bob"]
    assert (message["type"], message["seq"], message["body"]) == (
        "message",
        ack["seq"],
        {"text": "hi"},
    )
    assert receipt == {"type": "receipt", "channel": "dm:alice:bob", "user": "alice", "readSeq": 2}
    assert set(outcome["posted"]) == {"seeded-bob"}


@pytest.mark.parametrize(
    ("function", "sample", "kind"), [("recall", "recall", "recall"), ("edit", "edit", "edit")]
)
def test_recall_and_edit_samples_act_on_a_seeded_message_of_the_callers(
    function: str, sample: str, kind: str
) -> None:
    outcome = run_sample(function, sample)

    reply = reply_of(outcome)
    assert (reply["type"], reply["seq"]) == (kind, 1), reply
    # only the handler's own frame: the seeding's message frames are not shown
    assert outcome["posted"] == {"seeded-bob": [{k: v for k, v in reply.items()}]}


def test_the_presence_sample_reports_the_seeded_dm_peer_online_and_leaves_carol_out() -> None:
    reply = reply_of(run_sample("presence", "presence"))

    assert reply == {"type": "presence", "users": {"bob": {"online": True}}}


def test_the_typing_sample_reaches_the_receiver() -> None:
    outcome = run_sample("typing", "typing")

    assert outcome["posted"] == {
        "seeded-bob": [{"type": "typing", "channel": "dm:alice:bob", "user": "alice"}]
    }


def test_with_empty_tables_the_group_send_sample_is_forbidden_as_before() -> None:
    outcome = run_sample("send", "send-group", seeded=False)

    assert reply_of(outcome)["code"] == "forbidden"
    assert "seeded" not in outcome and outcome["posted"] == {}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not JSON"),
    ],
    ids=["missing", "not-json", "array", "not-utf8"],
)
def test_an_unusable_event_file_is_one_error_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, problem: str
) -> None:
    path = tmp_path / "event.json"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)

    status = main(["send", str(path)])

    out, err = capsys.readouterr()
    assert status != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"make invoke: cannot use event {path}: ")
    assert problem in err and "Traceback" not in err
