"""When a drain step is done, still moving, or stuck: pure decisions over snapshots of the
work the step waits for. No clock of its own: the caller says what time it is.

A snapshot maps items (a device's outbox, a queue's delayed jobs, a device's missing seqs
of one channel...) to how much of them is pending. The step has *moved* when some item
falls below the lowest value it has had (an item absent from a snapshot counts as 0).
Only new lows count, so work that comes and goes (a job taken, failed and back) is not
mistaken for progress, and a run of progress is finite unless new work keeps arriving.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Status = Literal["done", "progressing", "stalled", "deadline"]
Pending = Mapping[str, int]

RETRY_JITTER = 0.1  # courier/retry.py retry_delay: a retry comes up to 10% late
MAX_DELAY_SECONDS = 900  # courier/jobs.py: SQS's DelaySeconds ceiling


@dataclass(frozen=True)
class Patience:
    """How long a step waits: until nothing has moved for `stall_seconds`, and never longer
    than `base_seconds` plus `seconds_per_item` per unit of the most work seen pending."""

    stall_seconds: float
    base_seconds: float
    seconds_per_item: float

    def cap(self, peak: int) -> float:
        return self.base_seconds + self.seconds_per_item * peak


def retry_delays(base_seconds: int, max_retries: int) -> list[int]:
    """The DelaySeconds of a retry chain's jobs, each at its latest: the probe, then each
    follow-up (courier/retry.py: base * 2^(attempt-1), at most 900 s, plus jitter rounded
    up). The probe goes out without jitter; counting it in only errs on the long side."""
    return [
        min(
            MAX_DELAY_SECONDS,
            math.ceil(min(base_seconds * 2**k, MAX_DELAY_SECONDS) * (1 + RETRY_JITTER)),
        )
        for k in range(max_retries)
    ]


def retry_chain_seconds(base_seconds: int, max_retries: int) -> int:
    """The longest one retry chain keeps a job in RetryQueue, all of it delayed: while
    chains run, the queue's depth may not fall for this long without anything being stuck."""
    return sum(retry_delays(base_seconds, max_retries))


def queue_patience(
    *,
    stall_seconds: float,
    base_seconds: float,
    retry_base_seconds: int,
    max_retries: int,
    visibility_seconds: float,
    seconds_per_job: float,
) -> Patience:
    """The delivery queues' step: a backlog of delayed retries is waiting on the clock, not
    stuck, so the stall timeout adds a whole retry chain and a failed batch's visibility
    timeout (its jobs are hidden that long before they come back)."""
    chain = retry_chain_seconds(retry_base_seconds, max_retries)
    return Patience(
        stall_seconds=stall_seconds + chain + visibility_seconds,
        base_seconds=base_seconds + chain,
        seconds_per_item=seconds_per_job,
    )


class Progress:
    """Fold snapshots of a step's pending work, in time order, into a status."""

    def __init__(self, patience: Patience, started: float) -> None:
        self.patience = patience
        self.started = started
        self.moved = started  # when an item last reached a new low
        self.lows: dict[str, int] = {}
        self.peak = 0  # the most work pending at once: what the cap is scaled to
        self.status: Status = "progressing"

    def observe(self, now: float, pending: Pending) -> Status:
        current = {item: value for item, value in pending.items() if value > 0}
        for item in self.lows.keys() | current.keys():
            value = current.get(item, 0)
            low = self.lows.get(item)
            if low is None:
                self.lows[item] = value  # new work: not progress
            elif value < low:
                self.lows[item] = value
                self.moved = now
        self.peak = max(self.peak, sum(current.values()))
        if not current:
            self.status = "done"
        elif now - self.started >= self.patience.cap(self.peak):
            self.status = "deadline"
        elif now - self.moved >= self.patience.stall_seconds:
            self.status = "stalled"
        else:
            self.status = "progressing"
        return self.status

    def why(self, now: float) -> str:
        """Why the step ended, for people."""
        if self.status == "stalled":
            return f"stalled: nothing moved for {now - self.moved:.0f} s"
        if self.status == "deadline":
            cap = self.patience.cap(self.peak)
            return (
                f"out of time: still moving at its cap of {cap:.0f} s ({self.peak} pending at most)"
            )
        return self.status


def judge(patience: Patience, snapshots: Iterable[tuple[float, Pending]]) -> Status:
    """The status after a series of (time, snapshot), the first one at the step's start."""
    progress: Progress | None = None
    for now, pending in snapshots:
        progress = progress or Progress(patience, now)
        if progress.observe(now, pending) != "progressing":
            break
    return "progressing" if progress is None else progress.status


@dataclass(frozen=True)
class Step:
    """How one drain step ended."""

    status: Status  # done, stalled or deadline
    seconds: float
    why: str = ""
    pending: tuple[str, ...] = ()  # what was left, for people: "RetryQueue 686 jobs ..."


@dataclass(frozen=True)
class Drained:
    steps: dict[str, Step]
    queues_left: dict[str, int]  # jobs still in the delivery queues

    @property
    def complete(self) -> bool:
        return all(step.status == "done" for step in self.steps.values())

    @property
    def seconds(self) -> dict[str, float]:
        return {name: step.seconds for name, step in self.steps.items()}

    @property
    def pending(self) -> dict[str, list[str]]:
        """Per unfinished step, what was left."""
        return {
            name: list(step.pending) or [step.why]
            for name, step in self.steps.items()
            if step.status != "done"
        }
