"""Usage helpers: an /events body, and the fault-injection world the exactly-once and counting-order
properties share (a moto store with two filings and a publication, usage sent through the domain,
stream batches delivered with crashes and poison records)."""

from __future__ import annotations

import contextlib
import copy
import uuid

from moto import mock_aws

from chalicelib import composition
from chalicelib.core.auth import Caller
from chalicelib.core.clock import FixedClock, parse_instant
from chalicelib.core.config import load_settings
from chalicelib.core.models import Filing, Publication
from chalicelib.usage import interactions, running_counters
from chalicelib.usage.interactions import EventsIn
from chalicelib.usage.robots import Robots
from infra.tables import create_tables
from tests.conftest import auth
from tests.streams import StreamTap
from tests.support import moto_client
from tests.support.documents import BROWSER


def view(client, who: dict, **target) -> None:
    """One view by `who` (token claims) of the filing or publication `target` names, accepted and counted."""
    batch = {"events": [{"id": str(uuid.uuid4()), "type": "view", "user_agent": BROWSER, **target}]}
    assert client.post("/events", batch, headers=auth(**who)).json["accepted"] == 1


def events(filing_id, kind="view", n=1, agent=BROWSER):
    """A POST /events body: `n` fresh events of `kind` on the filing from a browser."""
    return {
        "events": [
            {"id": str(uuid.uuid4()), "type": kind, "filing": filing_id, "user_agent": agent}
            for _ in range(n)
        ]
    }


# ---- the fault-injection world -----------------------------------------------------------------

ROBOTS = Robots(["bot", "crawl"])
FILINGS = ["f1", "f2"]
# What views and downloads land on: both filings and a publication of the same unit.
TARGETS = [("filing", "f1"), ("filing", "f2"), ("publication", "p1")]


class Crash(Exception):
    """A Lambda dying mid-batch."""


@contextlib.contextmanager
def world():
    """A moto store with two approved filings and a publication; yields (clock, tap on the facts stream)."""
    with mock_aws():
        s = load_settings({"NAVI_STAGE": "test", "NAVI_TABLE_PREFIX": "navi-prop"})
        arns = create_tables(moto_client("dynamodb"), s)
        clock = FixedClock(parse_instant("2024-09-20T10:00:00+08:00"))
        composition.install(composition.Services(settings=s, clock=clock))
        now = clock.now()
        for fid in FILINGS:
            f = Filing(
                f"FILING#{fid}",
                "A",
                entity="filing",
                id=fid,
                kind="report",
                title="t",
                province="320000",
                unit="u",
                industry="1",
                status="approved",
                filed_at=now,
                cycle="2024",
                author="author",
            )
            f.save()
        Publication(
            "PUB#p1",
            "A",
            entity="publication",
            id="p1",
            kind="news",
            title="t",
            province="320000",
            body="b",
            status="approved",
            filed_at=now,
            cycle="2024",
            author="author",
        ).save()
        try:
            yield clock, StreamTap(arns["facts"])
        finally:
            composition.reset()


def send_usage(
    caller: Caller, etype: str, target: tuple[str, str], agent: str, now, count: int = 1
) -> list[dict]:
    """`count` views (one request) or downloads (served one by one) of a target at `now`; returns the views sent."""
    kind, target_id = target
    if etype == "download":
        model, key = (
            (Filing, f"FILING#{target_id}") if kind == "filing" else (Publication, f"PUB#{target_id}")
        )
        doc = model.get(key, "A")
        for _ in range(count):
            assert interactions.record_download(caller, kind, doc, "file-1", agent, ROBOTS, now) is not None
        return []
    events = [
        {"id": str(uuid.uuid4()), "type": "view", kind: target_id, "user_agent": agent} for _ in range(count)
    ]
    receipt = interactions.record_events(
        caller, EventsIn.model_validate({"events": events}), None, ROBOTS, now
    )
    assert receipt.accepted == count and receipt.duplicates == 0
    return events


def poison_record(template: dict) -> dict:
    """A copy of a stream record turned into an evaluation the trigger cannot count."""
    bad = copy.deepcopy(template)
    bad["eventID"] = uuid.uuid4().hex
    bad["eventName"] = "INSERT"
    bad["dynamodb"]["NewImage"] = {"entity": {"S": "evaluation"}, "filing": {"S": "f1"}}  # no score, no side
    bad["dynamodb"].pop("OldImage", None)
    return bad


def run_batch(batch: list[dict], now, crash: str | None, crash_at: int) -> dict:
    """One Lambda invocation, optionally dying before or after its `crash_at`-th transaction."""
    if crash is None:
        return running_counters.handle_stream_batch({"Records": batch}, now)
    real = running_counters.transaction
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

    running_counters.transaction = failing
    try:
        return running_counters.handle_stream_batch({"Records": batch}, now)
    finally:
        running_counters.transaction = real
