"""python -m bench [--quick] [--parts [cost coldstart moto local]]: run the bench, then write
bench/results/REPORT.md and its plots. Parts not run keep their last saved results."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from bench import recorder
from bench.results import RESULTS_DIR, Results, load, loadavg, machine, save
from bench.scenarios import Sizes

PARTS = ("cost", "coldstart", "moto", "local")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--parts",
        nargs="*",
        choices=PARTS,
        default=list(PARTS),
        help="the parts to run (default: all; none: rebuild the report from saved results)",
    )
    parser.add_argument("--repeats", type=int, help="cold import rounds (default 7, quick 2)")
    parser.add_argument("--pairs", type=int, help="local load: DM pairs (default 8, quick 2)")
    parser.add_argument("--messages", type=int, help="local load: messages (5000, quick 600)")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)

    recorder.install()
    results: Results = load()
    if args.parts or "machine" not in results:  # the machine that measured
        results["machine"] = machine()
    quick = set(results.get("quick_parts", [])) - set(args.parts)
    for part in args.parts:
        results.setdefault("loadavg", {})[part] = loadavg()
        began = time.monotonic()
        if part == "cost":
            from bench.cost import (  # noqa: PLC0415
                inline_limit,
                run_cost,
                run_cost_v11,
                run_cost_v11_part2,
            )

            sizes = Sizes.quick() if args.quick else Sizes()
            results["sizes"] = asdict(sizes)
            results["cost"] = run_cost(sizes, progress)
            results["cost_v11"] = run_cost_v11(sizes, progress)
            results["inline_limit"] = inline_limit()
            part2, entry_bytes = run_cost_v11_part2(sizes, progress)
            results["cost_v11_part2"], results["by_channel_entry_bytes"] = part2, entry_bytes
        elif part == "coldstart":
            from bench.coldstart import run_coldstart  # noqa: PLC0415

            repeats = args.repeats or (2 if args.quick else 7)
            results["coldstart"] = run_coldstart(repeats, progress)
        elif part == "moto":
            from bench.moto_transactions import run_moto_transactions  # noqa: PLC0415

            results["moto"] = run_moto_transactions(
                seconds=0.5 if args.quick else 1.5, progress=progress
            )
        else:
            from bench.local_load import run_local  # noqa: PLC0415

            pairs = args.pairs or (2 if args.quick else 8)
            messages = args.messages or (600 if args.quick else 5000)
            ceiling, delays = (1.0, [1]) if args.quick else (5.0, [1, 2, 4, 8])
            crash = (2, 10) if args.quick else (20, 200)
            results["local"] = run_local(pairs, messages, ceiling, delays, progress, crash=crash)
        results.setdefault("seconds", {})[part] = time.monotonic() - began
        if args.quick:
            quick.add(part)
        results["quick_parts"] = sorted(quick)
        save(results)
    progress("plots and report")
    from bench.plots import write_plots  # noqa: PLC0415 - matplotlib: `make bench` only
    from bench.report import write_report  # noqa: PLC0415

    images = write_plots(results, RESULTS_DIR)
    write_report(results, RESULTS_DIR / "REPORT.md", images)
    progress(f"wrote {RESULTS_DIR / 'REPORT.md'} and {len(images)} plots")


if __name__ == "__main__":
    main()
