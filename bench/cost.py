"""Cost per operation: Courier's, the floor's and the naive baseline's, billed and priced;
protocol v1.1's operations, Courier's alone (the floor and the baseline model v1 only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bench import floor as floors
from bench import naive, scenarios, scenarios_v11
from bench import scenarios_v11_part2 as part2
from bench.billing import Bill, bill, item_size
from bench.moto_env import Bench, moto_courier
from bench.prices import cost
from bench.recorder import Trace
from bench.results import BillRow, CostResult, V11Cost
from bench.scenarios import Sizes
from local.template import load_template, stream_mappings

Scenario = Callable[[Bench, Sizes], Trace]


@dataclass(frozen=True)
class Operation:
    key: str
    title: str
    ours: Scenario
    naive: Scenario
    floor: Callable[[], floors.Floor]


def operations(sizes: Sizes) -> list[Operation]:
    groups = [
        Operation(
            f"group_{n}",
            f"Group of {n:,}: send, deliver, every device acks",
            partial(scenarios.group_send, members=n),
            partial(naive.group_send, members=n),
            partial(floors.group_send, n),
        )
        for n in sizes.groups
    ]
    return [
        Operation("dm", "DM: send, deliver, ack, read", scenarios.dm, naive.dm, floors.dm),
        Operation(
            "dm_offline",
            "DM to an offline user: push notification",
            scenarios.dm_offline,
            naive.dm_offline,
            floors.dm_offline,
        ),
        Operation(
            "dm_unacked",
            "DM never acked: 1 + 5 retries",
            scenarios.dm_unacked,
            naive.dm_unacked,
            floors.dm_unacked,
        ),
        *groups,
        Operation(
            "sync_conversations",
            f"sync: conversation list ({sizes.conversations})",
            scenarios.sync_conversations,
            naive.sync_conversations,
            partial(floors.sync_conversations, sizes.conversations),
        ),
        Operation(
            "sync_messages",
            f"sync: a page of {sizes.page} messages",
            scenarios.sync_messages,
            naive.sync_messages,
            partial(floors.sync_messages, sizes.page),
        ),
    ]


@dataclass(frozen=True)
class V11Operation:
    key: str
    title: str
    ours: Scenario


def inline_limit() -> int:
    """FanoutInlineLimit's default (template.yaml): the largest group a frame about a
    message is posted to inline."""
    return int(load_template()["Parameters"]["FanoutInlineLimit"]["Default"])


def group(n: int) -> str:
    """`group of 1,000 (above FanoutInlineLimit)`."""
    return f"group of {n:,}" + (" (above FanoutInlineLimit)" if n > inline_limit() else "")


def v11_operations(sizes: Sizes) -> list[V11Operation]:
    v11 = scenarios_v11
    return [
        V11Operation("recall_dm", "recall: DM", v11.recall_dm),
        *(
            V11Operation(f"recall_{n}", f"recall: {group(n)}", partial(v11.recall_group, members=n))
            for n in sizes.groups
        ),
        V11Operation(
            "admin_recall",
            f"admin recall: {group(sizes.groups[0])}",
            partial(v11.admin_recall, members=sizes.groups[0]),
        ),
        V11Operation("edit_dm", "edit: DM", v11.edit_dm),
        *(
            V11Operation(f"edit_{n}", f"edit: {group(n)}", partial(v11.edit_group, members=n))
            for n in sizes.groups
        ),
        V11Operation("mute", f"mute ({sizes.conversations} conversations)", v11.mute),
        V11Operation(
            "unmute",
            f"unmute ({sizes.conversations} conversations)",
            partial(v11.mute, muted=False),
        ),
        *(
            V11Operation(
                f"mentions_{n}",
                f"{group(sizes.mention_group).capitalize()}: send naming {n}, deliver, "
                "every device acks",
                partial(scenarios.group_send, members=sizes.mention_group, mentions=n),
            )
            for n in sizes.mentions
        ),
        V11Operation(
            "read_mention",
            f"read that drops a mention: {group(sizes.groups[0])}",
            partial(v11.read_mention, mentioned=True),
        ),
    ]


def v11_part2_operations(sizes: Sizes) -> list[V11Operation]:
    small, large, idle = sizes.groups[0], sizes.groups[-1], sizes.presence[1]
    return [
        *(
            V11Operation(
                f"receipts_{n}",
                f"receipts: {group(n)}, half have read",
                partial(part2.receipts, members=n),
            )
            for n in sizes.receipts
        ),
        V11Operation("read_dm", "read: DM (a receipt to the peer)", part2.read_dm),
        V11Operation(
            "read_group",
            f"read: {group(small)} (no receipt: a v1 read)",
            partial(scenarios_v11.read_mention, mentioned=False),
        ),
        V11Operation("send_dm", "send: DM, deliver, ack (a receipt to the peer)", part2.send_dm),
        V11Operation(
            "sync_conversations",
            f"sync: conversation list ({sizes.conversations}, half DMs: peerReadSeq)",
            scenarios.sync_conversations,
        ),
        V11Operation("typing_dm", "typing: DM, relayed", part2.typing),
        V11Operation(
            "typing_throttled",
            "typing: DM, the second within 3 s (throttled)",
            partial(part2.typing, throttled=True),
        ),
        V11Operation(
            f"typing_{small}",
            f"typing: {group(small)}, relayed",
            partial(part2.typing, members=small),
        ),
        V11Operation(
            f"typing_{large}",
            f"typing: {group(large)}, dropped",
            partial(part2.typing, members=large, relayed=False),
        ),
        *(
            V11Operation(
                f"presence_{n}",
                f"presence: {n:,} {'user' if n == 1 else 'users'}, online",
                partial(part2.presence, users=n),
            )
            for n in sizes.presence
        ),
        V11Operation(
            f"presence_idle_{idle}",
            f"presence: {idle:,} users, online, idle 10 min (GetConnection each)",
            partial(part2.presence, users=idle, idle=True),
        ),
    ]


def by_channel_entry_bytes(traces: list[Trace]) -> int:
    """The largest ByChannel index entry the traces' index Queries read (DynamoDB's item
    size): what each move of a read cursor writes to the index, as well as the table."""
    entries = [
        item
        for trace in traces
        for call in trace.calls()
        if call.name == "dynamodb.Query" and call.params.get("IndexName") == "ByChannel"
        for item in call.response.get("Items", [])
    ]
    return max(item_size(item) for item in entries)


def bill_row(priced: Bill) -> BillRow:
    return {
        "calls": priced.calls,
        "by_operation": dict(sorted(priced.by_operation.items())),
        "wru": priced.wru,
        "rru": priced.rru,
        "sqs_requests": priced.sqs_standard + priced.sqs_fifo,
        "sqs_fifo": priced.sqs_fifo,
        "api_messages": priced.api_messages,
        "http_requests": priced.http_requests,
        "lambda_invocations": priced.lambda_invocations,
        "lambda_gb_seconds": priced.lambda_gb_seconds,
        "sns_publishes": priced.sns_publishes,
        "log_bytes": priced.log_bytes,
        "usd": cost(priced),
    }


def measure(scenario: Scenario, sizes: Sizes) -> Trace:
    """Run one scenario in a fresh Courier over moto; what it recorded."""
    with moto_courier() as bench:
        return scenario(bench, sizes)


def stream_batch_size() -> int:
    """The BatchSize of the messages table's stream event source (template.yaml)."""
    (mapping,) = stream_mappings(load_template())
    return int(mapping["BatchSize"])


def run_cost(sizes: Sizes, progress: Callable[[str], None]) -> list[CostResult]:
    results: list[CostResult] = []
    batch = stream_batch_size()
    for op in operations(sizes):
        progress(f"cost: {op.title}")
        floor_trace, reasoning = op.floor()
        ours = measure(op.ours, sizes)
        results.append(
            {
                "key": op.key,
                "title": op.title,
                "ours": bill_row(bill(ours)),
                "floor": bill_row(bill(floor_trace)),
                "naive": bill_row(bill(measure(op.naive, sizes))),
                "floor_reasoning": reasoning,
                "stream_batch": batch,
                "ours_batched": bill_row(bill(ours, stream_batch=batch)),
                "floor_batched": bill_row(bill(floor_trace, stream_batch=batch)),
            }
        )
    return results


def run_cost_v11(sizes: Sizes, progress: Callable[[str], None]) -> list[V11Cost]:
    results: list[V11Cost] = []
    for op in v11_operations(sizes):
        progress(f"cost: {op.title}")
        results.append(
            {"key": op.key, "title": op.title, "ours": bill_row(bill(measure(op.ours, sizes)))}
        )
    return results


def run_cost_v11_part2(sizes: Sizes, progress: Callable[[str], None]) -> tuple[list[V11Cost], int]:
    """The rows, and the largest ByChannel index entry the receipts rows read."""
    results: list[V11Cost] = []
    receipts: list[Trace] = []
    for op in v11_part2_operations(sizes):
        progress(f"cost: {op.title}")
        trace = measure(op.ours, sizes)
        if op.key.startswith("receipts_"):
            receipts.append(trace)
        results.append({"key": op.key, "title": op.title, "ours": bill_row(bill(trace))})
    return results, by_channel_entry_bytes(receipts)
