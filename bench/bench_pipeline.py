"""The black-box pipeline on the local stack as its data grows: HTTP -> facts -> stream -> counters.

    .venv/bin/python bench/bench_pipeline.py [--sizes 10000,100000,300000] [--batches 30] [--clients 8]
                                             [--one-process]

For each table size (facts already stored, their counters already kept, as after a
national year), in one run: a raw moto put_item rate into the same facts table, the
pipeline's rate (one client posting 100-event batches until the counters settle) and its
ratio to the raw put, with 8 concurrent clients at the middle size the p50/p95 answer
time of a 100-event POST and the p50/p95 settle lag (response until the trigger has
applied the request's records; the contract says 2 s), the write units per event by kind
(event, chain head, dedup marker, counter; DynamoDB bills a transactional write twice),
and the stack's memory with what moto keeps of the stream. Ratios are measured in the
same run, so they hold on a noisy machine when the absolute rates do not.

The stack is the one `make run` serves (local_stack/supervisor.py: the store in this process, the API
and the trigger in their own); `--one-process` runs stack.py's instead, the tests' stack. Write units
are metered by hooks on this process's DynamoDB clients, so only `--one-process` reports them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.capacity import CapacityMeter  # noqa: E402

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
FILINGS = 50
UNIT_BATCHES = 5  # 100-event batches metered for write units


# ---- write units by kind ----------------------------------------------------------------------


def kind_of(table: str, key: dict) -> str:
    """What a written item is, by its key (the write units per event are split by this)."""
    from chalicelib.usage import event_chains, running_counters

    pk = key.get("pk", {}).get("S", "")
    for prefix, kind in (
        (event_chains.EVENT, "event"),
        (event_chains.CHAIN, "chain head"),
        (running_counters.MARKER, "dedup marker"),
    ):
        if pk.startswith(prefix):
            return kind
    return "counter" if table.endswith("-counters") else "other"


# ---- the stack and its data -------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stack_rss(stack) -> dict[str, float]:
    """MB resident by process: the store (this one) and, for the supervised stack, the API and trigger."""
    return {name: rss_mb(pid) for name, pid in stack.pids().items()}


def preload(stack, total: int, filings: list[str], rng: random.Random) -> None:
    """Grow the facts table to `total` items with events (and chain heads) counted as the trigger
    would have, written straight into the embedded store; their counters are kept too."""
    from chalicelib.core.clock import parse_instant
    from chalicelib.core.models import ChainHead, Counter, UsageEvent
    from chalicelib.usage import counting_rules, event_chains
    from local_stack import moto_store

    settings = stack.services.settings
    facts = moto_store.table(settings.facts_table, settings.region)
    counter_table = moto_store.table(settings.counters_table, settings.region)
    have = sum(len(p) for p in facts.items.values())
    heads: dict[tuple, tuple[int, object]] = {}
    at = parse_instant("2024-03-01T09:00:00+08:00")
    deltas: counting_rules.Deltas = {}
    with moto_store.STORE_LOCK:
        # Stored as if long delivered: no stream records (the trigger never sees them).
        shard, facts.stream_shard = facts.stream_shard, None
        for n in range(have, total):
            # Users of their own per size: a chain never spans two preloads (each starts its heads afresh).
            user, filing, kind = (
                f"old-{total}-{rng.randrange(5000)}",
                rng.choice(filings),
                rng.choice(["view", "download"]),
            )
            at += timedelta(seconds=rng.choice([1, 20, 40, 900]))
            chain = (filing, kind, user)
            seq, prev = heads.get(chain, (0, None))
            event = UsageEvent(
                *event_chains.event_key(user, str(uuid.uuid4())),
                entity="event",
                id=str(n),
                type=kind,
                filing=filing,
                user=user,
                at=at,
                province="320000",
                user_agent=BROWSER,
                seq=seq + 1,
                prev_at=prev,
            )
            facts.put_item(event.serialize())
            heads[chain] = (seq + 1, at)
            counting_rules.merge(
                deltas,
                counting_rules.event_contribution(event.attribute_values | {"at": at, "prev_at": prev}),
            )
        for (filing, kind, user), (seq, last) in heads.items():
            facts.put_item(
                ChainHead(
                    *event_chains.chain_key("filing", filing, kind, user),
                    entity="chain",
                    seq=seq,
                    last_at=last,
                ).serialize()
            )
        for (pk, sk), values in deltas.items():
            current = counter_table.get_item(*_keys(counter_table, pk, sk))
            numbers = {k: int(v.value) for k, v in current.attrs["n"].value.items()} if current else {}
            for name, value in values.items():
                numbers[name] = numbers.get(name, 0) + value
            counter_table.put_item(Counter(pk, sk, n=numbers).serialize())
        facts.stream_shard = shard


def _keys(table, pk, sk):
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType({"S": pk}), DynamoType({"S": sk})


def stream_end(stack) -> int:
    from local_stack import moto_store

    settings = stack.services.settings
    return moto_store.stream_end(settings.facts_table, settings.region)


def wait_settled(stack, end: int, timeout: float = 600) -> float:
    """Seconds until every mapping has passed the records before `end`."""
    start = time.perf_counter()
    while stack.poller.passed() < end:
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the trigger did not settle")
        time.sleep(0.005)
    return time.perf_counter() - start


def raw_put_rate(stack, n: int) -> float:
    """boto3 put_item/s into the facts table through the embedded server (the trigger paused)."""
    import boto3

    settings = stack.services.settings
    client = boto3.client("dynamodb", endpoint_url=stack.moto_endpoint, region_name=settings.region)
    with stack.poller.lock:
        start = time.perf_counter()
        for _i in range(n):
            client.put_item(
                TableName=settings.facts_table,
                Item={
                    "pk": {"S": f"RAW#{uuid.uuid4()}"},
                    "sk": {"S": "A"},
                    "entity": {"S": "raw"},
                    "type": {"S": "view"},
                    "filing": {"S": "f"},
                    "user": {"S": "u"},
                },
            )
        return n / (time.perf_counter() - start)


def batch(rng: random.Random, filings: list[str]) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid4()),
            "type": "view",
            "filing": rng.choice(filings),
            "user_agent": "Googlebot/2.1" if rng.random() < 0.05 else BROWSER,
        }
        for _ in range(100)
    ]


def pipeline_rate(stack, api, tokens, filings, batches: int, rng) -> float:
    """Events/s from the first POST until the counters settled, one client, 100-event batches."""
    events = 0
    start = time.perf_counter()
    for _ in range(batches):
        answer = api.post("/events", {"events": batch(rng, filings)}, token=rng.choice(tokens))
        assert answer.status_code == 202, answer.text
        events += answer.json()["accepted"]
    wait_settled(stack, stream_end(stack))
    return events / (time.perf_counter() - start)


def concurrent(stack, api_factory, tokens, filings, clients: int, seconds: float) -> dict:
    """`clients` threads posting 100-event batches for `seconds`: answer times and settle lags."""
    answers: list[float] = []
    pending: list[tuple[int, float]] = []  # (stream end after the answer, answered at)
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(n: int) -> None:
        api, rng = api_factory(), random.Random(n)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            answer = api.post("/events", {"events": batch(rng, filings)}, token=rng.choice(tokens))
            t1 = time.perf_counter()
            assert answer.status_code == 202, answer.text
            end = stream_end(stack)
            with lock:
                answers.append(t1 - t0)
                pending.append((end, t1))

    lags: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or pending:
            passed, now = stack.poller.passed(), time.perf_counter()
            with lock:
                ready = [p for p in pending if p[0] <= passed]
                for p in ready:
                    pending.remove(p)
                    lags.append(now - p[1])
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join(timeout=600)
    elapsed = time.perf_counter() - t0
    q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1] if len(xs) > 1 else (xs or [0])[0]  # noqa: E731
    return {
        "requests": len(answers),
        "events_per_s": 95 * len(answers) / elapsed,
        "answer_p50": q(answers, 50),
        "answer_p95": q(answers, 95),
        "lag_p50": q(lags, 50),
        "lag_p95": q(lags, 95),
    }


def approved_filings(api: Api) -> list[str]:
    """FILINGS reports filed by Jiangsu's filer and approved, through the API: their ids."""
    filer = api.token(role="filer", province="320000", sub="bench-filer")
    admin = api.token(role="national_admin", sub="bench-admin")
    filings = []
    for n in range(FILINGS):
        created = api.post(
            "/filings",
            {
                "kind": "report",
                "title": f"基准报告 {n}",
                "province": "320000",
                "unit": "江苏省知识产权局",
                "industry": "5",
                "report_type": "industry_planning",
            },
            token=filer,
        ).json()
        api.post(f"/filings/{created['id']}/review", {"decision": "approve"}, token=admin)
        filings.append(created["id"])
    return filings


class Api:
    """The stack's API over HTTP with local-stage tokens (answers are requests' responses)."""

    def __init__(self, stack):
        import requests

        from local_stack.tokens import token

        self.url, self.session, self.token = stack.url, requests.Session(), token

    def post(self, path: str, body: dict, token: str):
        return self.session.post(
            self.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,300000", help="facts in the table at each step")
    parser.add_argument("--batches", type=int, default=30, help="100-event batches per rate measurement")
    parser.add_argument("--raw", type=int, default=2000, help="raw put_item calls per measurement")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30, help="length of the concurrent run")
    parser.add_argument("--concurrent-at", type=int, default=100_000, help="table size of the concurrent run")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the data there as `make run` does (local_stack/persistence.py); default: memory",
    )
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="the tests' one-process stack (stack.py) instead of make run's; it also meters write units",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    meter = CapacityMeter(region="cn-north-1", classify=kind_of)
    meter.install()  # every DynamoDB client built from here on is metered inside a phase
    from local_stack.stack import quiet_console, start_stack
    from local_stack.supervisor import start_supervised

    quiet_console()
    start = start_stack if args.one_process else start_supervised
    stack = start(
        port=0, env_overrides={"NAVI_NOW": None}, data_dir=Path(args.data_dir) if args.data_dir else None
    )
    print(f"stack: {'one process (stack.py)' if args.one_process else 'store, API and trigger processes'}")
    meter.restart()  # its own reader, on the stack's embedded store
    api = Api(stack)
    rng = random.Random(7)
    filings = approved_filings(api)
    tokens = [api.token(role="user", side="enterprise", sub=f"reader-{i}") for i in range(40)]
    stack.drain()

    rows = []
    try:
        for size in sizes:
            preload(stack, size, filings, rng)
            if stack.data is not None:  # the preload's one big group is not what a write waits for
                stack.data.flush()
                stack.data.longest_flush, stack.data.flush_times = 0.0, []
            raw = raw_put_rate(stack, args.raw)
            rate = pipeline_rate(stack, api, tokens, filings, args.batches, rng)
            row = {
                "size": size,
                "raw": raw,
                "rate": rate,
                "rss": stack_rss(stack),
                "stream": len(_shard(stack).items),
            }
            if args.one_process:
                # On a separate run: the meter reads each written item back, which would slow the rate.
                with meter.phase(f"units at {size}") as used:
                    pipeline_rate(stack, api, tokens, filings, UNIT_BATCHES, rng)
                row["units"] = {
                    k.split(":", 1)[1]: v / (UNIT_BATCHES * 100)
                    for k, v in used.items()
                    if k.startswith("write:")
                }
                row["reads"] = used["read"] / (UNIT_BATCHES * 100)
            if size == args.concurrent_at:
                row["concurrent"] = concurrent(
                    stack, lambda: Api(stack), tokens, filings, args.clients, args.seconds
                )
            rows.append(row)
            _print(row, rows[0])
    finally:
        from chalicelib.usage import running_counters

        facts = list(running_counters.facts())
        drifted, order = (
            running_counters.drift(running_counters.recount(facts)),
            running_counters.order_problems(facts),
        )
        print(
            f"after the run: {len(facts)} facts, counters == recount: {not drifted} "
            f"({len(drifted)} drifted), click-order problems: {len(order)}"
        )
        if stack.data is not None:
            times = sorted(stack.data.flush_times) or [0.0]
            print(
                f"journal: {len(times)} groups while the API wrote, written in p50 "
                f"{times[len(times) // 2] * 1000:.0f} ms, p99 {times[int(len(times) * 0.99)] * 1000:.0f} ms, "
                f"max {times[-1] * 1000:.0f} ms (the flusher never waits for the store lock)"
            )
        stack.stop()


def _shard(stack):
    from local_stack import moto_store

    settings = stack.services.settings
    return moto_store.table(settings.facts_table, settings.region).stream_shard


def _print(row: dict, first: dict) -> None:
    print(f"\n== {row['size']:,} facts in the table")
    print(f"raw moto put_item (same table):   {row['raw']:8.0f} /s")
    print(
        f"pipeline, 1 client, settled:      {row['rate']:8.0f} events/s = {row['rate'] / row['raw']:.2f}x raw put "
        f"(target >= 1.0x on a small table); {row['rate'] / first['rate']:.2f}x the rate at "
        f"{first['size']:,} (target >= 0.9x)"
    )
    if "units" in row:
        units = row["units"]
        print(
            "write units per event:            "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(units.items()))
            + f"; total {sum(units.values()):.2f} (index writes included; transactional writes count twice); "
            f"read units per event {row['reads']:.2f}"
        )
    rss = ", ".join(f"{name} {mb:.0f}" for name, mb in row["rss"].items())
    print(f"stack memory (MB RSS): {rss}; stream records kept by moto: {row['stream']}")
    if "concurrent" in row:
        c = row["concurrent"]
        print(
            f"8 clients for a while: {c['requests']} requests, {c['events_per_s']:.0f} accepted events/s; "
            f"POST p50 {c['answer_p50']:.2f} s, p95 {c['answer_p95']:.2f} s (target <= 1 s); "
            f"settle lag p50 {c['lag_p50']:.2f} s, p95 {c['lag_p95']:.2f} s (target <= 2 s)"
        )


if __name__ == "__main__":
    main()
