"""A run's outcome as a table for people and as JSON for tools."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.checker import CHECKS, DETAILS_KEPT, Verdict
from chaos.config import REPRODUCIBILITY
from chaos.history import History, Request
from chaos.outcome import Outcome

SHOWN_PER_CHECK = 5
SHOWN_PENDING = 8  # lines of what was pending, per drain step
NOT_CHECKED = "not checked (the drain did not finish)"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counter.items())) or "none"


def _max_copies(outcome: Outcome) -> int:
    return max(
        (count for copies in outcome.history.copies.values() for count in copies.values()),
        default=0,
    )


def operations(history: History) -> dict[str, dict[str, int]]:
    """The v1.1 operations of a run: each kind of request asked, and how many got each
    answer (granted: `recall`, `edit`, `mute`; refused: `forbidden`...; failed:
    `throttled`, `internal`; or no answer); the sends that mentioned someone; and what
    the server holds after the drain (messages recalled and edited, conversations
    muted)."""
    found: dict[str, dict[str, int]] = {}
    requests: dict[str, Sequence[Request]] = {
        "recalls": history.recalls,
        "edits": history.edits,
        "mutes": [m for m in history.mutes if m.muted],
        "unmutes": [m for m in history.mutes if not m.muted],
    }
    for kind, asked in requests.items():
        found[kind] = {"asked": len(asked), **Counter(r.answer for r in asked)}
    found["mentions"] = {
        "sends": sum(bool(a.mentions) for a in history.attempts),
        "users mentioned": sum(len(a.mentions) for a in history.attempts),
    }
    found["server"] = {
        "recalled": sum(m.recalled for m in history.server_messages),
        "edited": sum(m.version > 0 for m in history.server_messages),
        "muted": sum(history.server_muted.values()),
    }
    return found


def _operations(history: History) -> str:
    return "; ".join(
        f"{kind} " + ", ".join(f"{name} {count}" for name, count in counts.items())
        for kind, counts in operations(history).items()
    )


def _drain(outcome: Outcome) -> str:
    return "; ".join(
        f"{name} {step.seconds:.1f} s, " + (step.why if step.status != "done" else "done")
        for name, step in outcome.drained.steps.items()
    )


def _latency(verdict: Verdict) -> str:
    latency = verdict.latency
    if latency is None:
        return "no message frame observed"
    return (
        f"p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms "
        f"over {latency['pairs']} (message, device) pairs"
    )


def _result(verdict: Verdict) -> str:
    found = sum(len(v) for v in verdict.violations.values())
    unrun = f"{len(verdict.not_checked)} checks not run"
    blind = f"{len(verdict.inconclusive)} checks could observe nothing"
    if verdict.result == "pass":
        return f"PASS ({found} violations)"
    if verdict.result == "fail" and not verdict.pending and not verdict.inconclusive:
        return f"FAIL ({found} violations)"
    if verdict.result == "fail":
        why = "; ".join(
            [f"the drain did not finish either: {unrun}"] * bool(verdict.pending)
            + [blind] * bool(verdict.inconclusive)
        )
        return f"FAIL ({found} violations; {why})"
    why = "; ".join(
        [f"the drain did not finish: {unrun}"] * bool(verdict.pending)
        + [blind] * bool(verdict.inconclusive)
    )
    return (
        f"INCONCLUSIVE ({why}; none of the {len(verdict.violations)} checks run found a violation)"
    )


def table(outcome: Outcome) -> str:
    config, verdict, population = outcome.config, outcome.verdict, outcome.population
    devices = sum(len(d) for d in population.devices.values())
    several = sum(len(d) > 1 for d in population.devices.values())
    seconds = outcome.seconds
    scale = f" (--scale {config.scale})" if config.scale != 1 else ""
    lines = [
        f"Courier chaos run, seed {config.seed}{scale}",
        f"  {config.users} users on {devices} devices ({several} users with more than one), "
        f"{len(population.dms)} DMs and {len(population.groups)} groups; "
        f"{config.messages} messages over ~{config.duration:g} s; "
        f"MAX_RETRIES {config.max_retries}, retry base {config.retry_base_seconds} s",
        "  time: " + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items()),
        f"  drain: {_drain(outcome)}",
        f"  network faults: {_counts(outcome.network_faults)}",
        f"  server faults:  {_counts(outcome.server_faults)}",
        f"  server retries: {verdict.redelivered} message frames beyond a device's first copy "
        f"(most copies of one message to one device: {_max_copies(outcome)})",
        f"  queues left after the drain: {_counts(Counter(outcome.queues_left))}; "
        f"dead letters: {_counts(Counter(outcome.dead_letters))}",
        f"  commit -> first message frame: {_latency(verdict)}",
        f"  v1.1 operations: {_operations(outcome.history)}",
        "",
        f"  {'check':<58}{'count':>7}",
        f"  {'messages attempted':<58}{verdict.attempted:>7}",
        f"  {'messages acknowledged':<58}{verdict.acknowledged:>7}",
        f"  {'messages stored':<58}{verdict.stored:>7}",
    ]
    for name, check in CHECKS.items():
        if name in verdict.violations:
            found = len(verdict.violations[name])
            mark = "ok" if found == 0 else "VIOLATION"
            judged = f" ({verdict.judged[name]})" if name in verdict.judged else ""
            lines.append(f"  {check.label:<58}{found:>7}  {mark}{judged}")
        elif name in verdict.inconclusive:
            why = verdict.inconclusive[name]
            lines.append(f"  {check.label:<58}{'-':>7}  INCONCLUSIVE: {why}")
        else:
            lines.append(f"  {check.label:<58}{'-':>7}  {NOT_CHECKED}")
    lines.append("")
    for name, check in CHECKS.items():
        for detail in verdict.violations.get(name, [])[:SHOWN_PER_CHECK]:
            lines.append(f"  {check.label}: {detail}")
    for step, left in verdict.pending.items():
        drained = outcome.drained.steps.get(step)
        why = f" ({drained.why})" if drained is not None else ""
        lines.append(f"  pending after the {step} step{why}:")
        lines += [f"    {line}" for line in left[:SHOWN_PENDING]]
        if len(left) > SHOWN_PENDING:
            lines.append(f"    ... and {len(left) - SHOWN_PENDING} more")
    lines.append(f"  result: {_result(verdict)}")
    lines.append(f"  {REPRODUCIBILITY}")
    return "\n".join(lines)


def to_json(outcome: Outcome) -> dict[str, Any]:
    verdict = outcome.verdict
    config = dataclasses.asdict(outcome.config)
    config["json_path"] = str(outcome.config.json_path)
    return {
        "seed": outcome.config.seed,
        "ok": verdict.ok,
        "result": verdict.result,
        "pending": {step: left[:DETAILS_KEPT] for step, left in verdict.pending.items()},
        "not_checked": list(verdict.not_checked),
        "inconclusive": dict(verdict.inconclusive),
        "judged": dict(verdict.judged),
        "latency_ms": verdict.latency,
        "drain": {
            name: {
                "status": step.status,
                "seconds": round(step.seconds, 2),
                "why": step.why,
                "pending": list(step.pending[:DETAILS_KEPT]),
            }
            for name, step in outcome.drained.steps.items()
        },
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
        # null: not checked (the drain did not finish), or inconclusive (nothing observable)
        "violations": {
            name: len(verdict.violations[name]) if name in verdict.violations else None
            for name in CHECKS
        },
        "details": {name: found[:DETAILS_KEPT] for name, found in verdict.violations.items()},
        "operations": operations(outcome.history),
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
