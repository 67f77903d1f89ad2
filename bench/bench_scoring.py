"""Benchmark: a year-end scoring run at national scale, in-process on moto.

    .venv/bin/python bench/bench_scoring.py [--filings 20000] [--events 10000000] [--accounts 50000]

Writes the counter items directly (no events are replayed): 32 province×cycle items whose
numbers add up to `--events` interaction events, one stats item per approved filing, 24
month items per unit (the cycle and the year before, for the COUNTER spike check) and
per-account items for the burst check; plus 32 annual forms, excellent projects and
adjustments. Then it times `runs.run` and counts its DynamoDB requests by operation.
A scheduled Lambda may run 15 minutes with up to 10,240 MB; the synchronous
`POST /cycles/{cycle}/scoring-runs` must also fit API Gateway's 29 s integration timeout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from collections import Counter as Tally
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import composition  # noqa: E402
from chalicelib.core.clock import FixedClock  # noqa: E402
from chalicelib.core.config import load_settings  # noqa: E402
from chalicelib.core.reference import PROVINCES  # noqa: E402
from infra.tables import create_tables  # noqa: E402

CYCLE = "2024"
NOW = datetime(2024, 12, 31, 15, 0, tzinfo=UTC)  # 23:00 China time, 31 December
USAGE_SHARE = {
    "views_total": 0.55,
    "downloads_total": 0.2,
    "likes": 0.08,
    "favorites": 0.04,
    "comments": 0.03,
    "evaluations": 0.05,
    "application_updates": 0.05,
}  # of all events


def seed(filings: int, events: int, accounts: int, rng: random.Random) -> dict[str, float]:
    """Write the counters, forms and records; returns seconds per step."""
    codes = sorted(PROVINCES)
    weight = {c: rng.uniform(0.3, 3.0) for c in codes}
    share = {c: weight[c] / sum(weight.values()) for c in codes}
    steps = {
        "filing counters": lambda: _seed_filing_counters(filings, events),
        "province and month counters": lambda: _seed_province_counters(filings, events, share, rng),
        "account counters": lambda: _seed_account_counters(accounts, share, rng),
        "forms, excellent projects, adjustments": lambda: _seed_records(filings, share, rng),
    }
    timings: dict[str, float] = {}
    for step, write in steps.items():
        t = time.perf_counter()
        write()
        timings[step] = time.perf_counter() - t
    return timings


def _seed_filing_counters(filings: int, events: int) -> None:
    """One stats item per approved filing, the events shared evenly among them."""
    from chalicelib.core.models import Counter
    from chalicelib.usage import counting_rules

    per_filing = events // max(filings, 1)
    with Counter.batch_write() as batch:
        for i in range(filings):
            batch.save(
                Counter(
                    *counting_rules.filing_key(f"bench-{i:06d}"),
                    n={
                        "views_total": int(per_filing * 0.55),
                        "views_unique": int(per_filing * 0.3),
                        "downloads_total": int(per_filing * 0.2),
                        "downloads_unique": int(per_filing * 0.12),
                        "likes": int(per_filing * 0.08),
                        "evaluations": int(per_filing * 0.05),
                    },
                )
            )


def _seed_province_counters(filings: int, events: int, share: dict[str, float], rng: random.Random) -> None:
    """Each unit's cycle item (its share of events and filings) and its 24 month items."""
    from chalicelib.core.models import Counter
    from chalicelib.usage import counting_rules

    with Counter.batch_write() as batch:
        for c in share:
            n = _cycle_counts(events * share[c], filings * share[c], rng)
            batch.save(Counter(*counting_rules.cycle_key(c, CYCLE), n=n))
            monthly = n["views_total"] // 12
            for m in range(24):
                year, month = 2022 + (9 + m) // 12, (9 + m) % 12 + 1
                batch.save(
                    Counter(
                        *counting_rules.province_month_key(c, f"{year:04d}-{month:02d}"),
                        n={
                            "views_total": int(monthly * rng.uniform(0.7, 1.3)),
                            "downloads_total": monthly // 3,
                        },
                    )
                )


def _cycle_counts(e: float, f: float, rng: random.Random) -> dict[str, int]:
    """A unit's cycle counters for `e` events and `f` approved filings."""
    from chalicelib.core.vocabulary import SIDES

    n = {name: int(e * s) for name, s in USAGE_SHARE.items()}
    n.update(
        views_unique=int(n["views_total"] * 0.6),
        downloads_unique=int(n["downloads_total"] * 0.6),
        evaluation_score_sum=int(n["evaluations"] * rng.uniform(3.2, 4.6)),
        filings_approved=int(f),
        filings_approved_report=int(f * 0.55),
        filings_approved_database=int(f * 0.15),
        filings_approved_tool=int(f * 0.15),
        filings_approved_application_proof=int(f * 0.15),
        filings_approved_fiscal=int(f * 0.4),
        filings_approved_near_cutoff=int(f * rng.uniform(0.02, 0.2)),
        reports_approved_industry_planning=int(f * 0.2),
        reports_approved_regional_planning=int(f * 0.1),
        reports_approved_enterprise_operation=int(f * 0.1),
        reports_approved_rd_activity=int(f * 0.1),
        reports_approved_other=int(f * 0.05),
        publications_approved_news=int(f * 0.1),
        publications_approved_policy=int(f * 0.02),
    )
    for side in SIDES:
        n[f"evaluations_{side}"] = n["evaluations"] // 4
        n[f"evaluation_score_sum_{side}"] = n["evaluation_score_sum"] // 4
    return n


def _seed_account_counters(accounts: int, share: dict[str, float], rng: random.Random) -> None:
    """Per-account items for the burst check, spread over the units by their share."""
    from chalicelib.core.models import Counter
    from chalicelib.usage import counting_rules

    codes = list(share)
    with Counter.batch_write() as batch:
        for i in range(accounts):
            c = rng.choices(codes, [share[x] for x in codes])[0]
            batch.save(
                Counter(
                    *counting_rules.account_key(c, CYCLE, f"user-{i:07d}"),
                    n={
                        "likes": rng.randint(0, 40),
                        "evaluations": rng.randint(0, 10),
                        "favorites": rng.randint(0, 5),
                    },
                )
            )


def _seed_records(filings: int, share: dict[str, float], rng: random.Random) -> None:
    """32 annual forms, 96 excellent projects and 20 adjustments."""
    from chalicelib.core.models import Record
    from chalicelib.scoring import adjustments, annual_forms, bonus

    codes = list(share)
    with Record.batch_write() as batch:
        for c in codes:
            batch.save(
                Record(
                    annual_forms.key(c),
                    "2024",
                    kind="annual_form",
                    data=_annual_form(filings * share[c], rng),
                )
            )
        for i in range(96):
            c = codes[i % 32]
            batch.save(
                Record(
                    bonus.key(CYCLE),
                    f"bench-{i:06d}",
                    kind="excellent_project",
                    data={"filing": f"bench-{i:06d}", "province": c, "title": "优秀项目"},
                )
            )
        for i in range(20):
            batch.save(
                Record(
                    adjustments.key(CYCLE),
                    f"2024-12-{10 + i % 10:02d}#{i:04d}",
                    kind="adjustment",
                    data={
                        "id": f"a{i}",
                        "province": codes[i],
                        "indicator": "views",
                        "points": -0.5,
                        "reason": "bench",
                    },
                )
            )


def _annual_form(unit_filings: float, rng: random.Random) -> dict:
    """A unit's annual form; its fiscally funded projects follow its share of the filings."""
    return {
        "mechanisms": {
            "leading_group": True,
            "work_plan": rng.random() < 0.8,
            "coordination_meetings": 3,
        },
        "funding": {"provincial_funds": rng.uniform(100, 3000), "other_funds": 50.0},
        "carriers": [{"name": "基地", "type": "navigation_service_base", "city": None}],
        "projects": {
            "declared": 60,
            "fiscal_funded": int(unit_filings * 0.45),
            "completed": 20,
        },
        "policies": [],
        "training": {"sessions": 4, "participants": 300},
        "summary": "总结",
    }


class Requests:
    """Count and time PynamoDB's DynamoDB requests by operation (each goes through _make_api_call)."""

    def __init__(self):
        from pynamodb.connection.base import Connection

        self.count: Tally = Tally()
        self.items = 0
        self.seconds = 0.0
        original = Connection._make_api_call

        def counting(connection, operation_name, *args, **kwargs):
            self.count[operation_name] += 1
            t = time.perf_counter()
            try:
                answer = original(connection, operation_name, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
            self.items += answer.get("Count", 0) + sum(len(v) for v in answer.get("Responses", {}).values())
            return answer

        Connection._make_api_call = counting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--filings", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=50_000, help="per-account counter items, nationally")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with mock_aws():
        settings = load_settings(
            {"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-bench", "AWS_REGION": "cn-north-1"}
        )
        create_tables(boto3.client("dynamodb", region_name="cn-north-1"), settings)
        composition.install(composition.Services(settings=settings, clock=FixedClock(NOW)))
        print(
            f"seeding: {args.filings:,} approved filings, counters for {args.events:,} events, "
            f"{args.accounts:,} account items, 32 units",
            flush=True,
        )
        for step, seconds in seed(args.filings, args.events, args.accounts, random.Random(args.seed)).items():
            print(f"  {step:<40} {seconds:6.1f} s")

        from chalicelib.scoring import runs

        requests = Requests()
        t = time.perf_counter()
        header = runs.run(CYCLE, None, NOW, trigger="bench")
        elapsed = time.perf_counter() - t
        in_store, items, by_operation = requests.seconds, requests.items, dict(requests.count)
        calls = sum(by_operation.values())

        # Memory is measured on a second run: tracemalloc slows every allocation several times.
        tracemalloc.start()
        runs.run(CYCLE, None, NOW, trigger="bench")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        from chalicelib.core.models import Record

        stored = sum(len(str(r.data)) for r in Record.query(runs.results_pk(header["run_id"])))
        own = elapsed - in_store
        # DynamoDB answers a GetItem/Query page in ~5-10 ms from Lambda in-region; take 25 ms to be safe.
        estimate = own + calls * 0.025
        print(
            f"\nrun {header['run_id']}: {elapsed:.2f} s wall on moto, of which {in_store:.2f} s inside moto "
            f"and {own:.2f} s in our code"
        )
        print(
            f"  {calls} DynamoDB requests reading {items:,} items; "
            f"~{stored / 1024:.0f} KB of results stored in one transaction"
        )
        for op, n in sorted(by_operation.items()):
            print(f"    {op:<22} {n}")
        print(f"  peak Python memory {peak / 2**20:.1f} MB")
        print(
            f"  on DynamoDB (25 ms a request): ~{estimate:.1f} s; "
            f"limits: scheduled Lambda 900 s / 10,240 MB, synchronous POST 29 s (API Gateway) -> "
            f"{'fits' if estimate < 29 and peak < 1024 * 2**20 else 'DOES NOT FIT'}"
        )
        print(
            "  (moto's Query walks and sorts the whole table on every page, so its time grows with the "
            "table, not with what the run reads)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
