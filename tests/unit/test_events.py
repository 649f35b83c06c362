"""Every sample event in events/ runs through its function with `make invoke`'s machinery."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest

from courier.runtime import reset_services
from local.invoke import invoke
from local.samples import EVENTS_DIR
from tests.harness import divert_metrics

SAMPLES = sorted(EVENTS_DIR.glob("*.json"))
# What each sample gets back once `make invoke` has seeded the scene it needs
# (local/seed.py, local/seed_jobs.py): a group with members, messages, connected receivers.
EXPECTED = {
    "send-dm": "sendack",
    "send-group": "sendack",
    "ack": None,
    "read": "read",
    "sync-conversations": "conversations",
    "sync-messages": "messages",
    "default-ping": "pong",
    "default-unknown": "error",
    "connect": None,
    "disconnect": None,
    "recall": "recall",
    "edit": "edit",
    "mute": "mute",
    "receipts": "receipts",
    "typing": None,  # one-way: relayed, no reply
    "presence": "presence",
}


def function_of(sample: Path) -> str:
    return sample.stem.split("-")[0]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_sample_event_runs_through_its_function(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    divert_metrics(monkeypatch)
    with mock.patch.dict(os.environ):
        for name in ("COURIER_JWT_SECRET", "COURIER_WS_ENDPOINT"):
            os.environ.pop(name, None)  # the local defaults signed the samples' tokens
        reset_services()
        result = invoke(function_of(sample), json.loads(sample.read_text()))["result"]
    reset_services()

    if function_of(sample) == "authorizer":
        effect = result["policyDocument"]["Statement"][0]["Effect"]
        assert effect == ("Deny" if "forged" in sample.stem else "Allow")
    elif function_of(sample) == "admin":
        assert result["statusCode"] == 200, result  # the recall too: message 1 is seeded
    elif function_of(sample) in {"retry_worker", "fanout_worker", "notifier", "delivery_worker"}:
        assert result == {"batchItemFailures": []}
    else:
        assert result["statusCode"] == 200
        reply = json.loads(result["body"])["type"] if "body" in result else None
        assert reply == EXPECTED[sample.stem]


def test_every_function_has_a_sample_event() -> None:
    functions = {p.parent.name for p in (EVENTS_DIR.parent / "functions").glob("*/app.py")}
    assert functions == {function_of(s) for s in SAMPLES}
