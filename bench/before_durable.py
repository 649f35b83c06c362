"""What each operation cost before the durable delivery path, for the report's before/after.

Before (commit c6ed8b7), the send function delivered a message itself after its commit:
it posted, then queued the retry probes and the notification jobs (a crash after the
commit lost them). These are that commit's bench figures (bench/results/REPORT.md there),
reproduced by re-running its `python -m bench --parts cost` with today's billing rules
(EMF metric lines billed as logs, as bench/moto_env.py counts them now): same sizes, same
prices, same duration model. `usd_per_million` is per million operations.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMIT = "c6ed8b7"


@dataclass(frozen=True)
class Figures:
    calls: int
    lambda_invocations: int
    usd_per_million: float


# operation key -> (Courier's figures, the floor's figures), the default Sizes
BEFORE: dict[str, tuple[Figures, Figures]] = {
    "dm": (Figures(12, 4, 16.8709), Figures(11, 4, 16.1369)),
    "dm_offline": (Figures(11, 2, 11.4994), Figures(9, 2, 11.1368)),
    "dm_unacked": (Figures(36, 6, 28.8814), Figures(24, 6, 26.0429)),
    "group_10": (Figures(50, 11, 42.9953), Figures(33, 11, 41.4803)),
    "group_100": (Figures(509, 110, 391.6500), Figures(303, 101, 361.8587)),
    "group_1000": (Figures(5101, 1103, 3915.2106), Figures(3021, 1001, 3566.3906)),
    "sync_conversations": (Figures(3, 1, 5.1731), Figures(2, 1, 3.8080)),
    "sync_messages": (Figures(2, 1, 3.1465), Figures(2, 1, 3.0580)),
}
