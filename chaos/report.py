"""A run's outcome as a table for people and as JSON for tools."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

from chaos.checker import CHECKS, DETAILS_KEPT
from chaos.config import REPRODUCIBILITY
from chaos.run import Outcome

SHOWN_PER_CHECK = 5


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counter.items())) or "none"


def _max_copies(outcome: Outcome) -> int:
    return max(
        (count for copies in outcome.history.copies.values() for count in copies.values()),
        default=0,
    )


def table(outcome: Outcome) -> str:
    config, verdict, population = outcome.config, outcome.verdict, outcome.population
    devices = sum(len(d) for d in population.devices.values())
    seconds = outcome.seconds
    lines = [
        f"Courier chaos run, seed {config.seed}",
        f"  {config.users} users on {devices} devices, {len(population.dms)} DMs and "
        f"{len(population.groups)} groups; {config.messages} messages over ~{config.duration:g} s; "
        f"MAX_RETRIES {config.max_retries}, retry base {config.retry_base_seconds} s",
        "  time: " + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items()),
        f"  network faults: {_counts(outcome.network_faults)}",
        f"  server faults:  {_counts(outcome.server_faults)}",
        f"  server retries: {verdict.redelivered} message frames beyond a device's first copy "
        f"(most copies of one message to one device: {_max_copies(outcome)})",
        f"  queues left after the drain: {_counts(Counter(outcome.queues_left))}; "
        f"dead letters: {_counts(Counter(outcome.dead_letters))}",
        "",
        f"  {'check':<58}{'count':>7}",
        f"  {'messages attempted':<58}{verdict.attempted:>7}",
        f"  {'messages acknowledged':<58}{verdict.acknowledged:>7}",
        f"  {'messages stored':<58}{verdict.stored:>7}",
    ]
    for name, (label, _) in CHECKS.items():
        found = len(verdict.violations[name])
        lines.append(f"  {label:<58}{found:>7}  {'ok' if found == 0 else 'VIOLATION'}")
    lines.append("")
    for name, (label, _) in CHECKS.items():
        for detail in verdict.violations[name][:SHOWN_PER_CHECK]:
            lines.append(f"  {label}: {detail}")
    total = sum(len(v) for v in verdict.violations.values())
    lines.append(f"  result: {'PASS' if verdict.ok else 'FAIL'} ({total} violations)")
    lines.append(f"  {REPRODUCIBILITY}")
    return "\n".join(lines)


def to_json(outcome: Outcome) -> dict[str, Any]:
    verdict = outcome.verdict
    config = dataclasses.asdict(outcome.config)
    config["json_path"] = str(outcome.config.json_path)
    return {
        "seed": outcome.config.seed,
        "ok": verdict.ok,
        "config": config,
        "population": dataclasses.asdict(outcome.population),
        "seconds": {name: round(value, 2) for name, value in outcome.seconds.items()},
        "counts": {
            "attempted": verdict.attempted,
            "acknowledged": verdict.acknowledged,
            "stored": verdict.stored,
            "redelivered": verdict.redelivered,
            "max_copies": _max_copies(outcome),
        },
        "violations": {name: len(found) for name, found in verdict.violations.items()},
        "details": {name: found[:DETAILS_KEPT] for name, found in verdict.violations.items()},
        "faults": {
            "network": dict(outcome.network_faults),
            "server": dict(outcome.server_faults),
            "server_places": dict(outcome.server_fault_places),
        },
        "queues_left": outcome.queues_left,
        "dead_letters": outcome.dead_letters,
        "note": REPRODUCIBILITY,
    }


def write_json(outcome: Outcome, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(outcome), indent=2, sort_keys=True) + "\n")
