"""What a chaos run does: its size, its fault rates and its seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaos.progress import retry_chain_seconds
from local.faults import ServerFaultRates

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "last.json"
# the local stack's own lag between a job falling due (or a stream record landing) and
# its function running: pollers, batching windows, a busy 2-core machine
PIPELINE_LAG_SECONDS = 3
OFFLINE_MARGIN_SECONDS = 0.5  # the gateway runs $disconnect once a socket has closed
REPRODUCIBILITY = (
    "A seed fixes every random decision of the harness (population, workload, fault plans); "
    "thread and network interleavings still vary, so a rerun is similar, not identical."
)


@dataclass(frozen=True)
class NetworkRates:
    """Probabilities of the faulty network between the devices and the gateway."""

    drop_ack: float = 0.0  # per `ack` frame a device sends: lost
    drop_out: float = 0.0  # per other frame a device sends: lost
    duplicate_out: float = 0.0  # per `send` frame: arrives twice
    cut_send: float = 0.0  # per `send` frame: the connection dies right after it left
    drop_in: float = 0.0  # per frame the server sends: lost
    duplicate_in: float = 0.0  # per frame the server sends: arrives twice
    storm_seconds: float = 0.0  # mean time between reconnect storms (0: none)


DEFAULT_NETWORK = NetworkRates(
    drop_ack=0.10,
    drop_out=0.02,
    duplicate_out=0.03,
    cut_send=0.03,
    drop_in=0.03,
    duplicate_in=0.05,
    storm_seconds=15.0,
)
DEFAULT_SERVER = ServerFaultRates(
    crash=0.02,
    throttle=0.02,
    conflict=0.05,
    gone=0.02,
    limit=0.03,
    duplicate_job=0.10,
    invocation=0.01,
)


@dataclass(frozen=True)
class ChaosConfig:
    seed: int = 1
    users: int = 10
    messages: int = 300
    duration: float = 45.0  # seconds the devices take to send their messages
    groups: int = 3
    offline_share: float = 0.06  # of a device's actions: it goes offline for a while
    # listeners in every group whose acks the network always loses while faults are on:
    # every message to them is retried, so the retry path runs by construction
    deaf: int = 0
    # members in every group who never connect: every group message not recalled is owed
    # to them as a push, so the missed-notification check always has pairs to judge
    absent: int = 0
    network: NetworkRates = DEFAULT_NETWORK
    server: ServerFaultRates = DEFAULT_SERVER
    retry_base_seconds: int = 1
    max_retries: int = 3
    fanout_inline_limit: int = 3  # larger groups are delivered by fan-out jobs
    visibility_seconds: int = 10  # a failed SQS batch comes back after this
    notify_coalesce_seconds: int = 1  # COURIER_NOTIFY_COALESCE_SECONDS of the stack
    # COURIER_RECALL_SECONDS of the stack: shorter than the run, so some recalls are late
    recall_seconds: int = 20
    # a member offline from just before a commit until this long after it is offline to
    # the server, whenever it looks (the stream worker: the stream's lag)
    decide_seconds: float = 1.5
    # a drain step gives up when nothing it waits for has moved for this long (the queue
    # step adds a whole retry chain and the visibility timeout)...
    stall_seconds: float = 20.0
    # ... or, still moving, after this plus a share per unit of work it saw pending
    drain_seconds: float = 60.0
    scale: int = 1  # the size preset the run was made from (see `scaled`)
    json_path: Path = field(default=DEFAULT_JSON)
    verbose: bool = False

    @property
    def live_seconds(self) -> int:
        """How long after its commit a message may take to reach a device connected all
        along: a whole retry chain (a post refused with 429 waits for the next retry), a
        failed batch's visibility timeout, and the stack's own lag."""
        chain = retry_chain_seconds(self.retry_base_seconds, self.max_retries)
        return chain + self.visibility_seconds + PIPELINE_LAG_SECONDS

    def without_faults(self) -> ChaosConfig:
        return replace(self, network=NetworkRates(), server=ServerFaultRates())

    def scaled(self, n: int) -> ChaosConfig:
        """`n` times the default run: n times the messages, 5n users and n groups (never
        fewer than the defaults), over a duration that keeps each device's pace. n = 10:
        50 users, 10 groups, 3,000 messages over 90 s."""
        base = ChaosConfig()
        users = max(base.users, 5 * n)
        messages = base.messages * n
        pace = (base.messages / base.users) / base.duration  # messages per user per second
        return replace(
            self,
            scale=n,
            users=users,
            groups=max(base.groups, n),
            messages=messages,
            duration=round(messages / users / pace, 1),
        )


def derive(seed: int, *names: str) -> random.Random:
    """An independent random source for one part of the run, fixed by the run's seed."""
    return random.Random("/".join([str(seed), *names]))
