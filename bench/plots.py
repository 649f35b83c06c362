"""PNG plots of a run's results (matplotlib, Agg backend; only `make bench` installs it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bench.prices import SERVICES
from bench.results import BillRow, ColdStart, CostResult, LocalLoad, Results

COLORS = {"ours": "#2b6cb0", "floor": "#38a169", "naive": "#c53030"}
LABELS = {"ours": "Courier", "floor": "floor", "naive": "naive baseline"}


def _save(figure: Figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return str(path)


def _grouped(
    cost: list[CostResult], value: Callable[[BillRow], float], xlabel: str, path: Path
) -> str:
    """Horizontal bars per operation: ours, floor, naive (log scale)."""
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(cost) + 1.5))
    y = np.arange(len(cost))
    for i, (kind, rows) in enumerate(
        (
            ("ours", [r["ours"] for r in cost]),
            ("floor", [r["floor"] for r in cost]),
            ("naive", [r["naive"] for r in cost]),
        )
    ):
        values = [value(row) for row in rows]
        axes.barh(y + (i - 1) * 0.27, values, height=0.27, color=COLORS[kind], label=LABELS[kind])
    axes.set_yticks(y, [r["title"] for r in cost])
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.legend(loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def _breakdown(cost: list[CostResult], path: Path) -> str:
    """Courier's dollars per operation, split by service (shares of the total)."""
    services = list(dict.fromkeys(SERVICES.values()))
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(cost) + 1.5))
    left = np.zeros(len(cost))
    for service in services:
        shares = np.array(
            [
                sum(r["ours"]["usd"][k] for k, s in SERVICES.items() if s == service)
                / r["ours"]["usd"]["total"]
                for r in cost
            ]
        )
        axes.barh(range(len(cost)), shares * 100, left=left, label=service)
        left += shares * 100
    axes.set_yticks(range(len(cost)), [r["title"] for r in cost])
    axes.invert_yaxis()
    axes.set_xlabel("share of Courier's $ per operation (%)")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(services), fontsize=8)
    return _save(figure, path)


def _coldstart(cold: ColdStart, path: Path) -> str:
    names = [*cold["handlers"], "boto3 + client"]
    spreads = [*cold["handlers"].values(), cold["baseline"]]
    medians = [s["median_ms"] for s in spreads]
    errors = [[0.0] * len(spreads), [s["p90_ms"] - s["median_ms"] for s in spreads]]
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    colors = [COLORS["ours"]] * len(cold["handlers"]) + ["#718096"]
    axes.barh(names, medians, xerr=errors, color=colors, capsize=3)
    axes.axvline(1.25 * cold["baseline"]["median_ms"], color="#1a202c", linestyle="--", linewidth=1)
    axes.invert_yaxis()
    axes.set_xlabel("cold import, ms (median; whisker to p90; dashed: 1.25x boto3 + client)")
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def _latency(local: LocalLoad, path: Path) -> str:
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.hist(local["latencies_ms"], bins=60, color=COLORS["ours"])
    lat = local["latency_ms"]
    for name, value in (("p50", lat["p50"]), ("p90", lat["p90"]), ("p99", lat["p99"])):
        axes.axvline(value, color="#1a202c", linestyle="--", linewidth=1)
        axes.annotate(name, (value, axes.get_ylim()[1] * 0.9), rotation=90, fontsize=8)
    axes.set_xlabel("send → message at the peer, ms")
    axes.set_ylabel("messages")
    axes.set_title(
        f"local stack: {local['pairs']} DM pairs, {local['messages_per_s']:.1f} messages/s; "
        f"moto's ceiling: {local['ceiling_messages_per_s']:.0f} messages/s",
        fontsize=10,
    )
    return _save(figure, path)


def write_plots(results: Results, out: Path) -> list[str]:
    """The PNGs for the parts present in `results`; their paths."""
    written = []
    if "cost" in results:
        cost = results["cost"]
        written.append(
            _grouped(
                cost,
                lambda row: row["usd"]["total"] * 1e6,
                "$ per million operations (log)",
                out / "cost_per_operation.png",
            )
        )
        written.append(
            _grouped(
                cost,
                lambda row: row["calls"],
                "AWS calls per operation (log)",
                out / "calls_per_operation.png",
            )
        )
        written.append(_breakdown(cost, out / "cost_breakdown.png"))
    if "coldstart" in results:
        written.append(_coldstart(results["coldstart"], out / "coldstart.png"))
    if "local" in results:
        written.append(_latency(results["local"], out / "latency.png"))
    return written
