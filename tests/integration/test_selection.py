"""Selection as a workflow: declarations by provinces, screening of every declared result,
assignments to invited evaluators by field, completion, reminders on the app clock."""

from __future__ import annotations

import pytest

from chalicelib.selection import workflow
from tests.conftest import auth
from tests.support import approved_filing, report_body, stored_items
from tests.support.selection import ADMIN, CYCLE, ENTERPRISE, evaluated, joined, nominate

JS_ADMIN = dict(sub="js-admin", role="province_admin", province="320000")
ZJ_ADMIN = dict(sub="zj-admin", role="province_admin", province="330000")
EVALUATOR = dict(sub="ent-user", role="user", side="enterprise")
OTHER = dict(sub="uni-user", role="user", side="university")


def declare(client, filing_id, who=JS_ADMIN, cycle=CYCLE):
    return client.put(f"/cycles/{cycle}/declarations/{filing_id}", headers=auth(**who))


def assign(client, filing_id, *evaluators, who=ADMIN):
    return client.post(
        f"/cycles/{CYCLE}/candidates/{filing_id}/assignments",
        {"evaluators": list(evaluators)},
        headers=auth(**who),
    )


def test_a_province_declares_only_its_own_results_once(client, store):
    filing = approved_filing(client)
    first = declare(client, filing["id"])
    assert first.status == 201 and first.json["province"] == "320000"
    assert declare(client, filing["id"]).status == 200
    before = stored_items(store)
    assert declare(client, filing["id"], ZJ_ADMIN).status == 403
    assert declare(client, filing["id"], dict(sub="f", role="filer", province="320000")).status == 403
    assert declare(client, "nope").status == 404
    assert declare(client, filing["id"], cycle="1999").status == 404
    assert stored_items(store) == before
    assert [
        d["filing"]
        for d in client.get(f"/cycles/{CYCLE}/declarations", headers=auth(**ZJ_ADMIN)).json["items"]
    ] == []
    assert len(client.get(f"/cycles/{CYCLE}/declarations", headers=auth(**ADMIN)).json["items"]) == 1


def test_declarations_refuse_pending_withdrawn_and_out_of_cycle_filings_and_store_nothing(client, store):
    pending = client.post(
        "/filings", report_body(), headers=auth(sub="f", role="filer", province="320000")
    ).json
    withdrawn = client.post(
        "/filings", report_body(), headers=auth(sub="f", role="filer", province="320000")
    ).json
    client.post(
        f"/filings/{withdrawn['id']}/withdraw", headers=auth(sub="f", role="filer", province="320000")
    )
    store.at("2024-10-01T10:00:00+08:00")  # cycle 2025: filed outside cycle 2024, still in 2024's period
    late = approved_filing(client)
    before = stored_items(store)
    for filing, word in ((pending, "pending"), (withdrawn, "withdrawn"), (late, "belongs to cycle 2025")):
        answer = declare(client, filing["id"])
        assert answer.status == 422, answer.json
        assert any(word in e["message"] for e in answer.json["errors"])
    assert stored_items(store) == before


def test_declaring_after_the_declaration_period_is_409(client, store):
    filing = approved_filing(client)
    store.at("2024-10-31T23:59:59+08:00")  # cycle 2024 closed on 30 September; 31 days to declare
    assert declare(client, filing["id"]).status == 201
    store.at("2024-11-01T00:00:00+08:00")
    other = approved_filing(client, title="另一成果")
    answer = declare(client, other["id"])
    assert answer.status == 409 and "2024-11-01T00:00:00+08:00" in answer.json["detail"]
    assert declare(client, other["id"], cycle="2021-2023").status == 409  # a past, closed cycle


def test_only_a_declared_filing_is_screened_in(client, store):
    filing = evaluated(client, n=0)
    before = stored_items(store)
    answer = nominate(client, filing["id"], declared=False)
    assert answer.status == 422 and "has not declared it" in answer.json["errors"][0]["message"]
    assert stored_items(store) == before
    assert nominate(client, filing["id"]).status == 201  # no online evaluations needed to screen


def test_screening_lists_every_declared_result_with_the_rule_each_ineligible_one_broke(client, store):
    eligible = evaluated(client, n=0)
    proof = evaluated(client, n=3, kind="application_proof", report_type=None, proves=eligible["id"])
    rejected = evaluated(client, n=5)
    undeclared = evaluated(client, n=5)
    for f in (eligible, proof, rejected):
        assert declare(client, f["id"]).status == 201
    client.post(f"/filings/{rejected['id']}/review", {"decision": "reject"}, headers=auth(**ADMIN))
    screened = client.get(f"/cycles/{CYCLE}/screening", headers=auth(**ADMIN))
    assert screened.status == 200, screened.json
    body = screened.json
    assert body["declared"] == 3 and body["eligible"] == 1
    items = {i["filing"]: i for i in body["items"]}
    assert undeclared["id"] not in items and body["items"][0]["filing"] == eligible["id"]
    assert items[eligible["id"]]["eligible"] and items[eligible["id"]]["failures"] == []
    assert any("application_proof cannot be a candidate" in f for f in items[proof["id"]]["failures"])
    assert any("rejected" in f for f in items[rejected["id"]]["failures"])
    assert client.get(f"/cycles/{CYCLE}/screening", headers=auth(**JS_ADMIN)).status == 403


def test_a_declaration_is_withdrawn_until_the_result_is_a_candidate(client):
    filing = evaluated(client, n=3)
    declare(client, filing["id"])
    assert (
        client.delete(f"/cycles/{CYCLE}/declarations/{filing['id']}", headers=auth(**ZJ_ADMIN)).status == 403
    )
    assert (
        client.delete(f"/cycles/{CYCLE}/declarations/{filing['id']}", headers=auth(**JS_ADMIN)).status == 204
    )
    assert (
        client.delete(f"/cycles/{CYCLE}/declarations/{filing['id']}", headers=auth(**JS_ADMIN)).status == 404
    )
    assert nominate(client, filing["id"]).status == 201
    assert (
        client.delete(f"/cycles/{CYCLE}/declarations/{filing['id']}", headers=auth(**JS_ADMIN)).status == 409
    )


@pytest.fixture
def candidate(client):
    """A candidate in field 5, an evaluator whose enterprise covers 5 and 6, another covering 3 only."""
    filing = evaluated(client, n=3)
    assert nominate(client, filing["id"]).status == 201
    joined(client, ENTERPRISE, EVALUATOR)
    joined(client, {**ENTERPRISE, "kind": "pilot_university", "name": "某大学", "industries": ["3"]}, OTHER)
    return filing


def test_an_assigned_evaluator_sees_it_in_the_feed_and_completion_follows_the_evaluation(client, candidate):
    answer = assign(client, candidate["id"], "ent-user")
    assert answer.status == 200, answer.json
    assert answer.json["by_candidate"] == {candidate["id"]: {"assigned": 1, "completed": 0}}
    feed = client.get("/me/feed", headers=auth(**EVALUATOR)).json["items"]
    assert feed[0]["filing"] == candidate["id"] and feed[0]["assigned"] and not feed[0]["read"]
    mine = client.get("/me/assignments", headers=auth(**EVALUATOR)).json
    assert mine["assigned"] == 1 and mine["completed"] == 0
    assert (
        client.put(mine["items"][0]["links"]["evaluation"], {"score": 5}, headers=auth(**EVALUATOR)).status
        == 200
    )
    seen = client.get(f"/cycles/{CYCLE}/assignments", headers=auth(**ADMIN)).json
    assert seen["by_evaluator"] == {"ent-user": {"assigned": 1, "completed": 1}}
    assert (
        seen["items"][0]["completed"]
        and seen["items"][0]["score"] == 5
        and seen["items"][0]["side"] == "enterprise"
    )
    assert client.get("/me/assignments", headers=auth(**EVALUATOR)).json["completed"] == 1


def test_assigning_outside_the_evaluators_field_is_422_and_stores_nothing(client, store, candidate):
    before = stored_items(store)
    answer = assign(client, candidate["id"], "ent-user", "uni-user", "stranger")
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in answer.json["errors"]] == ["evaluators.1", "evaluators.2"]
    assert "does not cover industry field 5" in answer.json["errors"][0]["message"]
    assert stored_items(store) == before
    assert client.get("/me/feed", headers=auth(**EVALUATOR)).json["items"] == []


def test_assigning_twice_changes_nothing_and_only_admins_assign(client, candidate):
    assert assign(client, candidate["id"], "ent-user").status == 200
    again = assign(client, candidate["id"], "ent-user", "ent-user")
    assert again.status == 200 and again.json["assigned"] == 1
    assert assign(client, candidate["id"], "ent-user", who=JS_ADMIN).status == 403
    assert assign(client, "not-a-candidate", "ent-user").status == 404
    assert (
        client.post(
            f"/cycles/{CYCLE}/candidates/{candidate['id']}/assignments",
            {"evaluators": []},
            headers=auth(**ADMIN),
        ).status
        == 422
    )


def test_reminders_go_to_unfinished_assignments_once_a_day_on_the_app_clock(client, store, candidate):
    second = evaluated(client, n=3)
    nominate(client, second["id"])
    assign(client, candidate["id"], "ent-user")
    assign(client, second["id"], "ent-user")
    client.post(f"/me/feed/{candidate['id']}/read", headers=auth(**EVALUATOR))
    client.put(f"/filings/{second['id']}/evaluation", {"score": 4}, headers=auth(**EVALUATOR))
    store.at("2024-05-16T09:00:00+08:00")
    import app
    from local_stack.events import lambda_context, scheduled_event

    sent = app.selection_reminders(
        scheduled_event("selection_reminders", store.clock.now(), "cn-north-1"),
        lambda_context("selection_reminders"),
    )
    assert sent["reminders"] == {CYCLE: 1}
    item = next(
        i
        for i in client.get("/me/feed", headers=auth(**EVALUATOR)).json["items"]
        if i["filing"] == candidate["id"]
    )
    assert item["read"] is False and item["reminded_at"] == "2024-05-16T09:00:00+08:00"
    assert workflow.remind(store.clock.now())["reminders"] == {}  # the same day: nothing again
    store.at("2024-05-17T09:00:00+08:00")
    assert workflow.remind(store.clock.now())["reminders"] == {CYCLE: 1}
    rows = client.get(f"/cycles/{CYCLE}/assignments?evaluator=ent-user", headers=auth(**ADMIN)).json["items"]
    assert {r["filing"]: r["reminders"] for r in rows} == {candidate["id"]: 2, second["id"]: 0}
