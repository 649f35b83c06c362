"""A device's redelivery chain for a channel: one RetriesTable row per (device, channel).

    chainId    the chain's id, derived from the probe that started or took it over
    chainSeq   the highest seq the chain covers (coalescing: later probes raise it)
    seqs       the seqs the chain covers: those its probes named, i.e. the messages that
               were posted to this device. A seq of the range it was never sent (one sent
               from this very connection, or while the device was offline) is not "sent
               again": the sending connection never gets its own message, and a device
               that reconnects is pushed no backlog
    attempt    how many redeliveries the chain has claimed (1 .. COURIER_MAX_RETRIES)
    dueAt      when the job of the next attempt is due
    resumed    the attempt whose follow-up a second run of its job queued (see `resume`)
    doneSeqs   every seq a chain has covered, this one's included: each is redelivered by
               that chain only, so a later probe of it (a copy of its job) starts nothing
    floorSeq   seqs at or below it are finished too: the device's ack when a chain ended
               (what it acked it holds), so doneSeqs keeps only the seqs above the ack

A seq is finished by its own chain, never by a later seq's: the probe of a message whose
delivery came late (its fan-out job died and came back after the visibility timeout) may
run after the chain of a later message has ended, and must still find its seq unfinished.
A device that never acks grows doneSeqs by a seq per message it is sent; past
DONE_LIMIT seqs, the lower half gives way to floorSeq (a late probe of one of those is
then taken for finished: the device got later messages, its sync fills the gap).

Every change is one conditional UpdateItem, so concurrent jobs of a chain never both win.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from courier.dynamo import is_condition_failure, seqs
from courier.models import Retries
from courier.tables import Tables, device_key

STALE_GRACE_SECONDS = 300  # a chain whose next job is this late is taken over by a probe
ROW_TTL_SECONDS = 86_400
DONE_LIMIT = 1_000  # doneSeqs kept above the ack before the lower half goes to floorSeq
RACE_ROUNDS = 4  # a probe's start or join, tried again while other jobs change the chain


@dataclass(frozen=True)
class Where:
    """The row of one device's chain in one channel."""

    user: str
    device: str
    channel: str


@dataclass(frozen=True)
class Chain:
    id: str
    seq: int
    attempt: int
    floor: int
    due: int = 0
    seqs: frozenset[int] | None = None  # None: a row written before `seqs` (its whole range)
    done: frozenset[int] = frozenset()

    @classmethod
    def from_row(cls, row: Retries) -> Chain:
        return cls(
            id=row.chain_id or "",
            seq=int(row.chain_seq or 0),
            attempt=int(row.attempt or 0),
            floor=int(row.floor_seq or 0),
            due=int(row.due_at or 0),
            seqs=seqs(row.seqs) if row.seqs else None,
            done=seqs(row.done_seqs),
        )

    @property
    def active(self) -> bool:
        """Whether the row holds a running chain (an ended one leaves floorSeq and doneSeqs)."""
        return bool(self.id)

    def covers(self, seq: int) -> bool:
        return self.seqs is None or seq in self.seqs

    def finished(self, seq: int) -> bool:
        """Whether `seq` has had its chain (this one, if it covers it) or was acked."""
        return seq <= self.floor or seq in self.done or (self.active and self.covers(seq))


@dataclass(frozen=True)
class Resumed:
    """A chain this job claimed in an earlier run, which may have died before queueing the
    follow-up: no later job has claimed since."""

    chain: Chain


@dataclass(frozen=True)
class Joined:
    """The probe's seq joined an active chain: no attempt of that chain has posted it yet,
    and the later ones will (or none, if the chain was at its last)."""

    chain: Chain


def chain_id(seq: int, attempt: int) -> str:
    """The id of the chain the probe of `seq` starts (attempt 1) or takes over (a later
    attempt). A seq starts at most one chain: once it ends, floorSeq covers the seq."""
    return f"{seq}.{attempt}"


def _update(
    tables: Tables, where: Where, actions: list[Action], condition: Condition
) -> Chain | None:
    """A conditional UpdateItem on the chain row: the chain after it, or None if the
    condition failed (PynamoDB's update returns the whole new row)."""
    row = tables.retries(device_key(where.user, where.device), where.channel)
    try:
        row.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise
    return Chain.from_row(row)


def _read(tables: Tables, where: Where) -> Chain | None:
    """The device's chain row (a consistent read): active or ended; None if there is none."""
    try:
        row = tables.retries.get(
            device_key(where.user, where.device), where.channel, consistent_read=True
        )
    except tables.retries.DoesNotExist:
        return None
    return Chain.from_row(row)


def _unfinished(seq: int) -> Condition:
    """No chain has covered `seq`, and the device has not acked it by a chain's end."""
    row = Retries
    above: Condition = row.floor_seq.does_not_exist() | (row.floor_seq < seq)
    unfinished: Condition = above & ~row.done_seqs.contains(seq)
    return unfinished


def _schedule(now: int, next_due: int) -> list[Action]:
    row = Retries
    return [row.due_at.set(next_due), row.expires_at.set(now + ROW_TTL_SECONDS)]


def resumable(tables: Tables, where: Where, seq: int) -> Resumed | None:
    """The chain an earlier run of the probe of `seq` started or took over, if no later job
    has claimed it since (that run may have died before queueing its follow-up)."""
    chain = _read(tables, where)
    return (
        Resumed(chain) if chain is not None and chain.active and _started_by(chain, seq) else None
    )


def _started_by(chain: Chain, seq: int) -> bool:
    return chain.id == chain_id(seq, chain.attempt)


def start_or_join(
    tables: Tables, where: Where, seq: int, *, now: int, next_due: int, max_retries: int
) -> Chain | Resumed | Joined | None:
    """The chain the probe of `seq` starts (attempt 1) or takes over; Resumed when an
    earlier run of this probe did so; Joined when the seq joined the active chain; None
    when the seq is finished (covered by a chain, or acked). A chain that ends or changes
    between two of these writes (another job of the device's) sends it round again."""
    for _ in range(RACE_ROUNDS):
        started = _start(tables, where, seq, now=now, next_due=next_due)
        if started is not None:
            return started
        chain = _read(tables, where)
        if chain is not None and chain.active and _started_by(chain, seq):
            return Resumed(chain)
        if chain is not None and chain.finished(seq):
            return None
        if chain is None or not chain.active:
            continue  # the chain ended since the start was refused: start again
        if chain.due < now - STALE_GRACE_SECONDS:
            return _take_over(
                tables, where, chain, seq, now=now, next_due=next_due, max_retries=max_retries
            )
        if _join(tables, where, chain, seq):
            return Joined(chain)
    return None  # other jobs changed the chain between every two writes: given up


def _start(tables: Tables, where: Where, seq: int, *, now: int, next_due: int) -> Chain | None:
    row = Retries
    return _update(
        tables,
        where,
        [
            row.chain_id.set(chain_id(seq, 1)),
            row.chain_seq.set(seq),
            row.seqs.set({seq}),
            row.done_seqs.add({seq}),
            row.attempt.set(1),
            row.resumed.remove(),
            *_schedule(now, next_due),
        ],
        row.chain_id.does_not_exist() & _unfinished(seq),
    )


def _take_over(
    tables: Tables,
    where: Where,
    chain: Chain,
    seq: int,
    *,
    now: int,
    next_due: int,
    max_retries: int,
) -> Chain | None:
    """Its next job was lost (to a run that died and was never handed back): carry on from
    the next attempt, so the bound on copies still holds."""
    if chain.attempt >= max_retries:
        end(tables, where, chain)
        return None
    row = Retries
    return _update(
        tables,
        where,
        [
            row.chain_id.set(chain_id(seq, chain.attempt + 1)),
            row.chain_seq.set(max(chain.seq, seq)),
            row.attempt.set(chain.attempt + 1),
            row.resumed.remove(),
            *_schedule(now, next_due),
            row.seqs.add({seq}),
            row.done_seqs.add({seq}),
        ],
        (row.chain_id == chain.id)
        & (row.attempt == chain.attempt)
        & (_unfinished(seq) | row.seqs.contains(seq)),  # never a seq an ended chain covered
    )


def _join(tables: Tables, where: Where, chain: Chain, seq: int) -> bool:
    """Add the probe's seq to the active chain (raising chainSeq if it is the highest);
    whether it was added (not already covered, nor finished). If the chain changed
    meanwhile the seq gets fewer retries, never more."""
    row = Retries
    new = (row.chain_id == chain.id) & _unfinished(seq) & ~row.seqs.contains(seq)
    add: list[Action] = [row.seqs.add({seq}), row.done_seqs.add({seq})]
    if chain.seq < seq:
        raised = _update(tables, where, [row.chain_seq.set(seq), *add], new & (row.chain_seq < seq))
        if raised is not None:
            return True
    added = _update(tables, where, add, new & (row.chain_seq >= seq))
    return added is not None


def claim(
    tables: Tables, where: Where, chain: str, attempt: int, *, now: int, next_due: int
) -> Chain | Resumed | None:
    """Advance the chain to this follow-up's attempt; Resumed if an earlier run of the job
    claimed it and no later job has since; None for a duplicate or an ended chain."""
    row = Retries
    claimed = _update(
        tables,
        where,
        [row.attempt.set(attempt), *_schedule(now, next_due)],
        (row.chain_id == chain) & (row.attempt == attempt - 1),
    )
    if claimed is not None:
        return claimed
    current = _read(tables, where)
    if current is not None and current.active and (current.id, current.attempt) == (chain, attempt):
        return Resumed(current)
    return None


def resume(tables: Tables, where: Where, chain: Chain) -> bool:
    """Whether this run may queue the follow-up of the chain's current attempt again. Only
    one run per attempt may, so copies of a job SQS delivers twice do not multiply."""
    row = Retries
    resumed = _update(
        tables,
        where,
        [row.resumed.set(chain.attempt)],
        (row.chain_id == chain.id)
        & (row.attempt == chain.attempt)
        & (row.resumed.does_not_exist() | (row.resumed != chain.attempt)),
    )
    return resumed is not None


def end(
    tables: Tables, where: Where, chain: Chain, *, ack: int = 0, only_if_acked: bool = False
) -> bool:
    """Finish the chain: everything it covers is done (`ack`: the device's ack cursor, read
    before). With `only_if_acked`, only if the ack covers the chain's current seq (a probe
    may have raised it meanwhile)."""
    row = Retries
    condition = row.chain_id == chain.id
    if only_if_acked:
        condition &= row.chain_seq <= ack
    floor, dropped = _new_floor(chain, ack)
    ended = _update(
        tables,
        where,
        [
            row.chain_id.remove(),
            row.chain_seq.remove(),
            row.seqs.remove(),
            row.attempt.remove(),
            row.due_at.remove(),
            row.resumed.remove(),
            *([row.floor_seq.set(floor)] if floor > chain.floor else []),
            *([row.done_seqs.delete(dropped)] if dropped else []),
        ],
        condition,
    )
    return ended is not None


def _new_floor(chain: Chain, ack: int) -> tuple[int, set[int]]:
    """floorSeq once the chain ends, and the doneSeqs it makes redundant: the ack (a probe
    of an acked seq stops at the ack), or higher if doneSeqs has outgrown DONE_LIMIT."""
    floor = max(chain.floor, ack)
    dropped = {seq for seq in chain.done if seq <= floor}
    kept = sorted(chain.done - dropped)
    if len(kept) > DONE_LIMIT:
        lower = kept[: len(kept) - DONE_LIMIT // 2]
        floor = lower[-1]
        dropped.update(lower)
    return floor, dropped
