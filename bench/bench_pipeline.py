"""Pipeline benchmark: raw moto put_item/s vs the whole events pipeline, and writes per event.

    .venv/bin/python bench/bench_pipeline.py [--batches 20]

Everything runs in one process against in-process moto, measured in the same run, so the
ratios hold on a noisy machine even when the absolute rates do not. The mix: 100-event
batches over 10 filings, 20 readers, 80% views, 5% robots, a few seconds between batches.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="cn-north-1",
                  AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")

from bench.request_count import RequestCounter  # noqa: E402

counter = RequestCounter()
counter.install()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402


def raw_put_rate(n: int) -> float:
    client = boto3.client("dynamodb", region_name="cn-north-1")
    client.create_table(TableName="raw", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}])
    start = time.perf_counter()
    for i in range(n):
        client.put_item(TableName="raw", Item={"pk": {"S": f"EVENT#{i}"}, "sk": {"S": "A"},
                                               "type": {"S": "view"}, "filing": {"S": "f"}})
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--raw", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    with mock_aws():
        from chalice.test import Client

        from chalicelib import counters, runtime
        from chalicelib.clock import FixedClock, parse_instant
        from chalicelib.config import load_settings
        from chalicelib.models import Filing
        from infra.tables import create_tables
        from tests.streams import StreamTap
        from tests.support import token

        raw = raw_put_rate(args.raw)

        settings = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "bench"})
        arns = create_tables(boto3.client("dynamodb", region_name="cn-north-1"), settings)
        clock = FixedClock(parse_instant("2024-05-15T09:00:00+08:00"))
        runtime.install(runtime.Services(settings=settings, clock=clock))
        filings = [f"f{i}" for i in range(10)]
        for fid in filings:
            Filing(f"FILING#{fid}", "A", entity="filing", id=fid, kind="report", title="t", province="320000",
                   unit="u", industry="1", status="approved", filed_at=clock.now(), cycle="2024",
                   author="someone").save()
        tap = StreamTap(arns["facts"])
        counters.handle_stream_batch({"Records": tap.take()}, clock.now())  # the filings' own records
        readers = [f"reader-{i}" for i in range(20)]
        headers = {r: {"Authorization": f"Bearer {token(sub=r, role='user', side='enterprise')}",
                       "Content-Type": "application/json"} for r in readers}
        import app as app_module

        with Client(app_module.app, stage_name="local") as client:
            bodies = []
            for _ in range(args.batches):
                batch = [{"id": str(uuid.uuid4()), "type": "view" if rng.random() < 0.8 else "download",
                          "filing": rng.choice(filings),
                          "user_agent": "Googlebot/2.1" if rng.random() < 0.05 else "Mozilla/5.0 Chrome/120"}
                         for _ in range(100)]
                bodies.append((rng.choice(readers), batch))
            events = 0
            start = time.perf_counter()
            with counter.window() as ingest:
                for reader, batch in bodies:
                    clock.advance(seconds=rng.choice([2, 20, 45, 400]))
                    answer = client.http.post("/events", headers=headers[reader], body=json.dumps({"events": batch}))
                    assert answer.status_code == 202, answer.body
                    events += json.loads(answer.body)["accepted"]
            ingest_time = time.perf_counter() - start
            with counter.window() as trigger:
                t0 = time.perf_counter()
                records = tap.take()
                for i in range(0, len(records), 100):
                    counters.handle_stream_batch({"Records": records[i:i + 100]}, clock.now())
                trigger_time = time.perf_counter() - t0
        elapsed = ingest_time + trigger_time
        found = counters.drift()
        assert not found, f"benchmark counters drifted: {found[:5]}"

    rate = events / elapsed
    print(f"raw moto put_item:                 {raw:8.0f} /s")
    print(f"pipeline (HTTP -> facts -> stream -> counters): {rate:8.0f} events/s "
          f"(ingest {events / ingest_time:.0f}/s, trigger {len(records) / trigger_time:.0f} records/s)")
    print(f"pipeline / raw put ratio:          {rate / raw:8.2f}   (target >= 0.5)")
    print(f"ingest write requests per event:   {ingest['write_requests'] / events:8.3f}  "
          f"({ingest['items_written'] / events:.2f} items)")
    print(f"counter write requests per event:  {trigger['write_requests'] / events:8.3f}  "
          f"({trigger['items_written'] / events:.2f} items incl. dedup markers; target <= 0.1 requests)")
    print(f"all requests per event (reads too): {(ingest['requests'] + trigger['requests']) / events:7.3f}")
    print(f"events: {events} in {args.batches} batches of 100 over 10 filings; counters == recount: yes")


if __name__ == "__main__":
    main()
