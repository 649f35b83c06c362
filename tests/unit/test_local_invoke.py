"""`make invoke` (local/invoke.py): each sample event runs on the scene it needs
(local/seed.py, local/seed_jobs.py) and shows what its handler sent out (frames posted to
a connected receiver, jobs queued, pushes published); a bad event path is one line on
stderr, not a traceback."""

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
from local.samples import load_event
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


def test_the_admin_recall_sample_recalls_the_seeded_message_and_members_get_the_frame() -> None:
    outcome = run_sample("admin", "admin-recall-message")

    assert outcome["result"]["statusCode"] == 200, outcome["result"]
    assert reply_of(outcome) == {"channel": "dm:alice:bob", "seq": 1, "recalled": True}
    [frame] = outcome["posted"]["seeded-bob"]
    assert (frame["type"], frame["channel"], frame["seq"]) == ("recall", "dm:alice:bob", 1)


def test_the_admin_unread_sample_counts_the_seeded_messages_from_a_peer() -> None:
    reply = reply_of(run_sample("admin", "admin-user-unread"))

    assert (reply["totalUnread"], reply["channels"]) == (2, {"dm:alice:bob": 2}), reply


def test_the_stream_sample_probes_the_receiver_connected_before_its_message() -> None:
    outcome = run_sample("delivery_worker", "delivery_worker-insert")

    probe = {"user": "bob", "device": "phone", "channel": "dm:alice:bob", "seq": 1, "attempt": 1}
    assert outcome["queued"] == {"RetryQueue": [probe]}  # no push: bob was online at the commit
    assert outcome["posted"] == {}  # the durable path posts nothing itself


def test_the_fanout_plan_sample_queues_a_chunk_of_the_seeded_members() -> None:
    outcome = run_sample("fanout_worker", "fanout_worker-plan")

    [chunk] = outcome["queued"]["FanoutQueue.fifo"]
    assert chunk["users"] == ["alice", "bob", "carol"]
    assert (chunk["message"]["channel"], chunk["message"]["seq"]) == ("g:team", 1)


def test_the_fanout_chunk_sample_posts_the_stored_message_to_the_connected_members() -> None:
    outcome = run_sample("fanout_worker", "fanout_worker-chunk")

    assert set(outcome["posted"]) == {"seeded-bob", "seeded-carol"}  # not the sender's socket
    for frames in outcome["posted"].values():
        assert [(f["type"], f["channel"], f["seq"]) for f in frames] == [("message", "g:team", 1)]


def test_the_retry_probe_sample_redelivers_the_seeded_message_to_the_receiver() -> None:
    outcome = run_sample("retry_worker", "retry_worker-probe")

    [frame] = outcome["posted"]["seeded-bob"]
    assert (frame["type"], frame["seq"], frame["from"]) == ("message", 1, "alice")
    [follow_up] = outcome["queued"]["RetryQueue"]
    assert (follow_up["chain"], follow_up["attempt"]) == ("1.1", 2)


def test_the_retry_follow_up_sample_continues_the_chain_its_probes_started() -> None:
    outcome = run_sample("retry_worker", "retry_worker-follow-up")

    assert [f["seq"] for f in outcome["posted"]["seeded-bob"]] == [1, 2, 3]
    [follow_up] = outcome["queued"]["RetryQueue"]
    assert (follow_up["chain"], follow_up["seq"], follow_up["attempt"]) == ("1.1", 3, 3)


def test_the_notifier_sample_publishes_the_offline_members_push() -> None:
    outcome = run_sample("notifier", "notifier-offline")

    [push] = outcome["published"]
    assert push == {
        "user": "bob",
        "channel": "dm:alice:bob",
        "seq": 1,
        "from": "alice",
        "preview": "seeded message 1",
        "badge": 1,
    }


@pytest.mark.parametrize(
    ("function", "sample"),
    [
        ("retry_worker", "retry_worker-probe"),
        ("retry_worker", "retry_worker-follow-up"),
        ("fanout_worker", "fanout_worker-plan"),
        ("fanout_worker", "fanout_worker-chunk"),
        ("notifier", "notifier-offline"),
    ],
)
def test_with_empty_tables_a_worker_sample_posts_and_publishes_nothing(
    function: str, sample: str
) -> None:
    outcome = run_sample(function, sample, seeded=False)

    assert outcome["result"] == {"batchItemFailures": []}
    assert "seeded" not in outcome
    assert (outcome["posted"], outcome["published"]) == ({}, [])


def test_with_empty_tables_the_stream_sample_takes_the_receiver_for_offline() -> None:
    outcome = run_sample("delivery_worker", "delivery_worker-insert", seeded=False)

    assert outcome["queued"] == {
        "NotifyQueue": [{"user": "bob", "channel": "dm:alice:bob", "seq": 1}]
    }


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
