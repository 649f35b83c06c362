"""REPORT.md's section on protocol v1.1 part 1's operations: recall, edit, mentions, mute."""

from __future__ import annotations

from itertools import groupby

from bench import markdown as md
from bench.results import BillRow, V11Cost

SERVICE_NAMES = {
    "dynamodb": "DynamoDB",
    "apigatewaymanagementapi": "API Gateway",
    "sqs": "SQS",
    "sns": "SNS",
}
HTTP_COLUMN = 6  # after "API GW messages"


def calls_by_service(row: BillRow) -> str:
    """`DynamoDB: GetItem 2, Query 3; API Gateway: PostToConnection 1`."""
    services = groupby(row["by_operation"].items(), key=lambda item: item[0].split(".")[0])
    return "; ".join(
        f"{SERVICE_NAMES.get(service, service)}: "
        + ", ".join(f"{name.split('.')[1]} {n:,}" for name, n in calls)
        for service, calls in services
    )


def calls_table(cost: list[V11Cost]) -> list[str]:
    """Each operation's AWS calls, by service and operation."""
    return md.table(
        ["operation", "AWS calls by service and operation"],
        [[r["title"], calls_by_service(r["ours"])] for r in cost],
        left=2,
    )


def _per_member(rows: dict[str, V11Cost], kind: str, sizes: list[int]) -> str:
    """What one more member adds to a `kind` (recall, edit) between the smallest and the
    largest of `sizes`."""
    small, large = rows[f"{kind}_{sizes[0]}"]["ours"], rows[f"{kind}_{sizes[-1]}"]["ours"]
    members = sizes[-1] - sizes[0]
    calls = (large["calls"] - small["calls"]) / members
    rru = (large["rru"] - small["rru"]) / members
    return f"{calls:.2f} calls and {rru:.2f} RRU"


def _findings(rows: dict[str, V11Cost], groups: list[int], mentions: list[int]) -> list[str]:
    lines = []
    if len(groups) > 1:
        lines.append(
            "- Per member of a group, a recall adds "
            f"{_per_member(rows, 'recall', groups)} and an edit "
            f"{_per_member(rows, 'edit', groups)} (groups of {groups[0]:,} to "
            f"{groups[-1]:,}): the member's connections (a Query) and the post to each; a "
            "recall also reads the membership rows of members online (one BatchGetItem per "
            "100) for each one's unread."
        )
    none, most = rows[f"mentions_{mentions[0]}"]["ours"], rows[f"mentions_{mentions[-1]}"]["ours"]
    named, calls = mentions[-1] - mentions[0], most["calls"] - none["calls"]
    if named:
        usd = most["usd"]["total"] - none["usd"]["total"]
        lines.append(
            f"- Naming {named} members adds {md.num(most['wru'] - none['wru'])} WRU (one "
            "transaction item each, billed twice), "
            f"{md.num(most['rru'] - none['rru'])} RRU and {calls} "
            f"{'call' if calls == 1 else 'calls'} (the BatchGetItem that checks who is a "
            f"member) to a send: {md.per_million(usd)} per million sends."
        )
    return [*lines, ""]


def sizes_of(rows: dict[str, V11Cost], prefix: str) -> list[int]:
    """The sizes measured for `prefix` (`recall_` -> [10, 100, 1000])."""
    tails = (key.removeprefix(prefix) for key in rows if key.startswith(prefix))
    return sorted(int(tail) for tail in tails if tail.isdigit())


def v11_section(cost: list[V11Cost], inline_limit: int) -> list[str]:
    rows = {r["key"]: r for r in cost}
    groups = [n for n in sizes_of(rows, "recall_") if n <= inline_limit]
    mentions = sizes_of(rows, "mentions_")
    headers = list(md.UNIT_HEADERS)
    headers.insert(HTTP_COLUMN, "HTTP API requests")
    units = []
    for r in cost:
        cells = md.units_row(r["title"], r["ours"])
        cells.insert(HTTP_COLUMN, md.num(r["ours"]["http_requests"]))
        units.append(cells)
    return [
        "### Protocol v1.1, part 1: recall, edit, mentions, mute",
        "",
        "Courier's alone (the floor and the naive baseline model protocol v1), measured as "
        "above: the frame (or the admin API's request) through its handler, then every job "
        "it queued run to its end, so a frame about a message is counted however it reaches "
        "the members, posted inline or by fan-out jobs; above `FanoutInlineLimit` the rows "
        "measure what the code does today. A recall or an edit acts on a message every "
        "member's device already has; the mute rows' user has the conversations of the "
        "conversation-list sync above and one device (a mute is posted to the user's other "
        "devices: none here). The mention rows are the group send above with the sender "
        "naming members (0: none). The read of a mention costs what a read that passes no "
        "mention does: the same UpdateItem drops the seq (tests/unit/test_bench_v11.py holds "
        "the two equal).",
        "",
        *_findings(rows, groups, mentions),
        *md.table(headers, units),
        *calls_table(cost),
    ]
