"""PIPL rights: GET /me/data gives a person everything held about them; DELETE /me/data erases it,
the counters follow exactly (a recount agrees) and both are audited by counts only."""

from __future__ import annotations

import random

import boto3

from chalicelib.core import pseudonyms
from chalicelib.core.audit import trail
from chalicelib.usage import running_counters
from scripts import pipl_backfill
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


def stored_before_pseudonyms(store, sub: str, cycle: str) -> None:
    """Put the caller's reactions, comments and evaluations back as they were stored while they held the
    user id: `user` and keys with the raw id, no account, cycle or display name, not indexed by user."""
    dynamodb = boto3.client("dynamodb", region_name="cn-north-1")
    table = store.settings.facts_table
    for item in dynamodb.scan(TableName=table)["Items"]:
        entity = item.get("entity", {}).get("S")
        if entity not in ("reaction", "comment", "evaluation") or item["user"]["S"] != pseudonyms.of(
            sub, cycle
        ):
            continue
        legacy = {
            k: v for k, v in item.items() if k not in ("account", "cycle", "author_name", "gsi3pk", "gsi3sk")
        }
        legacy["user"] = {"S": sub}
        if entity != "comment":
            legacy["sk"] = {"S": item["sk"]["S"].split("#")[0] + "#" + sub}
        if "gsi1sk" in item:  # the province's feedback feed names the evaluator
            legacy["gsi1sk"] = {"S": item["gsi1sk"]["S"].rsplit("#", 1)[0] + "#" + sub}
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        dynamodb.put_item(TableName=table, Item=legacy)


def test_the_backfill_pseudonymises_older_interactions_and_retains_older_events_without_changing_counters(
    pipeline, capsys
):
    from chalicelib.core.models import UsageEvent
    from chalicelib.usage import interactions

    client, settle, store = pipeline
    filing = approved_filing(client)
    interact(client, filing["id"], ME)
    interact(client, filing["id"], OTHERS[0], text="other")
    settle()
    before = stats(client, filing["id"])
    stored_before_pseudonyms(store, ME["sub"], filing["cycle"])
    for event in UsageEvent.scan(UsageEvent.entity == "event"):
        event.update(
            actions=[UsageEvent.expires_at.remove(), UsageEvent.user_agent.set("Mozilla/5.0 Firefox/1")]
        )
    settle()
    assert stats(client, filing["id"]) == before and running_counters.drift() == []
    assert client.get("/me/data", headers=auth(**ME)).json["reactions"] == []
    # between the deploy and the backfill the person likes again, under the pseudonym: that like wins
    assert client.put(f"/filings/{filing['id']}/like", headers=auth(**ME)).status == 200
    assert pipl_backfill.main([]) == 0
    assert capsys.readouterr().out.strip() == str({"pseudonymised": 4, "indexed": 0, "events_given_ttl": 2})
    again = interactions.backfill(store.clock.now())
    assert again == {"pseudonymised": 0, "indexed": 0, "events_given_ttl": 0}
    settle()
    facts = boto3.client("dynamodb", region_name="cn-north-1").scan(TableName=store.settings.facts_table)
    assert ME["sub"] not in repr(facts["Items"])
    mine = client.get("/me/data", headers=auth(**ME)).json
    assert (len(mine["reactions"]), len(mine["comments"]), len(mine["evaluations"])) == (2, 1, 1)
    assert client.put(f"/filings/{filing['id']}/like", headers=auth(**ME)).status == 200  # held already
    event = next(iter(UsageEvent.scan(UsageEvent.entity == "event")))
    assert event.user_agent is None and event.agent_family == "Firefox" and event.expires_at
    settle()
    assert stats(client, filing["id"]) == before and running_counters.drift() == []
