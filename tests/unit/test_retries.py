"""Bounded retries (DESIGN.md guarantee 5): at most 1 + MAX_RETRIES copies per message per
device, even when SQS delivers a job twice; none to offline devices; unread untouched.

Time is not waited for: the tests run each queued job by hand, whatever its DelaySeconds.
"""

from __future__ import annotations

import time
import warnings

import pytest

from courier import actions, retry, retry_chains
from tests.aws_calls import recording
from tests.harness import Conn, Courier

DM = "dm:alice:bob"
MAX_RETRIES = 5  # the default, set in harness.BASE_ENV


def copies(courier: Courier, conn: Conn, seq: int) -> int:
    return sum(1 for f in courier.posted(conn, "message") if f["seq"] == seq)


def run_retries(courier: Courier, *, twice: bool = False, rounds: int = 20) -> int:
    """Run retry jobs round after round until none is left; how many rounds ran."""
    for done in range(rounds):
        if not courier.drain("RetryQueue", twice=twice):
            return done
    raise AssertionError("retry jobs never ran out")


def test_a_device_that_never_acks_receives_exactly_1_plus_max_retries_copies(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    run_retries(courier)

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES
    assert courier.posted(alice) == []  # the sender's connection gets no retry


def test_a_device_that_acks_before_the_first_retry_falls_due_receives_one_copy(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.ack(bob, DM, 1)

    run_retries(courier)

    assert copies(courier, bob, 1) == 1


def test_a_device_that_acks_after_the_second_copy_receives_two(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drain("RetryQueue")  # the first retry: the second copy
    assert copies(courier, bob, 1) == 2

    courier.ack(bob, DM, 1)
    run_retries(courier)

    assert copies(courier, bob, 1) == 2


def test_retry_delays_start_at_the_base_and_double(courier: Courier) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    delays = []
    while jobs := courier.jobs("RetryQueue"):
        delays.append(jobs[0].delay_seconds)
        courier.drain("RetryQueue")
    assert len(delays) == MAX_RETRIES
    for attempt, delay in enumerate(delays, 1):
        assert 2 * 2 ** (attempt - 1) <= delay <= 2 * 2 ** (attempt - 1) * 1.1 + 1


def test_the_same_retry_job_delivered_twice_produces_no_extra_copy(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    run_retries(courier, twice=True)  # every batch carries every record twice

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES


def test_a_replayed_job_after_the_chain_ended_is_a_no_op(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    history = []
    while bodies := courier.drain("RetryQueue"):
        history += bodies

    for body in history:  # SQS hands every old job back once more
        courier.run_worker("retry_worker", [body])
    run_retries(courier)

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES


def test_retries_for_one_device_coalesce_into_one_chain_per_channel(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(3):
        courier.send(alice, DM, f"m{i}")
    assert len(courier.jobs("RetryQueue")) == 3  # one probe per message

    courier.drain("RetryQueue")

    assert len(courier.jobs("RetryQueue")) == 1  # one chain covers seq 1..3
    run_retries(courier)
    assert copies(courier, bob, 1) == 1 + MAX_RETRIES
    # seq 2 and 3 joined the chain after its first attempt: each probe posted its own seq
    # once (it may be the first live copy), the chain's later attempts did the rest
    assert [copies(courier, bob, seq) for seq in (2, 3)] == [1 + MAX_RETRIES] * 2


def test_a_message_joining_a_running_chain_never_exceeds_the_bound(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drain("RetryQueue")
    courier.drain("RetryQueue")  # the chain is at its second attempt
    courier.send(alice, DM, "m2")

    run_retries(courier, twice=True)

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES
    assert 2 <= copies(courier, bob, 2) <= 1 + MAX_RETRIES


def test_a_partial_ack_stops_retries_of_what_it_covers_only(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")
    courier.ack(bob, DM, 1)

    run_retries(courier)

    assert (copies(courier, bob, 1), copies(courier, bob, 2)) == (1, 1 + MAX_RETRIES)


def test_each_device_of_a_user_has_its_own_bound(courier: Courier) -> None:
    alice = courier.connect("alice")
    phone, tablet = courier.connect("bob"), courier.connect("bob", "tablet")
    courier.send(alice, DM, "m1")
    courier.ack(phone, DM, 1)

    run_retries(courier)

    assert (copies(courier, phone, 1), copies(courier, tablet, 1)) == (1, 1 + MAX_RETRIES)


def test_a_device_that_disconnects_stops_receiving_retries_and_sync_returns_everything(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drain("RetryQueue")
    courier.disconnect(bob)
    courier.send(alice, DM, "m2")  # bob is offline: no post, no retry

    run_retries(courier)

    assert (copies(courier, bob, 1), copies(courier, bob, 2)) == (2, 0)
    bob_again = courier.connect("bob")
    assert [m["seq"] for m in courier.all_messages(bob_again, DM)] == [1, 2]
    assert courier.unread("bob")["channels"] == {DM: 2}
    run_retries(courier)
    assert courier.posted(bob_again) == []  # reconnecting pushes no backlog


def test_a_retry_never_pushes_the_sending_connection_its_own_message(courier: Courier) -> None:
    # Found by the model test (test_model.py): a chain started by bob's message re-posted the
    # whole seq range to alice's phone, her own message included.
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "a1")  # posted to bob only
    courier.send(bob, DM, "b1")  # posted to alice: her phone's chain covers seq 2, not 1

    run_retries(courier)

    assert [f["seq"] for f in courier.posted(alice, "message")] == [2] * (1 + MAX_RETRIES)
    assert [f["seq"] for f in courier.posted(bob, "message")] == [1] * (1 + MAX_RETRIES)


def test_a_message_sent_while_the_device_was_offline_is_not_pushed_after_it_reconnects(
    courier: Courier,
) -> None:
    # Found by the model test: the chain of a message posted after the reconnect covered
    # the earlier one too, which the device had never been sent (an offline backlog push).
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.disconnect(bob)
    courier.send(alice, DM, "m1")  # bob is offline: no post, a notification
    bob_again = courier.connect("bob")
    courier.send(alice, DM, "m2")

    run_retries(courier)

    assert (copies(courier, bob_again, 1), copies(courier, bob_again, 2)) == (0, 1 + MAX_RETRIES)
    assert [m["seq"] for m in courier.all_messages(bob_again, DM)] == [1, 2]


def test_a_vanished_socket_gets_no_retries(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drop(bob)  # 410 from now on: the retry's post finds it gone and deletes it

    run_retries(courier)

    assert copies(courier, bob, 1) == 1
    stored = courier.dynamodb.scan(TableName=courier.tables["ConnectionsTable"])["Items"]
    assert bob.connection_id not in {i["connectionId"]["S"] for i in stored}


@pytest.mark.parametrize("twice", [False, True])
def test_unread_never_changes_because_of_a_retry(courier: Courier, twice: bool) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    bob_tablet = courier.connect("bob", "tablet")
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")
    courier.read(bob_tablet, DM, 2)  # read on one device; the phone never acks
    expected = {
        "user": "bob",
        "totalUnread": 0,
        "channels": {DM: 0},
        "muted": [],
        "mentions": {},
    }

    while courier.drain("RetryQueue", twice=twice):
        assert courier.unread("bob") == expected
        assert courier.sync(bob)["totalUnread"] == 0

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES  # retries kept arriving, unread stayed 0


def test_a_prompt_ack_makes_the_retry_probe_one_read_and_nothing_else(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.ack(bob, DM, 1)

    with recording() as calls:
        courier.drain("RetryQueue")

    assert calls.by_operation() == {"dynamodb.GetItem": 1}  # the ack cursor; no write, no job


def test_a_probe_for_an_offline_device_ends_without_a_write_or_a_follow_up(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.disconnect(bob)

    with recording() as calls:
        courier.drain("RetryQueue")

    assert calls.dynamodb_item_writes() == 0
    assert courier.jobs("RetryQueue") == []


def test_a_redelivering_probe_looks_up_the_device_once(courier: Courier) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    with recording() as calls:
        courier.drain("RetryQueue")

    # one Query for the device's connections, one for the un-acked messages
    assert calls.count("dynamodb", "Query") == 2
    assert calls.count("apigatewaymanagementapi", "PostToConnection") == 1


class JobDied(BaseException):
    """A retry worker's death mid-job (a timeout, OOM): nothing in the handler catches it."""


def die_once(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """Make `module.name` kill the invocation the first time it is called."""
    original = getattr(module, name)

    def dying(*args: object, **kwargs: object) -> object:
        monkeypatch.setattr(module, name, original)
        raise JobDied

    monkeypatch.setattr(module, name, dying)


def run_dying(courier: Courier, body: dict[str, object]) -> None:
    """Run a job whose invocation dies (die_once)."""
    with warnings.catch_warnings():
        # the dying invocation may have added no metric yet: Powertools warns at its flush
        warnings.filterwarnings("ignore", "No application metrics to publish")
        with pytest.raises(JobDied):
            courier.run_worker("retry_worker", [body])


def run_dying_then_again(courier: Courier, body: dict[str, object]) -> None:
    """Run a job whose invocation dies, then SQS's second delivery of it."""
    run_dying(courier, body)
    assert courier.run_worker("retry_worker", [body], receive_count=2) == {"batchItemFailures": []}


def dying_probe(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> tuple[Conn, Conn, dict[str, object]]:
    """alice sends bob a message; its probe will die once its chain is started."""
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    [probe] = courier.take_jobs("RetryQueue")
    die_once(monkeypatch, retry, "_queue_follow_up")
    return alice, bob, probe


def test_a_probe_that_dies_after_starting_its_chain_is_resumed_by_its_second_run(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _alice, bob, probe = dying_probe(courier, monkeypatch)

    run_dying_then_again(courier, probe)

    assert [job.body["attempt"] for job in courier.jobs("RetryQueue")] == [2]
    run_retries(courier)
    assert copies(courier, bob, 1) == 1 + MAX_RETRIES


def test_a_follow_up_that_dies_before_queueing_the_next_is_resumed_by_its_second_run(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drain("RetryQueue")
    [follow_up] = courier.take_jobs("RetryQueue")
    die_once(monkeypatch, retry, "_queue_follow_up")

    run_dying_then_again(courier, follow_up)

    assert copies(courier, bob, 1) == 3  # its first run posted; the second posts nothing
    run_retries(courier)
    assert copies(courier, bob, 1) == 1 + MAX_RETRIES


@pytest.mark.parametrize("attempt", [2, MAX_RETRIES])
def test_a_follow_up_that_dies_before_posting_loses_that_copy_only(
    courier: Courier, monkeypatch: pytest.MonkeyPatch, attempt: int
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    for _ in range(attempt - 1):
        courier.drain("RetryQueue")
    [follow_up] = courier.take_jobs("RetryQueue")
    assert follow_up["attempt"] == attempt
    die_once(monkeypatch, retry, "post_frame")

    run_dying_then_again(courier, follow_up)
    run_retries(courier)

    assert copies(courier, bob, 1) == MAX_RETRIES
    [row] = courier.items("RetriesTable")
    assert "chainId" not in row and row["doneSeqs"] == {"NS": ["1"]}  # the chain ended


def test_copies_of_a_job_delivered_twice_carry_at_most_one_spare_job_per_attempt(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    while courier.jobs("RetryQueue"):
        assert len(courier.jobs("RetryQueue")) <= 2
        courier.drain("RetryQueue", twice=True)

    assert copies(courier, bob, 1) == 1 + MAX_RETRIES


def test_a_probe_handed_back_after_starting_its_chain_resumes_it_though_acked_since(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by make chaos: the probe's second run stopped at "acked" and left its chain
    # active with no job: later messages joined it and were never retried.
    alice, bob, probe = dying_probe(courier, monkeypatch)
    run_dying(courier, probe)
    courier.ack(bob, DM, 1)
    courier.send(alice, DM, "m2")

    courier.run_worker("retry_worker", [probe], receive_count=2)
    run_retries(courier)

    assert copies(courier, bob, 2) == 1 + MAX_RETRIES
    [row] = courier.items("RetriesTable")
    assert "chainId" not in row  # the chain ran to its end


def test_a_retry_never_posts_to_the_sending_connection_though_its_device_has_another(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the model test: the sender's device kept a dead socket (no $disconnect yet),
    # so the message was for that device, and its retry reached the sending socket too.
    _bob = courier.connect("bob")
    dead = courier.connect("alice", "tablet")
    courier.drop(dead)
    sending = courier.connect("alice", "tablet")
    # no fast path (the send died after its commit): its post would have found the dead
    # socket first, and the stream would then have taken the device for offline
    monkeypatch.setattr(actions, "post_new_message", lambda *_, **__: None)
    courier.send(sending, DM, "m1")

    run_retries(courier)

    assert courier.posted(sending, "message") == []


def test_a_device_reconnected_after_a_message_gets_no_retry_of_it_on_its_new_socket(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the model test: bob's socket was dead (no $disconnect yet) when the message
    # committed, so its probe was for his device; by then he had reconnected and synced.
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.drop(bob)
    monkeypatch.setattr(actions, "post_new_message", lambda *_, **__: None)  # send died
    courier.stream_paused = True
    courier.send(alice, DM, "m1")
    time.sleep(0.002)  # the new socket opens a clock tick after the commit, at least
    bob_again = courier.connect("bob")
    courier.stream_paused = False
    courier.pump_stream()

    run_retries(courier)

    assert courier.posted(bob_again) == []  # reconnecting pushes no backlog


def test_a_probe_that_comes_after_a_later_messages_chain_ended_still_delivers_its_message(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by make chaos under load: m1's fan-out job died before posting and came back
    # after the visibility timeout (its second run posts nothing, it queues the probes);
    # meanwhile m2's chain had run to its end and marked every seq up to 2 finished, so
    # m1's probe started nothing and bob, connected all along, never got m1 live.
    alice, bob = courier.connect("alice"), courier.connect("bob")
    monkeypatch.setattr(actions, "post_new_message", lambda *_, **__: None)  # no fast post
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")
    late, on_time = courier.take_jobs("RetryQueue")
    assert (late["seq"], on_time["seq"]) == (1, 2)
    courier.run_worker("retry_worker", [on_time])
    run_retries(courier)  # m2's chain runs to its end
    assert (copies(courier, bob, 1), copies(courier, bob, 2)) == (0, MAX_RETRIES)

    courier.run_worker("retry_worker", [late])
    run_retries(courier)

    assert copies(courier, bob, 1) == MAX_RETRIES  # its probe's post, then its own chain
    courier.run_worker("retry_worker", [late, on_time])  # copies of both probes, later
    run_retries(courier)
    assert (copies(courier, bob, 1), copies(courier, bob, 2)) == (MAX_RETRIES, MAX_RETRIES)


def test_an_ack_at_a_chains_end_keeps_the_finished_seqs_short(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(3):
        courier.send(alice, DM, f"m{i}")
    courier.drain("RetryQueue")  # one chain covers 1..3
    courier.ack(bob, DM, 2)
    courier.drain("RetryQueue")  # the follow-up: seq 3 is un-acked, posted again
    courier.ack(bob, DM, 3)

    run_retries(courier)

    [row] = courier.items("RetriesTable")
    assert "chainId" not in row and row["floorSeq"] == {"N": "3"} and "doneSeqs" not in row


def test_a_device_that_never_acks_keeps_at_most_done_limit_finished_seqs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry_chains, "DONE_LIMIT", 4)
    chain = retry_chains.Chain("9.1", 9, 1, floor=0, done=frozenset(range(1, 10)))

    assert retry_chains._new_floor(chain, ack=0) == (7, set(range(1, 8)))  # 2 kept: 8, 9
    assert retry_chains._new_floor(chain, ack=2) == (7, set(range(1, 8)))
    assert retry_chains._new_floor(chain, ack=6) == (6, set(range(1, 7)))  # 3 kept


def test_a_probe_whose_start_was_refused_by_a_chain_that_ends_meanwhile_starts_its_own(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by make bench under a burner: the probe of m2 was refused its start by m1's
    # chain, which ended (acked) before the probe read it; the probe took the empty row for
    # "finished", and bob never got m2 live.
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.drain("RetryQueue")  # m1's chain starts
    courier.ack(bob, DM, 1)
    monkeypatch.setattr(actions, "post_new_message", lambda *_, **__: None)  # no fast post
    courier.send(alice, DM, "m2")
    follow_up, probe = courier.take_jobs("RetryQueue")
    assert (follow_up["attempt"], probe["seq"]) == (2, 2)
    read = retry_chains._read

    def chain_ends_first(*args: object) -> object:
        monkeypatch.setattr(retry_chains, "_read", read)
        assert courier.run_worker("retry_worker", [follow_up]) == {"batchItemFailures": []}
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(retry_chains, "_read", chain_ends_first)
    courier.run_worker("retry_worker", [probe])
    run_retries(courier)

    assert copies(courier, bob, 2) == MAX_RETRIES  # m2's own chain
