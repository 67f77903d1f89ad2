"""PIPL rights: GET /me/data gives a person everything held about them; DELETE /me/data erases it,
the counters follow exactly (a recount agrees) and both are audited by counts only."""

from __future__ import annotations

import random

import boto3

from chalicelib.core.audit import trail
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing
from tests.support.usage import events

ME = dict(sub="reader-me@example.cn", role="user", side="enterprise")
OTHERS = [dict(sub=f"reader-{i}", role="user", side="university") for i in range(3)]
SECRET_TEXT = "我的私人评论 private words"


def interact(client, filing_id, who, text=SECRET_TEXT):
    assert client.put(f"/filings/{filing_id}/like", headers=auth(**who)).status == 200
    assert client.put(f"/filings/{filing_id}/favorite", headers=auth(**who)).status == 200
    assert client.post(f"/filings/{filing_id}/comments", {"text": text}, headers=auth(**who)).status == 201
    assert (
        client.put(
            f"/filings/{filing_id}/evaluation", {"score": 4, "feedback": text}, headers=auth(**who)
        ).status
        == 200
    )
    assert client.post("/events", events(filing_id), headers=auth(**who)).status == 202


def stats(client, filing_id):
    return client.get(f"/filings/{filing_id}/stats").json


def test_a_person_gets_everything_held_about_them_and_the_copy_is_audited_without_content(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    interact(client, filing["id"], ME)
    interact(client, filing["id"], OTHERS[0], text="someone else")
    mine = client.get("/me/data", headers=auth(**ME))
    assert mine.status == 200
    data = mine.json
    assert data["subject"]["sub"] == ME["sub"]
    assert sorted(r["kind"] for r in data["reactions"]) == ["favorite", "like"]
    assert [c["text"] for c in data["comments"]] == [SECRET_TEXT]
    assert [(e["score"], e["feedback"]) for e in data["evaluations"]] == [(4, SECRET_TEXT)]
    assert "someone else" not in repr(data)
    assert client.get("/me/data").status == 401
    entries = trail("personal_data", ME["sub"])
    assert [e["action"] for e in entries] == ["exported"] and SECRET_TEXT not in repr(entries)


def test_erasure_removes_what_the_person_did_and_the_counters_follow_exactly(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    interact(client, filing["id"], ME)
    for other in OTHERS:
        interact(client, filing["id"], other, text="other")
    settle()
    before = stats(client, filing["id"])
    erased = client.delete("/me/data", headers=auth(**ME))
    assert erased.status == 200
    assert erased.json["erased"]["reactions"] == 2 and erased.json["erased"]["comments"] == 1
    assert erased.json["erased"]["evaluations"] == 1
    settle()
    after = stats(client, filing["id"])
    assert after["likes"] == before["likes"] - 1 and after["favorites"] == before["favorites"] - 1
    assert after["comments"] == before["comments"] - 1
    assert after["evaluations"]["count"] == before["evaluations"]["count"] - 1
    assert after["views"] == before["views"]  # usage events are pseudonymous and stay until they expire
    assert running_counters.drift() == []
    again = client.get("/me/data", headers=auth(**ME)).json
    assert again["reactions"] == again["comments"] == again["evaluations"] == []
    facts = boto3.client("dynamodb", region_name="cn-north-1").scan(TableName=store.settings.facts_table)[
        "Items"
    ]
    assert SECRET_TEXT not in repr(facts) and ME["sub"] not in repr(facts)
    entries = trail("personal_data", ME["sub"])
    # The erasure and the copy read after it share the frozen test instant: their order is the ids'.
    assert sorted(e["action"] for e in entries) == ["erased", "exported"]
    assert SECRET_TEXT not in repr(entries)
    assert client.delete("/me/data", headers=auth(**ME)).json["erased"]["comments"] == 0  # nothing left


def test_recount_stays_equal_when_erasures_interleave_with_new_events_and_late_deliveries(pipeline):
    client, settle, store = pipeline
    tap = StreamTap(store.stream_arn)
    rng = random.Random(23)
    filings = [approved_filing(client)["id"] for _ in range(2)]
    people = [dict(sub=f"person-{i}", role="user", side="enterprise") for i in range(6)]
    held_back: list[dict] = []
    for step in range(18):
        who = rng.choice(people)
        action = rng.random()
        store.clock.advance(seconds=rng.randint(1, 90))
        if action < 0.6:
            interact(client, rng.choice(filings), who, text=f"t{step}")
        else:
            assert client.delete("/me/data", headers=auth(**who)).status == 200
        records = tap.take()
        rng.shuffle(records)
        cut = rng.randint(0, len(records))
        # part now (some twice), part later: the stream's at-least-once, out-of-batch delivery
        now, later = records[:cut], records[cut:]
        deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), now + now[:2])
        held_back += later
    deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), held_back)
    assert running_counters.drift() == []


def test_the_backfill_indexes_older_interactions_and_retains_older_events_without_changing_counters(pipeline):
    from chalicelib.core.models import Reaction, UsageEvent
    from chalicelib.usage import interactions

    client, settle, store = pipeline
    filing = approved_filing(client)
    interact(client, filing["id"], ME)
    settle()
    for reaction in Reaction.scan(Reaction.entity == "reaction"):  # as stored before the change
        reaction.update(actions=[Reaction.gsi3pk.remove(), Reaction.gsi3sk.remove()])
    for event in UsageEvent.scan(UsageEvent.entity == "event"):
        event.update(
            actions=[UsageEvent.expires_at.remove(), UsageEvent.user_agent.set("Mozilla/5.0 Firefox/1")]
        )
    assert client.get("/me/data", headers=auth(**ME)).json["reactions"] == []
    assert interactions.backfill(store.clock.now()) == {"indexed": 2, "events_given_ttl": 1}
    assert interactions.backfill(store.clock.now()) == {"indexed": 0, "events_given_ttl": 0}
    assert len(client.get("/me/data", headers=auth(**ME)).json["reactions"]) == 2
    event = next(iter(UsageEvent.scan(UsageEvent.entity == "event")))
    assert event.user_agent is None and event.agent_family == "Firefox" and event.expires_at
    settle()
    assert running_counters.drift() == []
