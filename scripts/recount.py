"""Recount every counter from the stored facts, report drift per counter, optionally repair.

    python scripts/recount.py --endpoint http://127.0.0.1:PORT   # the local stack's moto
    NAVI_STAGE=prod python scripts/recount.py --repair            # a deployed stage (AWS creds)

Exit status 0 when nothing drifted (or everything was repaired), 1 otherwise. Repair sets
each drifted counter to its recounted value; run it when the stream is quiet (a record
applied between the recount and the repair would be overwritten).
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
    parser.add_argument("--repair", action="store_true", help="set drifted counters to the recount")
    parser.add_argument("--limit", type=int, default=50, help="drifted counters to print (default 50)")
    args = parser.parse_args(argv)
    if args.endpoint:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            os.environ.setdefault(name, value)

    from chalicelib import composition
    from chalicelib.usage import running_counters

    composition.services()  # binds the models to the stage's tables
    facts = list(running_counters.facts())
    expected, kept = running_counters.recount(facts), running_counters.stored()
    found = running_counters.drift(expected, kept)
    problems = running_counters.order_problems(facts)
    print(
        f"counters kept: {len(kept)} keys; recounted from {len(facts)} facts: {len(expected)} keys; "
        f"drifted: {len(found)}; click-order problems: {len(problems)}"
    )
    for problem in problems[: args.limit]:
        print(f"  {problem}")
    for d in found[: args.limit]:
        print(
            f"  {d.pk} {d.sk} {d.name}: kept {d.stored}, facts say {d.expected} ({d.expected - d.stored:+d})"
        )
    if found and args.repair:
        print(f"repaired {running_counters.repair(found)} counters")
        return 1 if problems else 0
    return 1 if found or problems else 0


if __name__ == "__main__":
    sys.exit(main())
