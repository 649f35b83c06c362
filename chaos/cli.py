"""The command line of `python -m chaos`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from chaos.config import (
    DEFAULT_NETWORK,
    DEFAULT_SERVER,
    REPRODUCIBILITY,
    ChaosConfig,
    NetworkRates,
)
from local.faults import ServerFaultRates

HELP = {
    "drop_ack": "per ack frame a device sends: lost",
    "drop_out": "per other frame a device sends: lost",
    "duplicate_out": "per send frame: arrives twice",
    "cut_send": "per send frame: the connection dies right after it left",
    "drop_in": "per frame the server sends a device: lost",
    "duplicate_in": "per frame the server sends a device: arrives twice",
    "storm_seconds": "mean seconds between reconnect storms (0: none)",
    "crash": "per write call of a function: an exception just before or after it",
    "throttle": "per DynamoDB call: ProvisionedThroughputExceededException",
    "conflict": "per TransactWriteItems: cancelled by a TransactionConflict",
    "gone": "per PostToConnection: the connection drops, 410 GoneException",
    "limit": "per PostToConnection: 429 LimitExceededException",
    "duplicate_job": "per batch of a standard SQS queue: delivered twice",
    "invocation": "per invocation: the function fails after its work",
    "crash_after_commit": "per committed send transaction: `send` dies right after it, before "
    "any post or queue call (the client resends and gets duplicate: true)",
}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _rates(parser: argparse.ArgumentParser, title: str, defaults: Any) -> None:
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(defaults):
        default = getattr(defaults, field.name)
        group.add_argument(
            _option(field.name),
            type=float,
            default=default,
            metavar="P" if field.name != "storm_seconds" else "S",
            help=f"{HELP[field.name]} ({default})",
        )


SIZE = ("users", "groups", "messages", "duration")  # set by --scale unless given
TEN = ChaosConfig().scaled(10)
SCALE_HELP = (
    "N times the default run: N times the messages, 5N users and N groups (never fewer "
    "than the defaults), each device at the default pace; --scale 10 is "
    f"{TEN.users} users, {TEN.groups} groups, {TEN.messages:,} messages over "
    f"{TEN.duration:g} s. --users, --groups, --messages and --duration given as well win"
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    base = ChaosConfig()
    p = argparse.ArgumentParser(
        prog="python -m chaos",
        description="Many simulated devices against the local stack, faults on both sides, "
        "then a drain and a checker of Courier's guarantees. Exits 0 when every guarantee "
        "held, 1 on any violation, 3 when the drain could not finish (INCONCLUSIVE: the "
        "report lists what was still pending, and the checks that need a finished drain "
        "are not run). " + REPRODUCIBILITY,
    )
    options: list[tuple[str, type, str]] = [
        ("seed", int, "drives every random decision"),
        ("users", int, "simulated users (some have two devices)"),
        ("groups", int, "groups besides the DMs"),
        ("messages", int, "messages sent in all"),
        ("duration", float, "seconds to spread the sends over"),
        (
            "offline_share",
            float,
            "of a device's actions: it goes offline for 0.5-4 s (and keeps acting)",
        ),
        (
            "deaf",
            int,
            "listeners in every group, never offline nor cut by storms or injected 410s, "
            "whose every ack the network loses while faults are on: the server must retry "
            "every message to them",
        ),
        (
            "absent",
            int,
            "members in every group who never connect: every group message not recalled "
            "owes them a push",
        ),
        ("retry_base_seconds", int, "COURIER_RETRY_BASE_SECONDS of the stack"),
        ("max_retries", int, "COURIER_MAX_RETRIES of the stack"),
        ("fanout_inline_limit", int, "groups larger than this are delivered by fan-out jobs"),
        ("visibility_seconds", int, "a failed SQS batch comes back after this"),
        (
            "notify_coalesce_seconds",
            int,
            "COURIER_NOTIFY_COALESCE_SECONDS of the stack: notification jobs wait this long",
        ),
        (
            "recall_seconds",
            int,
            "COURIER_RECALL_SECONDS of the stack: a sender may recall a message this long",
        ),
        (
            "decide_seconds",
            float,
            "the missed-notification check counts a member offline when no device of theirs "
            "was connected from just before a commit until this long after it",
        ),
        (
            "stall_seconds",
            float,
            "a drain step gives up (INCONCLUSIVE) when nothing it waits for has moved for "
            "this long; the queue step adds a whole retry chain and the visibility timeout",
        ),
        (
            "drain_seconds",
            float,
            "a drain step still moving gives up after this plus a share per unit of work it "
            "saw pending (outbox message, job, read, missing seq)",
        ),
        ("json_path", Path, "where to write the JSON report"),
    ]
    p.add_argument("--scale", type=_positive, default=1, metavar="N", help=SCALE_HELP)
    for name, kind, text in options:
        default = getattr(base, name)
        flag, metavar = ("--json", "PATH") if name == "json_path" else (_option(name), "N")
        p.add_argument(
            flag,
            dest=name,
            type=kind,
            default=None if name in SIZE else default,
            metavar=metavar,
            help=f"{text} ({default}{', or as --scale sets it' if name in SIZE else ''})",
        )
    p.add_argument("--no-faults", action="store_true", help="the same run without any fault")
    p.add_argument("--verbose", action="store_true", help="the handlers' warnings and errors")
    _rates(p, "network faults (probabilities)", DEFAULT_NETWORK)
    _rates(p, "server faults (probabilities)", DEFAULT_SERVER)
    return p


def parse(argv: list[str]) -> ChaosConfig:
    args = parser().parse_args(argv)
    values = vars(args)
    network = NetworkRates(**{f.name: values[f.name] for f in dataclasses.fields(NetworkRates)})
    server = ServerFaultRates(
        **{f.name: values[f.name] for f in dataclasses.fields(ServerFaultRates)}
    )
    sized = ChaosConfig().scaled(args.scale)
    general = {
        f.name: values[f.name] if values[f.name] is not None else getattr(sized, f.name)
        for f in dataclasses.fields(ChaosConfig)
        if f.name not in ("network", "server")
    }
    config = ChaosConfig(**general, network=network, server=server)
    return config.without_faults() if args.no_faults else config
