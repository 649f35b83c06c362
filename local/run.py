"""`make run`: the local stack on loopback until Ctrl-C.

Settings: COURIER_PORT (default 3001), COURIER_MOTO_PORT (default: any free port),
COURIER_JWT_SECRET and the other COURIER_* variables of template.yaml. The functions' metric
lines (EMF) go to .local/metrics.log (COURIER_METRICS_LOG); `--verbose` prints them too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import warnings

from local import emf
from local.server import LocalServer

DEFAULT_PORT = 3001


def banner(server: LocalServer) -> str:
    settings = server.settings()
    lines = [
        f"Web chat: {settings['page']}  (open it in a browser; pick a user and a device)",
        "",
        f"Courier local stack on {settings['url']}  (moto at {settings['moto']})",
        "",
        "Get a token, then connect (the page does this itself: a local-only convenience,",
        "a real deployment issues tokens from the app's own auth):",
        f"  curl -s -X POST {settings['admin']}/tokens \\",
        """    -d '{"user": "alice", "device": "phone", "ttlSeconds": 3600}'""",
        f"  {settings['websocket']}",
        "",
        "SQS pollers:",
        *(f"  {queue}: {what}" for queue, what in settings["pollers"].items()),
        "",
        "Settings in force:",
        *(
            f"  {name}={value}"
            for name, value in settings["environment"].items()
            if name.startswith(("COURIER_", "AWS_ENDPOINT", "AWS_REGION"))
        ),
        f"Metrics (EMF lines): {emf.log_path()}",
        "",
        "Ctrl-C stops.",
    ]
    return "\n".join(lines)


async def serve(port: int, moto_port: int) -> None:
    server = LocalServer(port=port, moto_port=moto_port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await server.start()
        print(banner(server), flush=True)
        await stopping.wait()
        print("stopping...", flush=True)
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--verbose", action="store_true", help="print the metric (EMF) lines too, not only log them"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("pynamodb").setLevel(logging.WARNING)  # no settings notes before the banner
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # EMF metric lines are for CloudWatch: here they go to a file (printed with --verbose).
    emf.divert(emf.log_file(echo=args.verbose))
    if not args.verbose:
        warnings.filterwarnings("ignore", "No application metrics to publish")
    port = int(os.environ.get("COURIER_PORT", str(DEFAULT_PORT)))
    moto_port = int(os.environ.get("COURIER_MOTO_PORT", "0"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port, moto_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
