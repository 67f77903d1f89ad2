"""Cost model: what N events, F filings and a national year cost, measured on the real code path.

    .venv/bin/python bench/bench_cost.py [--events 2000] [--filings 60] [--region cn-north-1] [--stage prod]

Everything runs in one process on in-process moto through the deployed code: filings and
reviews through the API (chalice.test), usage events through `POST /events`, then every facts
stream record through the `facts_stream` and `push_stream` Lambda handlers in batches, as
the event source mappings deliver them. bench/capacity.py counts the DynamoDB request units
each phase consumes from the items themselves (botocore hooks, nothing per event is assumed),
so a change to the write path or the trigger changes the figures this prints.

Lambda duration is estimated per phase as (time in our code, outside moto) scaled to the
function's CPU share (Lambda gives a full vCPU at 1,769 MB) plus each DynamoDB request at the
in-region latency in bench/prices.json; moto's own time is not DynamoDB's. Memory sizes come
from .chalice/config.json. Prices come from bench/prices.json (dated, sourced).

Printed: (1) units and durations per event, per filing; (2) the trigger's cost per event and
settle lag against the stream batch size actually delivered (the batching window decides
it: a batch is min(batch size, rate x window) records); (3) the cost of 1 million events
and of a national year at two volumes, next to the cheapest correct alternative: the same
counting code run once a night over the day's records (counters a day late, equally exact).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="cn-north-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
    POWERTOOLS_METRICS_DISABLED="true",
)
warnings.filterwarnings("ignore", message="The HMAC key")  # the local stage's short test secret

from bench.capacity import CapacityMeter  # noqa: E402

meter = CapacityMeter(region="cn-north-1")
meter.install()  # before any client exists

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from local_stack import moto_store  # noqa: E402

# moto as the local stack runs it: same answers, but transactions copy no table (stock moto
# copies every table per transaction item: minutes and gigabytes for a few thousand events).
moto_store.install()

FULL_VCPU_MB = 1769
POWER_VALUES = (256, 512, 1024, 1769)
COLD_IMPORT_S = 0.323  # `import app` on a full core, bench/bench_coldstart.py (median of 9)
PRICES = ROOT / "bench" / "prices.json"
# National volumes: scripts/rehearse.py --scale 1.0 (100 filings per unit weighted, 600 users x
# 100 events) and bench/bench_scoring.py's defaults (20,000 filings, counters of 10 M events).
YEARS = {
    "rehearsal scale (rehearse.py --scale 1.0)": (3_200, 60_000),
    "national scale (bench_scoring.py)": (20_000, 10_000_000),
}
WORKING_SECONDS = 250 * 10 * 3600  # events arrive in office hours: 250 days x 10 h


@dataclass
class Phase:
    """What one function did in one phase: invocations, wall time in our code, memory."""

    function: str
    invocations: int = 0
    timed: int = 0  # invocations run without tracemalloc, whose time counts
    own: float = 0.0  # seconds of the timed invocations outside DynamoDB (moto) and the meter
    traced_own: float = 0.0  # the same for traced invocations (tracemalloc slows them)
    peak_bytes: int = 0
    units: dict[str, float] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)

    def own_seconds(self) -> float:
        """Seconds in our code over all invocations (traced ones counted at the timed ones' mean)."""
        if not self.timed:  # only traced calls: an overestimate beats a zero
            return self.traced_own
        return self.own / self.timed * self.invocations

    def lambda_seconds(self, memory_mb: int, latency: dict[str, float]) -> float:
        """Estimated billed Lambda seconds on DynamoDB (not moto), all invocations together."""
        cpu = self.own_seconds() * max(1.0, FULL_VCPU_MB / memory_mb)
        waiting = sum(n * latency.get(op, latency["default"]) / 1000 for op, n in self.operations.items())
        return cpu + waiting


def sizing() -> dict[str, int]:
    """Memory (MB) of each Chalice function in the prod stage."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions = config["stages"]["prod"]["lambda_functions"]
    return {name: int(spec["lambda_memory_size"]) for name, spec in functions.items()}


def prices(region: str) -> tuple[str, dict[str, float], dict[str, float]]:
    """(currency, price by item, DynamoDB latency ms by operation) of a region in bench/prices.json."""
    table = json.loads(PRICES.read_text())
    entry = table["regions"][region]
    if "same_as" in entry:
        entry = {**table["regions"][entry["same_as"]], **entry}
    values = {k: v["value"] for k, v in entry.items() if isinstance(v, dict) and "value" in v}
    latency = {k: float(v) for k, v in table["dynamodb_latency_ms"].items() if k != "source"}
    return entry["currency"], values, latency


class Stack:
    """The app on a fresh moto store: API client, stream reader and metered phases."""

    def __init__(self, batch_size: int):
        from chalice.test import Client

        from chalicelib import composition
        from chalicelib.core import models
        from chalicelib.core.clock import FixedClock, parse_instant
        from chalicelib.core.config import load_settings
        from infra.tables import create_tables
        from tests.streams import StreamTap

        self.batch_size = batch_size
        settings = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "cost"})
        self.tables = {key: models.table_name(settings, key) for key in models.TABLES}
        arns = create_tables(boto3.client("dynamodb", region_name="cn-north-1"), settings)
        self.clock = FixedClock(parse_instant("2024-05-15T09:00:00+08:00"))
        composition.install(composition.Services(settings=settings, clock=self.clock))
        import app as app_module

        self.client = Client(app_module.app, stage_name="local")
        self.tap = StreamTap(arns["facts"])
        self.phases: dict[str, Phase] = {}

    def phase(self, name: str, function: str) -> Phase:
        return self.phases.setdefault(name, Phase(function))

    def call(self, phase: Phase, fn, *args, trace: bool = False):
        """Run one invocation under the meter; `trace` measures its peak Python memory too."""
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        with meter.phase(id(phase)) as totals:
            inside = totals["seconds"]
            answer = fn(*args)
            inside = totals["seconds"] - inside
        own = time.perf_counter() - started - inside
        if trace:
            phase.peak_bytes = max(phase.peak_bytes, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            phase.traced_own += own
        else:
            phase.own += own
            phase.timed += 1
        phase.invocations += 1
        phase.units = dict(totals)
        phase.operations = dict(meter.by_operation[id(phase)])
        return answer

    def http(self, phase: Phase, method: str, path: str, body: Any, headers: dict, trace: bool = False):
        def send():
            return getattr(self.client.http, method)(path, headers=headers, body=json.dumps(body))

        answer = self.call(phase, send, trace=trace)
        assert answer.status_code < 300, (path, answer.status_code, answer.body[:300])
        return json.loads(answer.body)

    def drain(self, prefix: str, batch_size: int | None = None, traced: int = 1) -> int:
        """Deliver every new stream record to both stream functions in batches; returns records."""
        records = self.tap.take()
        size = batch_size or self.batch_size
        for function in ("facts_stream", "push_stream"):
            phase = self.phase(f"{prefix}:{function}", function)
            for i, start in enumerate(range(0, len(records), size)):
                event = {"Records": records[start : start + size]}
                answer = self.call(
                    phase,
                    lambda e=event, f=function: self.client.lambda_.invoke(f, e).payload,
                    trace=i < traced,
                )
                assert not answer.get("batchItemFailures"), answer
        return len(records)


def headers_for(sub: str, role: str, **claims: str) -> dict[str, str]:
    from local_stack.tokens import token

    return {
        "Authorization": f"Bearer {token(sub=sub, role=role, **claims)}",
        "Content-Type": "application/json",
    }


def file_and_approve(stack: Stack, filings: int, rng: random.Random) -> list[str]:
    from chalicelib.core.reference import PROVINCES
    from tests.support import report_body

    phase = stack.phase("filings:api", "api_handler")
    admin = headers_for("admin", "national_admin")
    codes = sorted(PROVINCES)
    ids = []
    for i in range(filings):
        code = codes[i % len(codes)]
        filer = headers_for(f"filer-{code}", "filer", province=code)
        body = report_body(code, title=f"{code} 专利导航成果 {i}")
        created = stack.http(phase, "post", "/filings", body, filer, trace=i < 3)
        stack.http(phase, "post", f"/filings/{created['id']}/review", {"decision": "approve"}, admin)
        ids.append(created["id"])
    return ids


def post_events(stack: Stack, filings: list[str], events: int, per_request: int, rng: random.Random) -> int:
    """Usage events from readers of every side on Zipf-popular filings; returns how many were accepted."""
    phase = stack.phase("events:api", "api_handler")
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(filings))]
    readers = [
        headers_for(
            f"reader-{i}",
            "user",
            side=("government", "enterprise", "university", "research_institute")[i % 4],
        )
        for i in range(200)
    ]
    accepted = 0
    for i in range(0, events, per_request):
        stack.clock.advance(seconds=rng.choice([1, 5, 30, 120]))
        batch = [
            {
                "id": str(uuid.uuid4()),
                # Clients send views only: the platform counts a download when it serves the file.
                "type": "view",
                "filing": rng.choices(filings, weights)[0],
                "user_agent": "Mozilla/5.0 Chrome/120",
            }
            for _ in range(min(per_request, events - i))
        ]
        answer = stack.http(phase, "post", "/events", {"events": batch}, rng.choice(readers), trace=i == 0)
        accepted += answer["accepted"]
    return accepted


def baseline_rss_mb() -> float:
    """Resident memory of a fresh interpreter after `import app` (what every function starts with)."""
    # VmHWM belongs to the new process image; ru_maxrss would carry this (moto-swollen) parent's over exec.
    code = "import app, re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVI_", "AWS_ENDPOINT_URL"))}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


@dataclass
class Run:
    events: int
    filings: int
    phases: dict[str, Phase]
    storage: dict[str, tuple[int, int]]
    event_bytes: float  # facts storage the events added, per event (items they wrote, index copies)
    records_per_event: float  # stream records an accepted event causes (its item, chain heads it moves)
    nightly: Phase | None = None


def measure(
    events: int, filings: int, batch_size: int, per_request: int, seed: int, nightly: bool = False
) -> Run:
    rng = random.Random(seed)
    with mock_aws():
        meter.restart()
        stack = Stack(batch_size)
        with stack.client:
            ids = file_and_approve(stack, filings, rng)
            stack.drain("filings")
            before = meter.stored_bytes(stack.tables["facts"])[1]
            accepted = post_events(stack, ids, events, per_request, rng)
            event_bytes = (meter.stored_bytes(stack.tables["facts"])[1] - before) / max(1, accepted)
            night = None
            if nightly:
                # The alternative: the same counting handler once a night over the day's records.
                records = stack.tap.take()
                delivered = len(records)
                night = Phase("facts_stream")
                stack.call(
                    night, lambda: stack.client.lambda_.invoke("facts_stream", {"Records": records}).payload
                )
            else:
                delivered = stack.drain("events")
            from chalicelib.usage import running_counters

            assert not running_counters.drift(), "counters differ from a recount"
            storage = {key: meter.stored_bytes(name) for key, name in stack.tables.items()}
        from chalicelib import composition

        composition.reset()
    return Run(accepted, filings, stack.phases, storage, event_bytes, delivered / max(1, accepted), night)


def money(
    phase: Phase, memory: dict[str, int], price: dict[str, float], latency: dict[str, float], arch: str
) -> float:
    """Cost of what one phase did: DynamoDB units + Lambda requests and GB-seconds (+ API requests)."""
    units = phase.units
    cost = units.get("write", 0) / 1e6 * price["dynamodb_write_per_million"]
    cost += units.get("read", 0) / 1e6 * price["dynamodb_read_per_million"]
    mb = memory[phase.function]
    cost += phase.invocations / 1e6 * price["lambda_requests_per_million"]
    cost += phase.lambda_seconds(mb, latency) * mb / 1024 * price[f"lambda_gb_second_{arch}"]
    if phase.function == "api_handler":
        cost += phase.invocations / 1e6 * price["api_gateway_rest_per_million"]
    return cost


@dataclass(frozen=True)
class Costing:
    """What prices a phase besides the price list: the functions' memory, DynamoDB latency, architecture."""

    memory: dict[str, int]
    latency: dict[str, float]
    arch: str

    def of(self, phase: Phase, price: dict[str, float]) -> float:
        return money(phase, self.memory, price, self.latency, self.arch)

    def per_event(self, phases: Iterable[Phase], price: dict[str, float], events: int) -> float:
        return sum(self.of(p, price) for p in phases) / events


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=int,
        default=1000,
        help="moto copies a table per transaction item: "
        "memory grows with events x batch size (2,000 events peaked at ~7 GB)",
    )
    parser.add_argument("--filings", type=int, default=60)
    parser.add_argument(
        "--per-request", type=int, default=10, help="events per POST /events (portal batching)"
    )
    parser.add_argument(
        "--region", default="cn-north-1", choices=["cn-north-1", "cn-northwest-1", "us-east-1"]
    )
    parser.add_argument(
        "--sweep", default="1,5,20,100", help="stream batch sizes delivered, for the lag table"
    )
    parser.add_argument("--sweep-events", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    currency, price, latency = prices(args.region)
    memory = sizing()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]
    costing = Costing(memory, latency, config.get("lambda_architecture", "x86_64"))
    batching = config["stream_batching"]

    run = measure(args.events, args.filings, batching["batch_size"], args.per_request, args.seed)
    print(
        f"measured on moto: {run.filings} filings filed+approved, {run.events:,} events in POST /events of "
        f"{args.per_request}, stream batches of {batching['batch_size']}; prices {args.region} ({currency}), "
        f"memory {memory}, {costing.arch}"
    )
    print_phases(run, costing)
    print_sizing(run, costing, config, price, currency)
    print_unit_costs(run, costing, price, currency)

    # ---- batching: cost per event and settle lag against the delivered batch size -------
    sweep: dict[int, Run] = {}
    for size in (int(b) for b in args.sweep.split(",")):
        sweep[size] = measure(args.sweep_events, args.filings, size, args.per_request, args.seed)
    night_run = measure(
        args.sweep_events, args.filings, batching["batch_size"], args.per_request, args.seed, nightly=True
    )
    trigger = trigger_table(sweep, costing, price)
    record_rate = print_batching(trigger, run.records_per_event, batching["batch_size"], currency)
    print_years(run, night_run, sweep, costing, batching, record_rate)
    return 0


def print_phases(run: Run, costing: Costing) -> None:
    """Calls, request units, time and memory of every measured phase."""
    print(
        f"\n{'phase':<22}{'calls':>7}{'WRU':>10}{'RRU':>10}{'requests':>10}{'own ms/call':>13}"
        f"{'est. ms/call':>14}{'peak MB':>9}"
    )
    for name, phase in run.phases.items():
        mb = costing.memory[phase.function]
        print(
            f"{name:<22}{phase.invocations:>7}{phase.units.get('write', 0):>10.0f}{phase.units.get('read', 0):>10.1f}"
            f"{phase.units.get('requests', 0):>10.0f}{phase.own_seconds() / phase.invocations * 1000:>13.1f}"
            f"{phase.lambda_seconds(mb, costing.latency) / phase.invocations * 1000:>14.1f}"
            f"{phase.peak_bytes / 2**20:>9.1f}"
        )


def print_sizing(
    run: Run, costing: Costing, config: dict[str, Any], price: dict[str, float], currency: str
) -> None:
    """Each function's memory against what it needs, its timeout headroom, and the Power Tuning options."""
    latency = costing.latency
    base = baseline_rss_mb()
    print(f"fresh interpreter after `import app`: {base:.0f} MB resident; sizing of the prod stage:")
    for function, mb in costing.memory.items():
        phases = [p for p in run.phases.values() if p.function == function]
        if not phases:
            continue  # year_end: bench/bench_scoring.py
        need = base + max(p.peak_bytes for p in phases) / 2**20
        longest = max(p.lambda_seconds(mb, latency) / p.invocations for p in phases)
        timeout = config["lambda_functions"][function]["lambda_timeout"]
        print(
            f"  {function:<13} {mb:>5} MB, needs ~{need:.0f} MB ({need / mb:.0%});  est. {longest * 1000:6.0f} ms "
            f"per call, timeout {timeout} s ({timeout / longest:,.0f}x)"
        )
        busiest = max(phases, key=lambda p: p.lambda_seconds(mb, latency) / p.invocations)
        options = []
        for size in POWER_VALUES:  # what Power Tuning would try: own CPU time scales, waiting does not
            seconds = busiest.lambda_seconds(size, latency) / busiest.invocations
            gb_s = seconds * size / 1024 * price[f"lambda_gb_second_{costing.arch}"] * 1e6
            options.append(f"{size} MB {seconds * 1000:5.0f} ms {currency} {gb_s:6.2f}/M calls")
        cold = COLD_IMPORT_S * max(1.0, FULL_VCPU_MB / mb)
        print("      " + " | ".join(options) + f"  (cold `import app` ~{cold:.2f} s at {mb} MB)")


def _phases_of(run: Run, prefix: str) -> dict[str, Phase]:
    return {k: p for k, p in run.phases.items() if k.startswith(prefix)}


def print_unit_costs(run: Run, costing: Costing, price: dict[str, float], currency: str) -> None:
    """Units and cost per event (by phase) and per filing, and what the run left in storage."""
    n = run.events
    per_event = _phases_of(run, "events:")
    event_cost = costing.per_event(per_event.values(), price, n)
    filing_cost = costing.per_event(_phases_of(run, "filings:").values(), price, run.filings)
    wru_event = sum(p.units.get("write", 0) for p in per_event.values()) / n
    rru_event = sum(p.units.get("read", 0) for p in per_event.values()) / n
    print(
        f"\nper event:  {wru_event:.2f} WRU, {rru_event:.2f} RRU, "
        f"{currency} {event_cost * 1e6:,.2f} per million events"
    )
    for name, p in per_event.items():
        cost = costing.of(p, price) / n
        print(
            f"  {name:<20} {p.units.get('write', 0) / n:6.2f} WRU {p.units.get('read', 0) / n:6.2f} RRU "
            f"{p.invocations / n:6.3f} invocations  {currency} {cost * 1e6:9.2f}/M"
        )
    print(f"per filing: {currency} {filing_cost:.5f} (file + approve + its stream records)")
    counters_items, counters_bytes = run.storage["counters"]
    print(
        f"storage: facts {run.storage['facts'][0]} items {run.storage['facts'][1] / 1e6:.2f} MB "
        f"(~{run.event_bytes:.0f} B per event incl. index copies); counters {counters_items} items "
        f"{counters_bytes / 1e6:.2f} MB (markers expire after 7 days)"
    )


def trigger_table(
    sweep: dict[int, Run], costing: Costing, price: dict[str, float]
) -> dict[int, tuple[float, float]]:
    """Per delivered batch size: the stream functions' cost per event, est. seconds per facts batch."""
    out = {}
    for size, small in sweep.items():
        phases = [
            p for k, p in small.phases.items() if k.startswith("events:") and p.function != "api_handler"
        ]
        facts = small.phases["events:facts_stream"]
        out[size] = (
            costing.per_event(phases, price, small.events),
            facts.lambda_seconds(costing.memory["facts_stream"], costing.latency) / facts.invocations,
        )
    return out


def print_batching(
    trigger: dict[int, tuple[float, float]], records_per_event: float, batch_size: int, currency: str
) -> float:
    """The trigger's cost and settle lag by delivered batch and window; returns the national record rate."""
    print(
        f"\nstream trigger (facts + push) by records per delivered batch: {currency}/M events and est. "
        f"seconds per facts batch"
    )
    for size, (cost, seconds) in trigger.items():
        print(f"  batch {size:>4}: {cost * 1e6:9.2f}/M   {seconds:6.3f} s per batch")
    _, national_events = YEARS["national scale (bench_scoring.py)"]
    rate = national_events / WORKING_SECONDS
    # A mapping's batch counts stream records; each event causes `records_per_event` of them.
    record_rate = rate * records_per_event
    print(
        f"settle lag vs window at the national office-hours rate ({rate:.2f} events/s, {record_rate:.2f} "
        f"records/s) and 10x that; batch = records per delivered batch:"
    )
    for window in (0, 1, 2, 5, 10, 30):
        row = []
        for r in (record_rate, record_rate * 10):
            delivered = max(1.0, min(batch_size, r * window))
            cost, seconds = _interpolate(trigger, delivered)
            row.append(f"batch {delivered:5.1f}: lag <= {window + seconds:5.1f} s, {cost * 1e6:8.2f}/M")
        print(f"  window {window:>2} s   " + "   |   ".join(row))
    return record_rate


def print_years(
    run: Run,
    night_run: Run,
    sweep: dict[int, Run],
    costing: Costing,
    batching: dict[str, int],
    record_rate: float,
) -> None:
    """1 million events and national years, real time vs nightly, in every priced region."""
    window = batching["window_seconds"]
    delivered = max(1.0, min(batching["batch_size"], record_rate * window))
    print(
        f"\nreal time = POST /events + both stream functions at the configured window ({window} s: "
        f"{delivered:.1f} records per batch at the national rate); nightly = POST /events + the same counting "
        f"handler once a night over the day's records + reading them back once"
    )
    print(
        f"{'region':<16}{'1 M events: real time':>22}{'nightly':>10}{'real-time price':>17}"
        + "".join(f"{label.split(' (')[0] + ': real time / nightly':>40}" for label in YEARS)
    )
    for region in json.loads(PRICES.read_text())["regions"]:
        money_unit, region_price, _ = prices(region)
        api = [p for p in _phases_of(run, "events:").values() if p.function == "api_handler"]
        ingest = costing.per_event(api, region_price, run.events)
        realtime = ingest + _interpolate(trigger_table(sweep, costing, region_price), delivered)[0]
        read_back = run.event_bytes / 8192 / 1e6 * region_price["dynamodb_read_per_million"]  # eventual, once
        nightly = ingest + costing.of(night_run.nightly, region_price) / night_run.events + read_back
        filing = costing.per_event(_phases_of(run, "filings:").values(), region_price, run.filings)
        years = [
            f"{money_unit} {real:>9,.1f} / {batch:>9,.1f}"
            for real, batch in _year_costs(realtime, nightly, filing, run.event_bytes, region_price)
        ]
        print(
            f"{region:<16}{money_unit:>5} {realtime * 1e6:>15,.2f}{nightly * 1e6:>10,.2f}"
            f"{(realtime - nightly) * 1e6:>17,.2f}" + "".join(f"{y:>40}" for y in years)
        )
    for label, (year_filings, year_events) in YEARS.items():
        print(
            f"  {label}: {year_filings:,} filings, {year_events:,} events, "
            f"{year_events * run.event_bytes / 1e9:.2f} GB of facts at year end"
        )


def _year_costs(
    realtime: float, nightly: float, filing: float, event_bytes: float, price: dict[str, float]
) -> list[tuple[float, float]]:
    """(real time, nightly) cost of each year in YEARS at the given per-event and per-filing costs."""
    costs = []
    for year_filings, year_events in YEARS.values():
        # Facts grow through the year: half the year-end size is stored on average.
        storage = year_events * event_bytes / 1e9 / 2 * 12 * price["dynamodb_storage_per_gb_month"]
        fixed = year_filings * filing + storage
        costs.append((year_events * realtime + fixed, year_events * nightly + fixed))
    return costs


def _interpolate(table: dict[int, tuple[float, float]], size: float) -> tuple[float, float]:
    """Cost per event and seconds per batch at a delivered batch `size`, linear between measured sizes."""
    sizes = sorted(table)
    if size <= sizes[0]:
        return table[sizes[0]]
    for low, high in zip(sizes, sizes[1:]):
        if size <= high:
            t = (size - low) / (high - low)
            return tuple(a + t * (b - a) for a, b in zip(table[low], table[high]))  # type: ignore[return-value]
    return table[sizes[-1]]


if __name__ == "__main__":
    sys.exit(main())
