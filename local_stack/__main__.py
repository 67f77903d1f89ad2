"""`python -m local_stack` (make run): serve the whole system on $PORT until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from local_stack.persistence import DEFAULT_DIR, StoreRefused
from local_stack.stack import DEFAULT_PORT, ROOT, quiet_console, wait_until_up
from local_stack.supervisor import LOG_FORMAT, start_supervised

log = logging.getLogger("local_stack")


def main(argv: list[str] | None = None) -> int:
    """Serve on $PORT (default 8000) until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__, prog="python -m local_stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--store-port",
        type=int,
        default=None,
        help="port of the embedded DynamoDB (moto) for recount and scripts (default: port + 1)",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("NAVI_DATA_DIR") or str(ROOT / DEFAULT_DIR),
        help="where the data is kept across restarts (default: $NAVI_DATA_DIR or .local-data/)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT)
    quiet_console()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stack = start_supervised(
            port=args.port,
            store_port=args.port + 1 if args.store_port is None else args.store_port,
            data_dir=Path(args.data_dir),
        )
    except StoreRefused as refused:
        print(f"refusing to start: {refused}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting: what had started was stopped
        return 0
    # From here Ctrl-C (the terminal's whole group: the children ignore it) stops in order, like SIGTERM.
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        wait_until_up(stack.url)
        print(f"patentnavi-eval serving on {stack.url} (data in {args.data_dir})", flush=True)
        print(
            f"embedded DynamoDB (moto) on {stack.moto_endpoint}: "
            f"python scripts/recount.py --endpoint {stack.moto_endpoint}",
            flush=True,
        )
        while not stopping.wait(0.5):
            pass
    finally:
        log.info("stopping")
        stack.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    # Tearing down a national year of moto objects one by one takes the interpreter many
    # seconds; nothing is left to save, so leave at once (Ctrl-C and SIGTERM within 2 s).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
