"""Usage facts hold the cycle's pseudonym of a user, never the user id, and of the user agent only
the robot verdict and the browser family; counting works on the pseudonyms as it did on ids."""

from __future__ import annotations

import boto3

from chalicelib.core import pseudonyms
from chalicelib.usage import counting_rules, running_counters
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.documents import approved_publication, attached_filing
from tests.support.usage import events

READERS = [dict(sub=f"reader-{i}@example.cn", role="user", side="enterprise") for i in range(3)]
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.6099.71 Safari/537.36"


def facts_items(store) -> list[dict]:
    client = boto3.client("dynamodb", region_name="cn-north-1")
    items, start = [], None
    while True:
        page = client.scan(
            TableName=store.settings.facts_table, **({"ExclusiveStartKey": start} if start else {})
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def test_no_usage_fact_holds_a_raw_user_id_or_user_agent(pipeline):
    client, settle, store = pipeline
    filing, file = attached_filing(client)
    for reader in READERS:
        client.post("/events", events(filing["id"], agent=AGENT), headers=auth(**reader))
        client.get(file["links"]["download"], headers={**auth(**reader), "User-Agent": AGENT})
    client.post("/events", events(filing["id"], agent="Googlebot/2.1"), headers=auth(**READERS[0]))
    settle()
    usage = [
        i
        for i in facts_items(store)
        if i.get("entity", {}).get("S") == "event" or i["pk"]["S"].startswith(("EVENT#", "CHAIN#"))
    ]
    assert (
        len(usage) == 3 * 2 + 1 + 3 * 2
    )  # 7 events, 6 chain heads (the robot's view joined reader-0's chain)
    text = repr(usage)
    for reader in READERS:
        assert reader["sub"] not in text
    assert "Chrome/120" not in text and "Googlebot" not in text and "Mozilla" not in text
    stored = [i for i in usage if i.get("entity", {}).get("S") == "event"]
    assert {i["user"]["S"] for i in stored} == {pseudonyms.of(r["sub"], "2024") for r in READERS}
    assert {(i["agent_family"]["S"], i["robot"]["BOOL"]) for i in stored} == {
        ("Chrome", False),
        ("other", True),
    }
    assert client.get(f"/filings/{filing['id']}/stats").json["views"] == {"total": 3, "unique": 3}
    assert running_counters.drift() == []


def test_account_counters_name_the_pseudonym_for_events_and_reactions_alike(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    reader = READERS[0]
    client.post("/events", events(filing["id"], agent=AGENT), headers=auth(**reader))
    client.put(f"/filings/{filing['id']}/like", headers=auth(**reader))
    settle()
    account = pseudonyms.of(reader["sub"], "2024")
    accounts = running_counters.accounts("320000", "2024")
    assert list(accounts) == [account] and accounts[account]["likes"] == 1
    units = running_counters.Counter.get(*counting_rules.account_units_key(account))
    assert (
        running_counters.numbers(units)[counting_rules.unit_name("2024", "320000")] == 2
    )  # the view and the like
    assert running_counters.drift() == []


def test_a_users_chain_and_uniques_hold_within_a_cycle_and_restart_in_the_next(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    reader = READERS[1]
    store.at("2024-09-30T23:59:50+08:00")  # the last seconds of cycle 2024
    client.post("/events", events(filing["id"]), headers=auth(**reader))
    store.at("2024-09-30T23:59:55+08:00")  # a double click in the same cycle: not counted again
    client.post("/events", events(filing["id"]), headers=auth(**reader))
    store.at("2024-10-01T00:00:05+08:00")  # 10 s later, cycle 2025: a new pseudonym, a new chain
    client.post("/events", events(filing["id"]), headers=auth(**reader))
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["views"] == {"total": 2, "unique": 2}
    assert running_counters.drift() == []


MODERATOR = dict(sub="moderator-boss", role="national_admin")


def test_no_reaction_comment_or_evaluation_holds_a_raw_user_id_through_moderation(pipeline):
    client, settle, store = pipeline
    filing = approved_filing(client)
    pub = approved_publication(client)
    made = []
    for reader in READERS:
        for path in (f"/filings/{filing['id']}", f"/publications/{pub['id']}"):
            assert client.put(f"{path}/like", headers=auth(**reader)).status == 200
            assert client.put(f"{path}/favorite", headers=auth(**reader)).status == 200
            made.append((path, client.post(f"{path}/comments", {"text": "好"}, headers=auth(**reader)).json))
        client.put(f"/filings/{filing['id']}/evaluation", {"score": 4}, headers=auth(**reader))
    client.delete(f"/filings/{filing['id']}/like", headers=auth(**READERS[0]))
    client.delete(f"{made[0][0]}/comments/{made[0][1]['id']}", headers=auth(**READERS[0]))  # by its author
    client.delete(f"{made[1][0]}/comments/{made[1][1]['id']}", headers=auth(**MODERATOR))
    client.post(
        f"{made[2][0]}/comments/{made[2][1]['id']}/hide", {"reason": "广告"}, headers=auth(**MODERATOR)
    )
    settle()
    interactions = [
        i for i in facts_items(store) if i["entity"]["S"] in ("reaction", "comment", "evaluation")
    ]
    assert len(interactions) == 3 * 2 * 3 + 3  # likes, favourites, comments on both; evaluations
    for sub in [r["sub"] for r in READERS] + [MODERATOR["sub"]]:
        assert sub not in repr(interactions)
    assert {i["user"]["S"] for i in interactions} == {pseudonyms.of(r["sub"], "2024") for r in READERS}
    assert client.get(f"/filings/{filing['id']}/stats").json["likes"] == 2
    assert client.get(f"/publications/{pub['id']}/stats").json["comments"] == 2
    assert running_counters.drift() == []


def test_one_like_per_user_and_record_across_cycles_and_accounts_named_as_in_the_cycle_of_the_act(pipeline):
    client, settle, store = pipeline
    reader = READERS[2]
    store.at("2023-09-01T10:00:00+08:00")
    older = approved_filing(client)  # a result of cycle 2021-2023
    assert older["cycle"] == "2021-2023"
    client.put(f"/filings/{older['id']}/like", headers=auth(**reader))
    store.at("2024-03-01T10:00:00+08:00")  # cycle 2024: the same user, the same record
    client.put(f"/filings/{older['id']}/like", headers=auth(**reader))
    client.delete(f"/filings/{older['id']}/like", headers=auth(**reader))
    client.put(f"/filings/{older['id']}/like", headers=auth(**reader))
    client.post("/events", events(older["id"]), headers=auth(**reader))
    settle()
    likes = [i for i in facts_items(store) if i["entity"]["S"] == "reaction"]
    assert [i["user"]["S"] for i in likes] == [pseudonyms.of(reader["sub"], "2021-2023")]
    assert likes[0]["account"]["S"] == pseudonyms.of(reader["sub"], "2024")  # liked again in 2024
    assert client.get(f"/filings/{older['id']}/stats").json["likes"] == 1
    accounts = running_counters.accounts("320000", "2024")
    assert (
        list(accounts) == [pseudonyms.of(reader["sub"], "2024")] and accounts[list(accounts)[0]]["likes"] == 1
    )
    mine = client.get("/me/data", headers=auth(**reader)).json
    assert [(r["filing"], r["active"]) for r in mine["reactions"]] == [(older["id"], True)]
    assert running_counters.drift() == []
