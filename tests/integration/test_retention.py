"""Retention: raw usage facts carry a TTL (their cycle's end + the time until the result is final +
grace); DynamoDB's TTL removals reach the trigger and must not decrement any counter."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import boto3

from chalicelib.core.cycles import cycle_by_id
from chalicelib.core.vocabulary import RAW_FACTS_GRACE, RAW_FACTS_UNTIL_FINAL
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing
from tests.support.usage import events

READER = dict(sub="reader-1", role="user", side="enterprise")
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def removal(record: dict, n: int, by_ttl: bool) -> dict:
    """The REMOVE record of the item `record` inserted, as DynamoDB's stream would carry it."""
    out = copy.deepcopy(record)
    out["eventID"] = f"remove-{n}-{by_ttl}"
    out["eventName"] = "REMOVE"
    out["dynamodb"]["OldImage"] = out["dynamodb"].pop("NewImage")
    out["dynamodb"]["SequenceNumber"] = str(10**20 + n)
    if by_ttl:
        out["userIdentity"] = TTL_IDENTITY
    return out


def test_usage_events_and_their_chain_heads_expire_after_their_cycle_is_final(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    client.post("/events", events(filing["id"]), headers=auth(**READER))
    items = boto3.client("dynamodb", region_name="cn-north-1").scan(TableName=store.settings.facts_table)[
        "Items"
    ]
    usage = [i for i in items if i["pk"]["S"].startswith(("EVENT#", "CHAIN#"))]
    expected = cycle_by_id("2024").ends_before + RAW_FACTS_UNTIL_FINAL + RAW_FACTS_GRACE
    assert len(usage) == 2 and {int(i["expires_at"]["N"]) for i in usage} == {int(expected.timestamp())}
    assert datetime.fromtimestamp(int(expected.timestamp()), UTC).date().isoformat() == "2025-04-28"
    kept = [i for i in items if not i["pk"]["S"].startswith(("EVENT#", "CHAIN#"))]
    assert kept and not any("expires_at" in i for i in kept)  # filings and the like are kept


def test_a_ttl_removal_changes_no_counter_but_a_persons_removal_does(pipeline):
    client, settle, store = pipeline
    tap = StreamTap(store.stream_arn)
    filing = approved_filing(client)
    client.post("/events", events(filing["id"]), headers=auth(**READER))
    client.put(f"/filings/{filing['id']}/like", headers=auth(**READER))
    records = tap.take()
    deliver(lambda e: running_counters.handle_stream_batch(e, store.clock.now()), records)
    before = client.get(f"/filings/{filing['id']}/stats").json
    assert before["views"]["total"] == 1 and before["likes"] == 1
    inserts = [
        r
        for r in records
        if r["eventName"] == "INSERT"
        and "entity" in r["dynamodb"].get("NewImage", {})
        and r["dynamodb"]["NewImage"]["entity"]["S"] in ("event", "reaction")
    ]
    expired = [removal(r, n, by_ttl=True) for n, r in enumerate(inserts)]
    deliver(lambda e: running_counters.handle_stream_batch(e, store.clock.now()), expired)
    assert client.get(f"/filings/{filing['id']}/stats").json == before
    like = next(r for r in inserts if r["dynamodb"]["NewImage"]["entity"]["S"] == "reaction")
    deliver(
        lambda e: running_counters.handle_stream_batch(e, store.clock.now()),
        [removal(like, 99, by_ttl=False)],
    )
    assert client.get(f"/filings/{filing['id']}/stats").json["likes"] == 0
