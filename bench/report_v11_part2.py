"""REPORT.md's section on protocol v1.1 part 2's operations: receipts, typing, presence."""

from __future__ import annotations

import math

from bench import markdown as md
from bench.billing import READ_UNIT_BYTES, WRITE_UNIT_BYTES, item_size
from bench.prices import PRICES
from bench.report_v11 import calls_table, sizes_of
from bench.results import BillRow, V11Cost

QUERY = "dynamodb.Query"
QUERY_PAGE_BYTES = 1024 * 1024
# A ByChannel entry at its largest: a group named with 64 characters, a 64-character user
# id, a read cursor of ten digits.
LONGEST_ENTRY_BYTES = item_size(
    {"channel": {"S": "g:" + "x" * 64}, "userId": {"S": "u" * 64}, "readSeq": {"N": "9" * 10}}
)


def _usd(row: BillRow) -> str:
    return md.per_million(row["usd"]["total"])


def _receipts(rows: dict[str, V11Cost], read: BillRow, entry_bytes: int) -> list[str]:
    sizes = sizes_of(rows, "receipts_")
    parts = []
    for n in sizes:
        row = rows[f"receipts_{n}"]["ours"]
        pages = row["by_operation"].get(QUERY, 0)
        parts.append(
            f"{n:,} members: {row['calls']} calls ({pages} Query "
            f"{'page' if pages == 1 else 'pages'}), {md.num(row['rru'])} RRU, {_usd(row)}"
        )
    small, large = rows[f"receipts_{sizes[0]}"]["ours"], rows[f"receipts_{sizes[-1]}"]["ours"]
    members_per_rru = (sizes[-1] - sizes[0]) / (large["rru"] - small["rru"])
    worst_rru = 0.5 * math.ceil(sizes[-1] * LONGEST_ENTRY_BYTES / READ_UNIT_BYTES)
    worst_usd = worst_rru * PRICES["rru"].usd / PRICES["rru"].per
    return [
        "- **receipts** per million calls: " + "; ".join(parts) + ". Only the ByChannel "
        f"Query grows with the group: one read unit per {members_per_rru:,.0f} members "
        f"(eventually consistent, 4 KB a unit); a Query page (1 MB) holds "
        f"{QUERY_PAGE_BYTES // entry_bytes:,} index entries of {entry_bytes} bytes (ids as "
        f"short as the bench's; 64-character ones make an entry {LONGEST_ENTRY_BYTES} "
        f"bytes, {QUERY_PAGE_BYTES // LONGEST_ENTRY_BYTES:,} a page, and {sizes[-1]:,} "
        f"members' entries {md.num(worst_rru)} RRU, {md.per_million(worst_usd)} of reads "
        f"per million calls). At {sizes[-1]:,} members a receipts call costs "
        f"{md.ratio(large['usd']['total'], read['usd']['total'])} a DM `read`: no throttle "
        "or cache is warranted by cost (the Lambda duration is modelled per call, so the "
        "larger page's transfer time is not in it).",
    ]


def _index_write(entry_bytes: int) -> str:
    units = math.ceil(entry_bytes / WRITE_UNIT_BYTES)
    usd = units * PRICES["wru"].usd / PRICES["wru"].per
    return (
        f"- **The ByChannel index write**: every move of a read cursor (a `read`, a send's "
        f"own cursor) also writes the member's index entry ({entry_bytes} bytes at most "
        f"here: {units} WRU, {md.per_million(usd)} per million cursor moves). moto "
        "returns no consumed capacity for an index, so the rows above leave it out; it is "
        "computed from the entries the receipts Queries read."
    )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _delta(more: BillRow, fewer: BillRow) -> str:
    calls = more["calls"] - fewer["calls"]
    messages = more["api_messages"] - fewer["api_messages"]
    usd = more["usd"]["total"] - fewer["usd"]["total"]
    return (
        f"{_plural(calls, 'call')}, {_plural(messages, 'API Gateway message')} and "
        f"{md.per_million(usd)}"
    )


def _findings(rows: dict[str, V11Cost], entry_bytes: int) -> list[str]:
    ours = {key: row["ours"] for key, row in rows.items()}
    presence = sizes_of(rows, "presence_")
    idle = next(key for key in rows if key.startswith("presence_idle_"))
    idle_users = int(idle.removeprefix("presence_idle_"))
    first, last = ours[f"presence_{presence[0]}"], ours[f"presence_{presence[-1]}"]
    users = presence[-1] - presence[0]
    typing = [key for key in rows if key.startswith("typing_") and key[7:].isdigit()]
    relayed, dropped = (ours[key] for key in sorted(typing, key=lambda k: int(k[7:])))
    return [
        *_receipts(rows, ours["read_dm"], entry_bytes),
        _index_write(entry_bytes),
        "- **Receipt frames**: a DM `read` costs "
        f"{_delta(ours['read_dm'], ours['read_group'])} more than a read without one (the "
        "peer's connections, one Query, and the post); a DM send's receipt is one post to "
        "the connections its fast path already found (no read), here "
        f"{md.num(ours['send_dm']['api_messages'])} API Gateway messages for the send, its "
        "delivery, the receipt and the ack. A conversation page adds one BatchGetItem of "
        "its DM peers' rows (`peerReadSeq`).",
        f"- **typing** costs {_usd(ours['typing_dm'])} per million in a DM, "
        f"{_usd(relayed)} in a group of {typing[0][7:]} (a Query and a post per other "
        f"member), {_usd(ours['typing_throttled'])} throttled (the refused conditional "
        f"write, 1 WRU) and {_usd(dropped)} dropped above FanoutInlineLimit (one page of "
        "members).",
        f"- **presence**: each user asked adds "
        f"{(last['calls'] - first['calls']) / users:.2f} calls and "
        f"{(last['rru'] - first['rru']) / users:.2f} RRU (their connections, and their "
        f"DM's counter row); {presence[-1]} users cost {_usd(last)} per million calls. "
        f"With {idle_users} connections idle 10 minutes, each adds a `GetConnection` and "
        "an UpdateItem (activeAt): "
        f"{_delta(ours[idle], ours[f'presence_{idle_users}'])} in all. The bench bills "
        "each @connections call as one API Gateway message, `GetConnection` included "
        "(AWS's price list names only messages and connection minutes: an upper bound).",
        "",
    ]


def v11_part2_section(cost: list[V11Cost], entry_bytes: int) -> list[str]:
    rows = {r["key"]: r for r in cost}
    return [
        "### Protocol v1.1, part 2: receipts, typing, presence",
        "",
        "Courier's alone, measured as part 1's rows: the frame through its handler, then "
        "every job it queued run to its end. The receipts rows' caller sent the message and "
        "half of the other members have read it (each by a `read`); the typing rows' "
        "members are all online; the presence rows' users each have a DM holding a message "
        "with the caller and one device, connected just now (no `GetConnection`) or over "
        "10 minutes ago. The DM read and send rows count the receipt frames they now post. "
        "tests/unit/test_bench_v11_part2.py holds the calls.",
        "",
        *_findings(rows, entry_bytes),
        *md.table(md.UNIT_HEADERS, [md.units_row(r["title"], r["ours"]) for r in cost]),
        *calls_table(cost),
    ]
