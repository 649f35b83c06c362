"""`make chaos`: python -m chaos [--seed N] [--scale N] [options]; exits 0 when every
guarantee held, 1 on any violation, 3 when the drain could not finish (INCONCLUSIVE)."""

from __future__ import annotations

import asyncio
import sys

from chaos.cli import parse
from chaos.report import table, write_json
from chaos.run import run


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    outcome = asyncio.run(run(config))
    print(table(outcome))
    write_json(outcome, config.json_path)
    print(f"  JSON: {config.json_path}")
    return outcome.verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
