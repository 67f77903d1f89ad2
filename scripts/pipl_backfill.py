"""Once, after deploying the PIPL changes: store older likes, favourites, comments and evaluations
under the user's pseudonyms instead of the id (keys that name the user move; comments get their
display name; moderators' ids become pseudonyms), index them by pseudonym (GET/DELETE /me/data find
them) and give older usage events their retention TTL, dropping their raw user agent. Idempotent;
the counters do not change (the per-account counters name the same account before and after).
Deploy the code first: it counts both forms of these facts alike, and a like given meanwhile under
the pseudonym wins over the old one.

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
