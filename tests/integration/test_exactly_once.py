"""Fault injection: whatever the delivery schedule, counters equal a recount of the facts.

Hypothesis draws an interaction history and a hostile delivery schedule (odd batch
sizes, duplicated batches, batches out of order, crashes before or after any counter
transaction, poison records, a replay of everything at the end) and checks drift is 0.
"""
from __future__ import annotations

import contextlib
import copy
import os
import uuid
from datetime import timedelta

import boto3
from hypothesis import HealthCheck, given, settings, strategies as st
from moto import mock_aws

from chalicelib.usage import counters, interactions
from chalicelib.core import runtime
from chalicelib.core.auth import Caller
from chalicelib.core.clock import FixedClock, parse_instant
from chalicelib.core.config import load_settings
from chalicelib.core.models import Filing, Publication
from chalicelib.usage.robots import Robots
from chalicelib.documents.filings import ApplicationChangeIn
from chalicelib.usage.interactions import CommentIn, EvaluationIn, EventsIn
from infra.tables import create_tables
from tests.streams import StreamTap

EXAMPLES = int(os.environ.get("NAVI_FAULT_EXAMPLES", "30"))
ROBOTS = Robots(["bot", "crawl"])
USERS = [Caller("u1", "user", side="government"), Caller("u2", "user", side="enterprise"),
         Caller("u3", "user", side="university"), Caller("author", "filer", province="320000")]
FILINGS = ["f1", "f2"]
# What views and downloads land on: both filings and a publication of the same unit.
TARGETS = [("filing", "f1"), ("filing", "f2"), ("publication", "p1")]

operation = st.one_of(
    st.tuples(st.just("event"), st.sampled_from(["view", "download"]), st.integers(0, 3), st.integers(0, 2),
              st.booleans(), st.sampled_from([0, 1, 10, 29, 30, 31, 600, 3599, 3600, 86400])),
    st.tuples(st.just("resend"), st.integers(0, 50)),
    st.tuples(st.just("reaction"), st.sampled_from(["like", "favorite"]), st.integers(0, 3), st.integers(0, 1),
              st.booleans()),
    st.tuples(st.just("comment"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("uncomment"), st.integers(0, 20)),
    st.tuples(st.just("evaluate"), st.integers(0, 2), st.integers(0, 1), st.integers(1, 5)),
    st.tuples(st.just("apply"), st.integers(0, 1), st.sampled_from(["in_progress", "applied"])),
    st.tuples(st.just("later"), st.sampled_from([31, 3600, 40 * 86400, 200 * 86400])),
)

fault = st.sampled_from(["none", "none", "duplicate", "crash_before", "crash_after", "poison", "swap"])
schedule = st.lists(st.tuples(st.integers(1, 40), fault, st.integers(0, 3)), min_size=1, max_size=30)


class Crash(Exception):
    """A Lambda dying mid-batch."""


@contextlib.contextmanager
def world():
    with mock_aws():
        s = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-prop"})
        arns = create_tables(boto3.client("dynamodb", region_name="cn-north-1"), s)
        clock = FixedClock(parse_instant("2024-09-20T10:00:00+08:00"))
        runtime.install(runtime.Services(settings=s, clock=clock))
        now = clock.now()
        for fid in FILINGS:
            f = Filing(f"FILING#{fid}", "A", entity="filing", id=fid, kind="report", title="t", province="320000",
                       unit="u", industry="1", status="approved", filed_at=now, cycle="2024", author="author")
            f.save()
        Publication("PUB#p1", "A", entity="publication", id="p1", kind="news", title="t", province="320000",
                    body="b", status="approved", filed_at=now, cycle="2024", author="author").save()
        try:
            yield clock, StreamTap(arns["facts"])
        finally:
            runtime.reset()


def play(history, clock) -> None:
    """Run an interaction history through the same domain functions the API calls."""
    sent: list[tuple[Caller, dict]] = []
    comments: list[tuple[Caller, str, str]] = []
    for op in history:
        kind = op[0]
        if kind == "event":
            _, etype, user, target, robot, step = op
            clock.advance(seconds=step)
            views = send_usage(USERS[user], etype, TARGETS[target], "crawlbot/1" if robot else "Mozilla/5.0",
                               clock.now())
            sent.extend((USERS[user], event) for event in views)
        elif kind == "resend" and sent:
            caller, event = sent[op[1] % len(sent)]
            interactions.record_events(caller, EventsIn.model_validate({"events": [event]}), None, ROBOTS,
                                       clock.now())
        elif kind == "reaction":
            _, what, user, filing, active = op
            interactions.set_reaction(USERS[user], FILINGS[filing], what, active, clock.now())
        elif kind == "comment":
            caller, filing = USERS[op[1]], FILINGS[op[2]]
            made = interactions.add_comment(caller, filing, CommentIn(text="意见"), clock.now())
            comments.append((caller, filing, made.id))
            clock.advance(seconds=1)
        elif kind == "uncomment" and comments:
            caller, filing, cid = comments[op[1] % len(comments)]
            interactions.delete_comment(caller, filing, cid, clock.now())
        elif kind == "evaluate":
            _, user, filing, score = op
            interactions.evaluate(USERS[user], FILINGS[filing], EvaluationIn(score=score), clock.now())
        elif kind == "apply":
            from chalicelib.documents import filings
            filings.change_application(USERS[3], FILINGS[op[1]], ApplicationChangeIn(status=op[2]), clock.now())
        elif kind == "later":
            clock.advance(seconds=op[1])


def send_usage(caller: Caller, etype: str, target: tuple[str, str], agent: str, now, count: int = 1) -> list[dict]:
    """`count` views (one request) or downloads (served one by one) of a target at `now`; returns the views sent."""
    kind, target_id = target
    if etype == "download":
        model, key = (Filing, f"FILING#{target_id}") if kind == "filing" else (Publication, f"PUB#{target_id}")
        doc = model.get(key, "A")
        for _ in range(count):
            assert interactions.record_download(caller, kind, doc, "file-1", agent, ROBOTS, now) is not None
        return []
    events = [{"id": str(uuid.uuid4()), "type": "view", kind: target_id, "user_agent": agent} for _ in range(count)]
    receipt = interactions.record_events(caller, EventsIn.model_validate({"events": events}), None, ROBOTS, now)
    assert receipt.accepted == count and receipt.duplicates == 0
    return events


def poison_record(template: dict) -> dict:
    bad = copy.deepcopy(template)
    bad["eventID"] = uuid.uuid4().hex
    bad["eventName"] = "INSERT"
    bad["dynamodb"]["NewImage"] = {"entity": {"S": "evaluation"}, "filing": {"S": "f1"}}  # no score, no side
    bad["dynamodb"].pop("OldImage", None)
    return bad


def run_batch(batch: list[dict], now, crash: str | None, crash_at: int) -> dict:
    """One Lambda invocation, optionally dying before or after its `crash_at`-th transaction."""
    if crash is None:
        return counters.handle_stream_batch({"Records": batch}, now)
    real = counters.transaction
    calls = {"n": 0}

    @contextlib.contextmanager
    def failing():
        calls["n"] += 1
        if crash == "crash_before" and calls["n"] > crash_at:
            raise Crash()
        with real() as tx:
            yield tx
        if crash == "crash_after" and calls["n"] > crash_at:
            raise Crash()

    counters.transaction = failing
    try:
        return counters.handle_stream_batch({"Records": batch}, now)
    finally:
        counters.transaction = real


def deliver_hostile(records: list[dict], plan, now) -> None:
    position, pending = 0, []
    for size, what, crash_at in plan:
        if position >= len(records):
            break
        batch = records[position:position + size]
        if what == "poison":
            batch = batch[:1] + [poison_record(batch[0])] + batch[1:]
        if what == "swap":
            pending.append(batch)  # delivered later, after its successors
            position += size
            continue
        if what in ("crash_before", "crash_after"):
            with contextlib.suppress(Crash):
                run_batch(batch, now, what, crash_at)
        answer = counters.handle_stream_batch({"Records": batch}, now)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        assert all(r["dynamodb"]["SequenceNumber"] in failed for r in batch if r["eventID"] not in
                   {x["eventID"] for x in records}), "only the poison record may fail"
        if what == "duplicate":
            counters.handle_stream_batch({"Records": batch}, now)
        position += size
    if position < len(records):
        counters.handle_stream_batch({"Records": records[position:]}, now) if len(records) - position <= 100 else \
            [counters.handle_stream_batch({"Records": records[i:i + 100]}, now)
             for i in range(position, len(records), 100)]
    for batch in reversed(pending):
        counters.handle_stream_batch({"Records": batch}, now)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(operation, min_size=1, max_size=40), plan=schedule)
def test_counters_equal_the_recount_under_any_delivery_schedule(history, plan):
    with world() as (clock, tap):
        play(history, clock)
        records = tap.take()
        if not records:
            return
        now = clock.now() + timedelta(seconds=5)
        deliver_hostile(records, plan, now)
        # A replay hours later of everything the stream still holds changes nothing.
        for start in range(0, len(records), 100):
            counters.handle_stream_batch({"Records": records[start:start + 100]}, now + timedelta(hours=20))
        assert counters.drift() == [], (history, plan)
