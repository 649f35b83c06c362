"""Where the functions' metric lines (CloudWatch EMF) go when they run here, not in Lambda.

Powertools' Metrics prints each metric set to stdout as one JSON line with an `_aws` key;
in Lambda, CloudWatch Logs turns those lines into metrics. Here they would bury what people
read (`make run`, `make invoke`, pytest), so the local tools send them to a log file
(`.local/metrics.log`, or `COURIER_METRICS_LOG`), and print them as well only with
`--verbose`. Deployed functions are untouched: only local tools call `divert`.

Powertools prints from two modules: the CloudWatch EMF provider's flush, and
`single_metric`, which the cold-start metric goes through and which ignores
POWERTOOLS_METRICS_DISABLED (so that switch alone still printed a ColdStart line). Each
module gets a `print` of its own that hands EMF lines to the sink and lets anything else
through to the real print.
"""

from __future__ import annotations

import builtins
import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

PRINTING_MODULES = (
    "aws_lambda_powertools.metrics.base",
    "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
)
DEFAULT_LOG = Path(__file__).resolve().parent.parent / ".local" / "metrics.log"

Sink = Callable[[str], None]


def is_emf(line: str) -> bool:
    return line.startswith("{") and '"_aws"' in line


def printer(sink: Sink) -> Callable[..., None]:
    """A `print` that hands EMF lines written to stdout to `sink`, and prints the rest."""

    def print_(*values: Any, sep: str | None = " ", end: str | None = "\n", **kwargs: Any) -> None:
        text = (" " if sep is None else sep).join(str(v) for v in values)
        if kwargs.get("file") is None and is_emf(text):
            sink(text)
        else:
            builtins.print(*values, sep=sep, end=end, **kwargs)

    return print_


def replacements(sink: Sink) -> list[tuple[Any, str, Any]]:
    """(module, "print", replacement) for every Powertools module that prints EMF."""
    return [(importlib.import_module(name), "print", printer(sink)) for name in PRINTING_MODULES]


def divert(sink: Sink) -> Callable[[], None]:
    """Send EMF lines to `sink` from now on, in this process; the returned call undoes it."""
    installed = replacements(sink)
    for module, name, value in installed:
        setattr(module, name, value)

    def undo() -> None:
        for module, name, _ in installed:
            vars(module).pop(name, None)

    return undo


def log_path() -> Path:
    return Path(os.environ.get("COURIER_METRICS_LOG") or DEFAULT_LOG)


def log_file(path: Path | None = None, *, echo: bool = False) -> Sink:
    """A sink appending each line to the metrics log (created on first use); with `echo`,
    printing it too."""
    target = path or log_path()
    lock = threading.Lock()
    handle: list[Any] = []

    def write(line: str) -> None:
        with lock:
            if not handle:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle.append(target.open("a", encoding="utf-8", buffering=1))
            handle[0].write(line + "\n")
        if echo:
            builtins.print(line, flush=True)

    return write
