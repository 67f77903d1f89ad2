"""Once, after deploying the PIPL changes: index older likes, favourites, comments and evaluations by
user (GET/DELETE /me/data find them) and give older usage events their retention TTL, dropping
their raw user agent. Idempotent; the counters do not change.

    python scripts/pipl_backfill.py --endpoint http://127.0.0.1:PORT   # the local stack's moto
    NAVI_STAGE=prod python scripts/pipl_backfill.py                     # a deployed stage (AWS creds)

Events stored before the change keep the raw user id in their key until that TTL removes them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", help="DynamoDB endpoint (default: AWS_ENDPOINT_URL or AWS itself)")
    args = parser.parse_args(argv)
    if args.endpoint:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            os.environ.setdefault(name, value)

    from chalicelib import composition
    from chalicelib.usage import interactions

    services = composition.services()
    print(interactions.backfill(services.clock.now()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
