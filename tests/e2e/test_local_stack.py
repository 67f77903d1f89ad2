"""The local stack does what Lambda, EventBridge and API Gateway would: checked against a fake app."""

from __future__ import annotations

import time
import types
import uuid
from datetime import datetime

import boto3
import pytest
from chalice import Chalice, Cron

from chalicelib import composition
from chalicelib.core.clock import FixedClock, parse_instant
from local_stack.stack import start_stack


def fake_app(on_batch, batch_size: int = 100) -> types.ModuleType:
    """A module shaped like app.py: one stream handler calling `on_batch(event)`, one schedule."""
    module = types.ModuleType("fake_app")
    app = Chalice(app_name="fake")
    module.app = app
    module.fired = []

    @app.on_dynamodb_record(
        stream_arn="arn:placeholder",
        batch_size=batch_size,
        starting_position="TRIM_HORIZON",
        name="facts_stream",
    )
    def on_fact(event):
        return on_batch(event)

    @app.schedule(Cron(0, 15, 31, 12, "?", "*"), name="year_end")
    def year_end(event):
        module.fired.append(event.to_dict())

    @app.route("/ping")
    def ping():
        return {"pong": True}

    module.on_fact, module.year_end, module.ping = on_fact, year_end, ping
    return module


@pytest.fixture
def start_fake():
    """Start a stack around a fake app on its own tables; stopped after the test."""
    started = []

    def start(on_batch=lambda event: None, batch_size: int = 100, poll_interval: float = 3600, **kw):
        # The background poller sleeps unless asked for, so `drain` alone decides the batches.
        module = fake_app(on_batch, batch_size)
        env = {"NAVI_TABLE_PREFIX": f"devstack-{uuid.uuid4().hex[:8]}"}
        s = start_stack(
            port=0,
            env_overrides=env,
            app_module=module,
            poll_interval=poll_interval,
            schedule_interval=0.05,
            batch_size=batch_size,
            **kw,
        )
        started.append(s)
        return s

    yield start
    for s in reversed(started):
        s.stop()


def put_facts(stack, *pks: str, **attrs: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=stack.moto_endpoint)
    for pk in pks:
        item = {"pk": {"S": pk}, "sk": {"S": "fact"}, "entity": {"S": "test"}}
        item.update({k: {"S": v} for k, v in attrs.items()})
        client.put_item(TableName=stack.services.settings.facts_table, Item=item)


def pk_of(record) -> str:
    return record.keys["pk"]["S"]


def test_stream_records_become_events_chalice_accepts(start_fake):
    seen = []

    def on_batch(event):
        for record in event:
            seen.append(
                (
                    pk_of(record),
                    record.event_name,
                    record.table_name,
                    record.timestamp,
                    record.new_image["entity"]["S"],
                    record.to_dict()["eventSource"],
                )
            )

    stack = start_fake(on_batch)
    put_facts(stack, "a", "b")
    stack.drain()

    table = stack.services.settings.facts_table
    assert [s[:3] for s in seen] == [("a", "INSERT", table), ("b", "INSERT", table)]
    assert all(isinstance(s[3], datetime) and s[4] == "test" and s[5] == "aws:dynamodb" for s in seen)


def test_background_poller_delivers_without_drain(start_fake):
    seen = []
    stack = start_fake(lambda event: seen.extend(pk_of(r) for r in event), poll_interval=0.2)
    put_facts(stack, "x")
    deadline = time.monotonic() + 2
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == ["x"]


def test_batches_respect_batch_size(start_fake):
    batches = []
    stack = start_fake(lambda event: batches.append([pk_of(r) for r in event]), batch_size=2)
    put_facts(stack, "1", "2", "3", "4", "5")
    stack.drain()
    assert batches == [["1", "2"], ["3", "4"], ["5"]]


def test_the_next_page_is_read_while_the_handler_runs_and_taken_when_it_holds_records(start_fake):
    batches, reads = [], []
    stack = start_fake(lambda event: batches.append([pk_of(r) for r in event]), batch_size=2)
    get_records = stack.poller.streams.get_records
    stack.poller.streams.get_records = lambda **kw: reads.append(kw["ShardIterator"]) or get_records(**kw)
    put_facts(stack, "1", "2", "3")
    mapping = stack.poller.mappings[0]
    with stack.poller.lock:
        assert stack.poller.step(mapping)  # reads 1-2, and reads ahead from where it ends
        stack.poller._ahead.result()
        ahead = mapping.iterator
        assert reads == [reads[0], ahead]
        assert stack.poller.step(mapping)  # 3, from the page read ahead: no read of its own
        assert reads.count(ahead) == 1
    assert batches == [["1", "2"], ["3"]]


def test_a_page_read_ahead_empty_is_read_again_so_records_written_since_are_delivered(start_fake):
    # Before: taken as "caught up", the records waited for a later pass (and drain could end early).
    batches = []
    stack = start_fake(lambda event: batches.append([pk_of(r) for r in event]), batch_size=2)
    put_facts(stack, "1", "2")
    mapping = stack.poller.mappings[0]
    with stack.poller.lock:
        assert stack.poller.step(mapping)
        assert stack.poller._ahead.result()["Records"] == []  # nothing after 1-2 yet
        put_facts(stack, "3")
        assert stack.poller.step(mapping)
    assert batches == [["1", "2"], ["3"]]


def test_partial_failure_redelivers_from_lowest_failed_sequence(start_fake):
    batches, failures_left = [], {"c": 2, "d": 1}

    def on_batch(event):
        batches.append([pk_of(r) for r in event])
        failed = []
        for record in event:
            if failures_left.get(pk_of(record), 0) > 0:
                failures_left[pk_of(record)] -= 1
                failed.append({"itemIdentifier": record.sequence_number})
        return {"batchItemFailures": failed}

    stack = start_fake(on_batch)
    put_facts(stack, "a", "b", "c", "d", "e")
    stack.drain()

    # Like Lambda: records before the lowest failure are done; the rest come again.
    assert batches == [["a", "b", "c", "d", "e"], ["c", "d", "e"], ["c", "d", "e"]]
    assert stack.poller.mappings[0].failed == []


def test_a_raising_handler_gets_the_whole_batch_again(start_fake):
    batches, raises = [], [True]

    def on_batch(event):
        batches.append([pk_of(r) for r in event])
        if raises.pop() if raises else False:
            raise RuntimeError("boom")

    stack = start_fake(on_batch)
    put_facts(stack, "a", "b")
    stack.drain()
    assert batches == [["a", "b"], ["a", "b"]]


def test_retry_limit_then_on_failure_and_move_on(start_fake):
    batches = []

    def on_batch(event):
        batches.append([pk_of(r) for r in event])
        return {
            "batchItemFailures": [
                {"itemIdentifier": r.sequence_number} for r in event if pk_of(r) == "poison"
            ]
        }

    stack = start_fake(on_batch, retry_limit=3)
    put_facts(stack, "a", "poison", "b")
    stack.drain()
    put_facts(stack, "later")
    stack.drain()

    assert batches == [["a", "poison", "b"]] + [["poison", "b"]] * 3 + [["later"]]
    failed = stack.poller.mappings[0].failed
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in failed] == ["poison"]


def test_unknown_identifier_fails_the_whole_batch(start_fake):
    batches = []

    def on_batch(event):
        batches.append([pk_of(r) for r in event])
        return (
            {"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]}
            if len(batches) == 1
            else None
        )

    stack = start_fake(on_batch)
    put_facts(stack, "a", "b")
    stack.drain()
    assert batches == [["a", "b"], ["a", "b"]]


def test_unknown_route_is_a_404_problem(start_fake):
    import requests

    stack = start_fake()
    assert requests.get(f"{stack.url}/ping", timeout=5).json() == {"pong": True}
    for headers in ({}, {"Authorization": "Bearer whatever"}):
        r = requests.get(f"{stack.url}/no/such/thing?x=1", headers=headers, timeout=5)
        assert r.status_code == 404
        assert r.headers["Content-Type"] == "application/problem+json"
        body = r.json()
        assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == 404
        assert "/no/such/thing" in body["detail"]


def test_scheduler_fires_when_the_app_clock_crosses_the_cron_instant(start_fake):
    stack = start_fake()
    clock = FixedClock(parse_instant("2025-12-31T22:59:58+08:00"))
    composition.override(clock=clock)
    stack.scheduler.check()
    assert stack.app_module.fired == []

    clock.advance(seconds=3)
    deadline = time.monotonic() + 2
    while not stack.app_module.fired and time.monotonic() < deadline:
        time.sleep(0.05)  # the scheduler thread picks it up
    [event] = stack.app_module.fired
    assert event["time"] == "2025-12-31T15:00:00Z"
    assert event["detail-type"] == "Scheduled Event"

    clock.advance(hours=1)
    stack.scheduler.check()
    assert len(stack.app_module.fired) == 1  # once per crossing


def test_real_app_is_served_with_its_handlers(api):
    assert api.get("/health").status == 200
    assert api.get("/definitely-not-a-route").status == 404
    assert {m.name for m in api.stack.poller.mappings} >= {"facts_stream"}
    assert "year_end" in {j.name for j in api.stack.scheduler.jobs}
    api.drain()


def test_the_local_mappings_batch_and_retry_exactly_as_the_deployed_ones(api):
    from infra.package import stage_deployment, stream_mapping
    from infra.template import Wiring

    local = stream_mapping("local")
    for stage in ("dev", "prod"):
        # The template wires every stream trigger from these two sources.
        assert (local.batch_size, local.window_seconds) == (
            stage_deployment(stage).batch_size,
            stage_deployment(stage).window_seconds,
        )
    assert local.max_retries == Wiring().max_retries
    poller = api.stack.poller
    assert poller.retry_limit == local.max_retries
    assert poller.mappings and {m.batch_size for m in poller.mappings} == {local.batch_size}


def test_stack_recovers_after_a_mock_aws_test_resets_moto(start_fake):
    from moto import mock_aws

    seen = []
    stack = start_fake(lambda event: seen.extend(pk_of(r) for r in event))
    put_facts(stack, "before")
    stack.drain()
    with mock_aws():  # what the chalice.test fixtures in tests/support.py do: wipes every moto backend
        pass
    stack.ensure()
    put_facts(stack, "after")
    stack.drain()
    stack.reset_data()
    put_facts(stack, "fresh")
    stack.drain()
    assert seen == ["before", "after", "fresh"]


def test_stop_returns_promptly_while_the_trigger_is_stuck_in_a_handler(start_fake):
    """Ctrl-C/SIGTERM must not wait for a busy trigger (a generous bound: the contract is 2 s)."""
    import threading

    inside, release = threading.Event(), threading.Event()

    def on_batch(event):
        inside.set()
        release.wait(60)

    stack = start_fake(on_batch, poll_interval=0.05)
    put_facts(stack, "slow")
    assert inside.wait(10)
    began = time.monotonic()
    stack.stop()
    took = time.monotonic() - began
    release.set()
    assert took < 5, f"stop took {took:.1f} s"


def test_stream_records_every_mapping_passed_are_trimmed_from_the_embedded_store(start_fake):
    from local_stack import moto_store

    stack = start_fake()
    put_facts(stack, *[f"t{i}" for i in range(30)])
    stack.drain()
    settings = stack.services.settings
    assert len(moto_store.table(settings.facts_table, settings.region).stream_shard.items) == 0
    put_facts(stack, "after")  # a later record is still delivered from where the poller stood
    stack.drain()
    assert stack.poller.passed() == moto_store.stream_end(settings.facts_table, settings.region)


def test_the_poller_reads_on_after_its_shard_iterator_expired(start_fake):
    """DynamoDB expires iterators after 15 minutes (the embedded store keeps only the newest)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    seen = []
    stack = start_fake(lambda event: seen.extend(pk_of(r) for r in event))
    put_facts(stack, "before")
    stack.drain()
    dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][stack.services.settings.region].shard_iterators.clear()
    put_facts(stack, "after")
    for _ in range(3):
        try:
            stack.drain()
            break
        except Exception:
            continue  # the expired iterator's read fails once; the next pass reads from the position
    assert seen == ["before", "after"]


def test_schedules_do_not_fire_into_another_stores_clock(start_fake):
    """A moto-backed test in this process installs its own store and clock: the stack must not act on it."""
    from chalicelib.core.config import load_settings

    stack = start_fake()
    clock = FixedClock(parse_instant("2025-12-31T22:59:58+08:00"))
    composition.install(
        composition.Services(
            settings=load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "other"}), clock=clock
        )
    )
    stack.scheduler.check()
    clock.advance(seconds=3)
    assert stack.scheduler.check() == [] and stack.app_module.fired == []
