"""`make chaos` in short: a small run with faults on both sides and a fixed seed keeps
every guarantee, and cannot pass vacuously: the drain finished, every kind of fault fired
(the first chance of each kind fires by construction), the server really redelivered (a
listener never gets its acks through), the v1.1 operations happened (each device recalls,
edits, mutes and mentions by construction) and the liveness, revision, push and receipt
lines judged something (`send` dying after its commit included, no message was late to a
connected device and no offline member went without its push).

The run starts a stack of its own (retry and fan-out settings of its own), so it runs in
a process of its own: one stack per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 60
MAX_RETRIES = 2
SHORT_RUN = [
    *("--seed", "5", "--users", "5", "--groups", "2"),
    *("--messages", str(MESSAGES), "--duration", "8"),
    *("--max-retries", str(MAX_RETRIES), "--visibility-seconds", "5"),
    # the first chance of each kind fires anyway; these rates make the run busy with faults
    *("--storm-seconds", "2", "--cut-send", "0.1", "--duplicate-out", "0.1"),
    *("--drop-out", "0.05", "--conflict", "0.1", "--gone", "0.05", "--invocation", "0.05"),
    *("--crash-after-commit", "0.05"),
    *("--offline-share", "0.25"),  # offline members with messages for them: pushes to judge
    *("--deaf", "1"),  # a listener whose acks never arrive: the server must retry
    *("--absent", "1"),  # a member who never connects: pushes owed, judged every run
]
NETWORK_FAULTS = ("drop_ack", "drop_out", "duplicate_out", "cut_send", "drop_in", "duplicate_in")
SERVER_FAULTS = (
    "crash",
    "throttle",
    "conflict",
    "gone",
    "limit",
    "duplicate_job",
    "invocation",
    "crash_after_commit",
)


def test_a_short_chaos_run_keeps_every_guarantee_under_every_kind_of_fault(
    tmp_path: Path,
) -> None:
    report = tmp_path / "chaos.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["layers/courier", "client", "."])}
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "chaos", *SHORT_RUN, "--json", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.exists(), done.stderr[-3000:]
    result = json.loads(report.read_text())

    assert result["result"] == "pass", done.stdout  # not inconclusive: the drain finished
    assert result["violations"] == dict.fromkeys(result["violations"], 0), done.stdout
    assert result["violations"]["late_deliveries"] == 0, done.stdout
    assert result["violations"]["missed_notifications"] == 0, done.stdout
    assert result["inconclusive"] == {}, done.stdout  # both lines judged something
    assert done.returncode == 0, done.stderr[-3000:]
    counts = result["counts"]
    assert counts["attempted"] == counts["acknowledged"] == counts["stored"] == MESSAGES
    network, server = result["faults"]["network"], result["faults"]["server"]
    assert {kind: network.get(kind, 0) > 0 for kind in NETWORK_FAULTS} == dict.fromkeys(
        NETWORK_FAULTS, True
    )
    assert network["storm"] > 0 and network["storm_cut"] > 0
    assert {kind: server.get(kind, 0) > 0 for kind in SERVER_FAULTS} == dict.fromkeys(
        SERVER_FAULTS, True
    )
    assert network["deaf_ack"] > 0
    # every device (the deaf listener aside) recalls, edits and mutes until the server
    # grants it, and its first send mentions someone: chaos/workload.py FORCED_AT
    operations, devices = result["operations"], result["population"]["devices"]
    actors = sum(len(names) for names in devices.values()) - len(result["population"]["deaf"])
    granted = {kind: operations[kind].get(kind[:-1], 0) for kind in ("recalls", "edits", "mutes")}
    assert min(granted.values()) > 0, operations
    assert operations["mentions"]["sends"] >= actors, operations
    assert operations["server"]["recalled"] > 0 and operations["server"]["edited"] > 0
    # a whole retry chain re-posted an un-acked message (fan-out jobs handed out twice
    # post 2 copies at most; a retry chain's spare jobs post nothing)
    assert counts["max_copies"] == 1 + MAX_RETRIES, counts
