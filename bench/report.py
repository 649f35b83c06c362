"""bench/results/REPORT.md, written from a run's results."""

from __future__ import annotations

from pathlib import Path

from bench import markdown as md
from bench import naive
from bench.before_durable import BEFORE, COMMIT
from bench.billing import PLATFORM_LOG_BYTES, DurationModel
from bench.floor import COMMON_REASONS
from bench.load_client import FRAME_TIMEOUT
from bench.prices import CHECKED_ON, CONNECTION_MINUTE, PRICES, REGION, SERVICES
from bench.report_v11 import v11_section
from bench.report_v11_part2 import v11_part2_section
from bench.results import (
    ColdStart,
    CostResult,
    LocalLoad,
    Percentiles,
    Rates,
    Results,
    Spread,
)


def _cost_section(cost: list[CostResult]) -> list[str]:
    lines = [
        "## Cost per operation",
        "",
        "Each operation runs through the deployable handlers (`functions/*/app.py`) over moto, "
        "in a fresh in-process stack, with the workers' jobs run in batches of their event "
        "sources' `BatchSize`. A botocore event hook records every AWS call with its request "
        "and response; `bench/billing.py` turns them into billed units. AWS calls are the "
        "requests our code makes; SQS requests also count the receive and delete of each "
        "batch a worker gets (Lambda's poller makes them, and they are billed); the "
        "delivery worker reads the messages table's stream, which costs no request, and "
        "runs here once per message (its own batch: see the durable path below). "
        "Operations are in steady state (a first message has created the conversation's "
        "rows); every user has one device. `$ per million` is per million operations: "
        "messages, or syncs for the sync rows.",
        "",
        "### Summary",
        "",
        *_findings(cost),
    ]
    rows = [
        [
            r["title"],
            md.num(r["ours"]["calls"]),
            md.num(r["floor"]["calls"]),
            md.num(r["naive"]["calls"]),
            md.per_million(r["ours"]["usd"]["total"]),
            md.per_million(r["floor"]["usd"]["total"]),
            md.per_million(r["naive"]["usd"]["total"]),
            md.ratio(r["ours"]["usd"]["total"], r["floor"]["usd"]["total"]),
            md.ratio(r["naive"]["usd"]["total"], r["ours"]["usd"]["total"]),
        ]
        for r in cost
    ]
    headers = ["operation", "calls: ours", "floor", "naive"]
    headers += ["$/M: ours", "floor", "naive", "ours ÷ floor", "naive ÷ ours"]
    lines += md.table(headers, rows)
    lines += _durable_section(cost)
    for name, bills in (
        ("Courier", [r["ours"] for r in cost]),
        ("The floor", [r["floor"] for r in cost]),
        ("The naive baseline", [r["naive"] for r in cost]),
    ):
        lines += [f"### {name}: billed units per operation", ""]
        rows = [md.units_row(r["title"], b) for r, b in zip(cost, bills, strict=True)]
        lines += md.table(md.UNIT_HEADERS, rows)
    lines += ["### Where Courier's dollars go", ""]
    services = list(dict.fromkeys(SERVICES.values()))
    rows = []
    for r in cost:
        by_service = dict.fromkeys(services, 0.0)
        for key, service in SERVICES.items():
            by_service[service] += r["ours"]["usd"][key]
        rows.append([r["title"], *(md.per_million(by_service[s]) for s in services)])
    lines += md.table(["operation (per million)", *services], rows)
    lines += ["### Where the calls go: Courier / naive", ""]
    rows = [
        [r["title"], md.calls_by_operation(r["ours"]), md.calls_by_operation(r["naive"])]
        for r in cost
    ]
    lines += md.table(["operation", "Courier", "naive"], rows, left=3)
    return lines


def _usd(per_million: float) -> str:
    return f"${per_million:,.2f}"


def _change(before: float, after: float) -> str:
    return f"{after / before - 1:+.1%}" if before else "—"


def _durable_section(cost: list[CostResult]) -> list[str]:
    """Before and after the durable delivery path, at batch 1 and at the stream's BatchSize."""
    batch = cost[0]["stream_batch"] if cost else 0
    rows = []
    for r in cost:
        ours, floor = r["ours"]["usd"]["total"] * 1e6, r["floor"]["usd"]["total"] * 1e6
        ours_batched = r["ours_batched"]["usd"]["total"] * 1e6
        floor_batched = r["floor_batched"]["usd"]["total"] * 1e6
        was = BEFORE.get(r["key"])
        rows.append(
            [
                r["title"],
                md.num(was[0].calls) if was else "—",
                md.num(r["ours"]["calls"]),
                md.num(was[0].lambda_invocations) if was else "—",
                md.num(r["ours"]["lambda_invocations"]),
                _usd(was[0].usd_per_million) if was else "—",
                _usd(ours),
                _change(was[0].usd_per_million, ours) if was else "—",
                _usd(ours_batched),
                _usd(was[1].usd_per_million) if was else "—",
                _usd(floor),
                _usd(floor_batched),
                md.ratio(ours, floor),
                md.ratio(ours_batched, floor_batched),
            ]
        )
    headers = ["operation", "calls: before", "now", "invocations: before", "now"]
    headers += ["$/M: before", "now (batch 1)", "change", f"now (batch {batch})"]
    headers += ["floor $/M: before", "now (batch 1)", f"now (batch {batch})"]
    headers += ["ours ÷ floor (batch 1)", f"(batch {batch})"]
    dm = next((r for r in cost if r["key"] == "dm"), None)
    saved = ""
    if dm:
        at_one = dm["ours"]["usd"]["total"] * 1e6
        at_batch = dm["ours_batched"]["usd"]["total"] * 1e6
        saved = (
            f" For a DM, batching takes ${at_one - at_batch:.2f} per million off the "
            f"${at_one:.2f} (the delivery worker's invocation shrinks to a {batch}th; its "
            "Query per member and its SendMessageBatch stay whole)."
        )
    return [
        "### The durable delivery path: before and after",
        "",
        f"*Before* is commit {COMMIT}: the send function posted and then queued the retry "
        "probes and notifications itself, after its commit, so a crash after the commit "
        "lost them (figures re-measured there under today's billing rules: "
        "bench/before_durable.py). *Now* the send commits and posts inline only (the fast "
        "path, before its sendack); the messages table's stream (NEW_IMAGE, INSERT filter) "
        "invokes the delivery worker for every committed message, which reads the members' "
        "connections again and queues the probes, the notifications or, above 100 members, "
        "the fan-out plan. The floor now includes durability too (see its reasoning below).",
        "",
        "How the stream is billed: Lambda reads it for free (no receive or delete, unlike "
        "an SQS worker's batch), but each delivery-worker invocation is billed: its "
        "request, its duration and its log lines. The bench runs each record as its own "
        "batch (*batch 1*), the worst case and what a quiet shard does: with "
        "`MaximumBatchingWindowInSeconds: 0` Lambda polls a shard about four times a second "
        "and invokes with whatever arrived since, so batches fill only when a shard carries "
        f"more than a few messages a second, up to `BatchSize` ({batch}). *Batch {batch}* "
        f"bills each stream record 1/{batch} of an invocation's request, fixed duration and "
        "log lines (one EMF metric set per invocation), and its own AWS calls in full: "
        "the saving applies to the delivery worker alone (ours) and to the floor's "
        f"stream consumer.{saved}",
        "",
        *md.table(headers, rows),
    ]


def _spread(values: list[float], form: str = "{:.2f}x") -> str:
    return f"{form.format(min(values))} to {form.format(max(values))}"


def _findings(cost: list[CostResult]) -> list[str]:
    """What the table says, computed from it."""
    total = [
        (r["ours"]["usd"]["total"], r["floor"]["usd"]["total"], r["naive"]["usd"]["total"])
        for r in cost
    ]
    api = [r["ours"]["usd"]["api_messages"] / r["ours"]["usd"]["total"] for r in cost]
    calls = [r["ours"]["calls"] / r["floor"]["calls"] for r in cost]
    return [
        f"- Courier costs {_spread([o / f for o, f, _ in total])} the floor in dollars, and "
        f"makes {_spread(calls)} the floor's AWS calls. The extra calls are one Query per "
        "member for live connections, made twice (the send's fast inline post, then the "
        "delivery worker; the floor reads 100 users per call, once, in its stream "
        "consumer), one retry probe and GetItem per device (the floor: one job per "
        "message), the fan-out jobs of groups over 100, and the last messages read by a "
        "conversation sync. Most are small reads, so the gap is narrower in dollars than "
        "in calls.",
        f"- API Gateway WebSocket messages are {_spread(api, '{:.0%}')} of Courier's dollars: "
        "every frame a client sends (send, ack, read, sync), every reply and every post is "
        "billed. Each ack is a frame, an invocation, a read and a write: acks are "
        "cumulative, so a client that acks several messages at once saves the most.",
        f"- The naive baseline costs {_spread([n / o for o, _, n in total])} Courier's, and "
        "can go below the floor, which is the floor of Courier's protocol. It saves what "
        "makes Courier correct (the four-item transaction, strongly consistent "
        "reads, access checks on ack and read, read state synced to other devices) and pays "
        "instead with a Scan of every online device per message (its cost grows with "
        "everyone online: see the naive baseline below) and an unread counter that each "
        "delivery increments: in the never-acked DM, its five redeliveries add five to "
        "the reader's unread for one message, the bug Courier exists to prevent.",
        "",
    ]


def _floor_section(cost: list[CostResult]) -> list[str]:
    lines = [
        "### The floor, reasoned",
        "",
        "The fewest calls the protocol (docs/protocol.md) permits, written as the trace an "
        "ideal implementation would leave (`bench/floor.py`) and billed by the same rules. "
        "It writes no metrics (only Lambda's own log lines).",
        "",
    ]
    lines += ["**Every operation that sends a message**", ""]
    lines += [f"- {why}" for why in COMMON_REASONS] + [""]
    for r in cost:
        lines += [f"**{r['title']}**", ""]
        lines += [f"- {why}" for why in r["floor_reasoning"]]
        lines.append("")
    return lines


def _reflow(text: str) -> list[str]:
    """A docstring's paragraphs and bullets as Markdown lines (one per paragraph or bullet)."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        for piece in paragraph.replace("\n- ", "\n\0- ").split("\n\0"):
            lines.append(" ".join(line.strip() for line in piece.splitlines()))
        lines.append("")
    return lines


def _naive_section(online: int) -> list[str]:
    rru = PRICES["rru"].usd / PRICES["rru"].per
    rows = [
        [f"{n:,}", md.num(naive.scan_read_units(n)), md.per_million(naive.scan_read_units(n) * rru)]
        for n in (1_000, 10_000, 100_000, 1_000_000)
    ]
    return [
        "### The naive baseline",
        "",
        "Implemented inside the bench (`bench/naive.py`), against its own moto tables, "
        "counted by the same hook. It writes no metrics.",
        "",
        *_reflow((naive.__doc__ or "").split("\n\n", 1)[-1]),
        f"Its connections table held {online:,} online devices here (at least every member). "
        "The Scan reads every one of them for every message, so its cost follows everyone "
        "online, not the conversation:",
        "",
        *md.table(["devices online", "RRU per message", "$ per million messages"], rows),
    ]


def _prices_section() -> list[str]:
    duration = DurationModel()
    rows = [
        [key, f"${p.usd:g}", f"per {p.per:,.0f} {p.unit}", p.source]
        for key, p in [*PRICES.items(), ("connection_minutes", CONNECTION_MINUTE)]
    ]
    return [
        f"### Prices ({REGION}, list prices, checked {CHECKED_ON})",
        "",
        *md.table(["key", "price", "unit", "source"], rows, left=1),
        "The AWS pricing pages render their rates client-side; they were read through pages "
        "quoting them on that date. Free tiers and volume tiers are ignored.",
        "",
        "Assumptions:",
        "",
        f"- Lambda duration is not measurable against moto: it is modelled as "
        f"{duration.base_ms:g} ms per invocation plus {duration.call_ms:g} ms per AWS call made "
        f"in sequence (posts made in parallel count once per {duration.parallel}), billed per "
        "1 ms at the function's memory (template.yaml: 256 MB, fan-out 512 MB, arm64).",
        f"- Logs: what the handler printed (Powertools EMF metrics) plus {PLATFORM_LOG_BYTES} "
        "bytes of Lambda's START/END/REPORT lines per invocation.",
        "- DynamoDB: UpdateItem is sized from its key and the attributes it sets (Courier's "
        "rows hold nothing else, all under 1 KB); no recorded operation creates or deletes a "
        "membership row, so the by-channel index (keys only) costs no writes here.",
        "- Not per operation, so not counted: connection-minutes "
        f"(${CONNECTION_MINUTE.usd:g} per million: a device online all day is 1,440 a day), "
        "keep-alive pings (a ping and a pong per device every < 10 min: about 288 messages a "
        "day), X-Ray traces (Tracing: Active; sampled), Lambda's idle SQS long polls, storage.",
        "",
    ]


def _coldstart_section(cold: ColdStart) -> list[str]:
    base = cold["baseline"]
    tracing = cold.get("handlers_tracing", {})

    def cells(s: Spread | None) -> list[str]:
        if s is None:
            return ["—", "—", "—"]
        return [
            f"{s['median_ms']:.0f}",
            f"{s['p90_ms']:.0f}",
            md.ratio(s["median_ms"], base["median_ms"]),
        ]

    rows = [[name, *cells(s), *cells(tracing.get(name))] for name, s in cold["handlers"].items()]
    rows.append(["`import boto3` + one client", *cells(base), "", "", ""])
    worst = max(cold["handlers"].items(), key=lambda kv: kv[1]["median_ms"])
    pynamodb = [[name, *cells(s)] for name, s in cold.get("pynamodb", {}).items()]
    shares = [[s["package"], f"{s['ms']:.0f}"] for s in cold["importtime"]]
    traced = [[s["package"], f"{s['ms']:.0f}"] for s in cold.get("importtime_tracing", [])]
    return [
        "## Cold import",
        "",
        f"Each handler module imported as Lambda does (its folder and the layer on sys.path, "
        "`AWS_LAMBDA_FUNCTION_NAME` and `LAMBDA_TASK_ROOT` set), beside `import boto3; "
        f"boto3.client('dynamodb')`, each in a fresh interpreter, {base['runs']} rounds "
        "interleaving every target. Time is measured inside the interpreter (its own start-up "
        "excluded), with warm file caches and compiled bytecode: Lambda's first import also "
        "reads the package from its disk. Handlers open no client at import (runtime.py opens "
        "them on first use). *Tracing off* is the template's default "
        "(`POWERTOOLS_TRACE_DISABLED=true`): the X-Ray SDK is not imported "
        "(courier/observability.py). *Tracing on* is for information: Powertools' Tracer "
        "loads the X-Ray SDK and patches botocore. `LAMBDA_TASK_ROOT` matters: without it "
        "(as this bench ran before) the X-Ray recorder believes it runs outside Lambda and "
        "builds a botocore client for centralized sampling, about 110 ms Lambda never "
        "spends. `admin` and `authorizer` import PyJWT, which loads `cryptography` when it is "
        "installed: it is here (moto needs it), not in the layer, so their figures run high.",
        "",
        f"Worst handler, tracing off: `{worst[0]}`, "
        f"{md.ratio(worst[1]['median_ms'], base['median_ms'])} (target ≤ 1.25x).",
        "",
        *md.table(
            [
                "import",
                "median ms",
                "p90 ms",
                "÷ boto3 + client",
                "tracing on: median ms",
                "p90 ms",
                "÷ boto3 + client",
            ],
            rows,
        ),
        *(
            [
                "PynamoDB (`import pynamodb.models, pynamodb.attributes, "
                "pynamodb.transactions`): alone in a fresh interpreter (it brings botocore), "
                "after `import boto3`, and after `send`'s handler (tracing off), the shape "
                "of a handler whose data layer is built on it:",
                "",
                *md.table(["import", "median ms", "p90 ms", "÷ boto3 + client"], pynamodb),
            ]
            if pynamodb
            else []
        ),
        f"Where `{cold['importtime_of']}`'s import time goes (`-X importtime`, self time by "
        "top-level package), tracing off:",
        "",
        *md.table(["package", "ms"], shares),
        *(
            ["The same with tracing on:", "", *md.table(["package", "ms"], traced)]
            if traced
            else []
        ),
    ]


def _moto_section(rates: list[Rates]) -> list[str]:
    rows = [
        [
            f"{r['size']:,}",
            "patched" if r["patched"] else "as shipped",
            f"{r['transact_per_s']:,.1f}",
            f"{r['get_per_s']:,.0f}",
            f"{r['query_per_s']:,.0f}",
            f"{r['index_query_per_s']:,.1f}",
        ]
        for r in rates
    ]
    return [
        "## moto in-process: what a request costs as tables fill",
        "",
        "Requests/s on one thread, each size in a fresh mock with the template's tables: a "
        "4-item TransactWriteItems (a send's shape, replacing existing items), GetItem, a "
        "base-table Query and a GSI Query of 10 items. `patched` is the local stack's moto "
        "(local/moto_patches.py: a transaction rolls back the items it touched instead of "
        "deep-copying its tables; a base-table Query reads its partition).",
        "",
        *md.table(
            ["items/table", "moto", "TransactWriteItems/s", "GetItem/s", "Query/s", "GSI Query/s"],
            rows,
        ),
        "A GSI Query still reads every item (moto keeps no index): fan-out's ByChannel query "
        "grows with the memberships table.",
        "",
    ]


def _commit_to_frame(local: LocalLoad) -> list[str]:
    """Commit → first frame, on the fast path and when every send dies after its commit."""
    crash = local["crash"]

    def row(name: str, messages: int, timeouts: int, p: Percentiles) -> list[str]:
        cells = [f"{v:,.1f}" for v in (p["p50"], p["p95"], p["p99"], p["max"])]
        return [name, md.num(messages), str(timeouts), *cells]

    return [
        "Commit → first `message` frame at the receiving device: from the message's `ts` "
        "(stamped by the send just before its transaction, the server's wall clock) to the "
        "frame's arrival at the peer's socket (the load client's wall clock, the same "
        "machine's). *Fast path*: the load above, the send posting inline after its "
        f"commit. *Send dies after commit*: a second load ({crash['pairs']} pairs), the send "
        "function's fast post raising right after every commit, so that nothing it does "
        "after the commit reaches the receiver; each message then arrives only through the "
        "durable path: the stream's poller (it reads the stream every 0.1 s when idle), the "
        "delivery worker's retry probe, delayed `COURIER_RETRY_BASE_SECONDS` "
        f"({crash['retry_base_seconds']} s), and the retry worker's post.",
        "",
        *md.table(
            ["path", "messages", "timeouts", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            [
                row(
                    "fast path",
                    local["messages"],
                    local["timeouts"],
                    local["commit_to_frame_ms"],
                ),
                row(
                    "send dies after commit",
                    crash["messages"],
                    crash["timeouts"],
                    crash["commit_to_frame_ms"],
                ),
            ],
        ),
        f"After a crash, {crash['beyond_first_retry']} of {crash['messages']} messages came "
        f"more than 1 s after the probe's {crash['retry_base_seconds']} s. Whether the probe "
        "starts the device's retry chain for the channel or joins the one already running "
        "(an earlier message's, not yet acked), it posts its message itself, so what adds "
        "to the delay is the local stack: the stream's poller, the retry queue's poller "
        "(the lateness of delayed jobs is measured below) and the machine's load. A timeout "
        f"is a message whose frame did not come within {FRAME_TIMEOUT:g} s: a live "
        "delivery lost.",
        "",
    ]


def _local_section(local: LocalLoad) -> list[str]:
    lat, ack, top = local["latency_ms"], local["sendack_ms"], local["ceiling"]
    ratio = local["last_per_s"] / local["first_per_s"] if local["first_per_s"] else 0.0
    ceiling = local["ceiling_messages_per_s"]
    window = local["first_last_window"]
    headers = ["pairs", "messages", "s", "messages/s", f"first {window}/s", f"last {window}/s"]
    row = [
        str(local["pairs"]),
        md.num(local["messages"]),
        f"{local['seconds']:.1f}",
        f"{local['messages_per_s']:.1f}",
        f"{local['first_per_s']:.1f}",
        f"{local['last_per_s']:.1f}",
    ]
    ceiling_row = [
        f"{top['accepts_per_s_empty']:.1f}",
        f"{top['accepts_per_s']:.1f}",
        f"{top['send_paths_per_s']:.1f}",
        f"{ceiling:.1f}",
    ]
    late = ", ".join(
        f"{delay} s: {lateness:+.3f} s" for delay, lateness in local["delay_lateness_s"]
    )
    return [
        "## Local stack: throughput and latency",
        "",
        f"`make run`'s stack (ServerThread on a free port) and, in another process, "
        f"{local['pairs']} pairs of raw aiohttp WebSocket clients playing DM ping-pong in a "
        f"closed loop until they have carried {local['messages']:,} messages: each message is "
        "timed from its `send` frame to the `message` frame at the peer, which acks it and "
        "answers. Retry probes run as deployed (2 s later, finding the acks).",
        "",
        *md.table(
            [*headers, "last/first", "p50 ms", "p99 ms", "timeouts"],
            [
                [
                    *row,
                    f"{ratio:.2f}",
                    f"{lat['p50']:.1f}",
                    f"{lat['p99']:.1f}",
                    str(local["timeouts"]),
                ]
            ],
        ),
        f"send → sendack: p50 {ack['p50']:.1f} ms, p90 {ack['p90']:.1f} ms, p99 "
        f"{ack['p99']:.1f} ms. The stack made {local['aws_calls_per_s']:.0f} AWS calls/s to "
        f"moto ({local['aws_calls_per_message']:.1f} per message: send, ack, probe, the "
        "pollers' receives that found jobs and their deletes; idle polls left out).",
        "",
        "The moto ceiling, in the same run, against the same in-process moto: the send "
        "path's own calls, made by Courier's layer functions in a loop on one thread (no "
        f"gateway, no Lambda emulation; {top['calls_per_send_path']} calls per send path). "
        "moto's calls/s on that path, divided by the stack's calls per message, is the most "
        "messages/s moto alone would allow:",
        "",
        *md.table(
            [
                "accept/s, empty tables",
                f"accept/s after {local['stored_messages']:,} messages",
                "send paths/s (accept, 2 Query, probe)",
                "ceiling messages/s",
            ],
            [ceiling_row],
        ),
        *_commit_to_frame(local),
        f"The stack carried {local['messages_per_s'] / ceiling:.0%} of that ceiling. "
        f"Delayed retry jobs reached the worker this late after their delay: {late}. "
        "1-minute load average before, after the load, after the ceiling: "
        f"{', '.join(f'{x:.2f}' for x in local['loadavg'])}.",
        "",
    ]


def write_report(results: Results, out: Path, images: list[str]) -> None:
    m = results["machine"]
    loads = "; ".join(
        f"{part} {', '.join(f'{x:.2f}' for x in avg)}"
        for part, avg in results.get("loadavg", {}).items()
    )
    seconds = ", ".join(f"{part} {s:.0f} s" for part, s in results.get("seconds", {}).items())
    lines = [
        "# Courier bench",
        "",
        f"`make bench` (`python -m bench`), {m['date']}, on {m['cores']} cores, Python "
        f"{m['python']}, {m['platform']}. Load average (1, 5, 15 min) when each part began: "
        f"{loads}. Wall time: {seconds}.",
        "",
        "Counts and dollars do not depend on the machine; timings do (cold imports, the "
        "local stack): they were disturbed when the load average exceeded the core count.",
        "",
    ]
    quick = results.get("quick_parts", [])
    if quick:
        lines += [f"**Run with `--quick` (smaller sizes) for: {', '.join(quick)}.**", ""]
    lines += [f"![{Path(i).stem}]({Path(i).name})" for i in images] + [""]
    if "cost" in results:
        lines += _cost_section(results["cost"])
        if "cost_v11" in results:
            lines += v11_section(results["cost_v11"], results["inline_limit"])
        if "cost_v11_part2" in results:
            lines += v11_part2_section(results["cost_v11_part2"], results["by_channel_entry_bytes"])
        lines += _floor_section(results["cost"])
        lines += _naive_section(int(str(results.get("sizes", {}).get("online", 0))))
        lines += _prices_section()
    if "coldstart" in results:
        lines += _coldstart_section(results["coldstart"])
    if "moto" in results:
        lines += _moto_section(results["moto"])
    if "local" in results:
        lines += _local_section(results["local"])
    lines += [
        "## Not measured",
        "",
        "- Real AWS: latencies and Lambda durations (modelled above), throttling, cold starts "
        "as Lambda runs them (init of the runtime and the layer's extraction).",
        "- moto is not DynamoDB: the local stack's figures bound nothing in production.",
        "- Devices per user: every scenario has one; more devices multiply posts, acks and "
        "probes (and the naive baseline's unread increments).",
        "",
        "## Re-running",
        "",
        '`make bench` runs everything (a few minutes); `make bench ARGS="--parts local '
        'coldstart"` re-runs the timed parts alone (on a quiet machine) and rebuilds '
        "this report with the other parts' saved results (bench/results/results.json); "
        "`--quick` shrinks every size for a smoke run.",
        "",
    ]
    out.write_text("\n".join(lines))
