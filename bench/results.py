"""What a bench run produces, as JSON-ready records (bench/results/results.json), so that a
part can be run again alone and the report rebuilt from the rest."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NotRequired, TypedDict, cast

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_JSON = RESULTS_DIR / "results.json"


class BillRow(TypedDict):
    calls: int
    by_operation: dict[str, int]
    wru: float
    rru: float
    sqs_requests: int
    sqs_fifo: int
    api_messages: int
    http_requests: int  # the admin API's
    lambda_invocations: float  # a stream record sharing a batch pays a fraction
    lambda_gb_seconds: float
    sns_publishes: int
    log_bytes: float
    usd: dict[str, float]  # per price key, and "total": one operation


class CostResult(TypedDict):
    key: str
    title: str
    ours: BillRow  # every stream record its own invocation (batch 1: a quiet shard)
    floor: BillRow
    naive: BillRow
    floor_reasoning: list[str]
    stream_batch: int  # the stream event source's BatchSize (template.yaml)
    ours_batched: BillRow  # the same trace, each stream record 1/stream_batch of an invocation
    floor_batched: BillRow


class V11Cost(TypedDict):
    """A protocol v1.1 operation: Courier's bill alone (each stream record its own batch)."""

    key: str
    title: str
    ours: BillRow


class Spread(TypedDict):
    median_ms: float
    p90_ms: float
    runs: int


class ImportShare(TypedDict):
    package: str
    ms: float


class ColdStart(TypedDict):
    handlers: dict[str, Spread]  # tracing off (POWERTOOLS_TRACE_DISABLED=true), the default
    handlers_tracing: NotRequired[dict[str, Spread]]  # tracing on: the X-Ray SDK loaded
    pynamodb: NotRequired[dict[str, Spread]]  # PynamoDB's models, attributes and transactions
    baseline: Spread  # import boto3 and create one client
    importtime_of: str
    importtime: list[ImportShare]  # self time summed by top-level package
    importtime_tracing: NotRequired[list[ImportShare]]  # the same with tracing on


class Percentiles(TypedDict):
    p50: float
    p90: float
    p95: float
    p99: float
    max: float


class Ceiling(TypedDict):
    accepts_per_s_empty: float  # GetItem + TransactWriteItems, on empty tables
    accepts_per_s: float  # the same after the load
    send_paths_per_s: float  # accept, two Query, SendMessageBatch, after the load
    calls_per_send_path: int


class CrashLoad(TypedDict):
    """The same load with the send function's fast post raising after every commit: each
    message reaches its receiver only through the durable path (stream, delivery worker,
    retry probe, retry worker)."""

    pairs: int
    messages: int
    timeouts: int
    retry_base_seconds: int  # COURIER_RETRY_BASE_SECONDS: the probe's delay
    commit_to_frame_ms: Percentiles
    beyond_first_retry: int  # messages whose first frame came over 1 s after the probe's delay


class LocalLoad(TypedDict):
    pairs: int
    seconds: float
    messages: int
    messages_per_s: float
    first_per_s: float  # the first `first_last_window` messages
    last_per_s: float  # the last ones
    first_last_window: int
    # moto's calls/s on the send path, one thread, in-process, over the stack's calls per message
    ceiling_messages_per_s: float
    latency_ms: Percentiles
    commit_to_frame_ms: Percentiles  # the message's `ts` to its first frame at the receiver
    crash: CrashLoad
    sendack_ms: Percentiles
    latencies_ms: list[float]
    timeouts: int
    aws_calls_per_s: float
    aws_calls_per_message: float
    stored_messages: int  # what the load left in the tables (warm-up included)
    ceiling: Ceiling
    delay_lateness_s: list[tuple[int, float]]  # (DelaySeconds, how late its job ran)
    loadavg: list[float]  # 1-minute load average before, after the load, after the ceiling


class Machine(TypedDict):
    date: str
    cores: int
    python: str
    platform: str


class Rates(TypedDict):
    """In-process moto's requests/s at one table size (bench/moto_transactions.py)."""

    size: int  # items in each table
    patched: bool  # local/moto_patches.py's cost patches installed
    transact_per_s: float
    get_per_s: float
    query_per_s: float
    index_query_per_s: float


class Results(TypedDict, total=False):
    machine: Machine
    quick_parts: list[str]  # the parts last run with --quick
    sizes: dict[str, object]
    cost: list[CostResult]
    cost_v11: list[V11Cost]
    inline_limit: int  # FanoutInlineLimit when cost_v11 was measured
    cost_v11_part2: list[V11Cost]  # receipts, typing, presence
    by_channel_entry_bytes: int  # the largest ByChannel index entry the receipts rows read
    coldstart: ColdStart
    local: LocalLoad
    moto: list[Rates]
    seconds: dict[str, float]  # wall time of each part
    loadavg: dict[str, list[float]]  # load averages when each part started


def machine() -> Machine:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count() or 0,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentiles(samples: list[float]) -> Percentiles:
    if len(samples) < 2:
        only = samples[0] if samples else 0.0
        return {"p50": only, "p90": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50": cuts[49],
        "p90": cuts[89],
        "p95": cuts[94],
        "p99": cuts[98],
        "max": max(samples),
    }


def load() -> Results:
    if not RESULTS_JSON.exists():
        return {}
    return cast(Results, json.loads(RESULTS_JSON.read_text()))


def save(results: Results) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
