"""Excellence selection: rules, screening into candidates, push by field, the ranked case
library, expert scores (fields, conflicts of interest), confirmation into bonus points."""

from __future__ import annotations

import pytest

from chalicelib.core.models import Record
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import approved_filing, report_body, stored_items
from tests.support.selection import (
    ADMIN,
    CYCLE,
    assign_expert,
    cut_library,
    evaluated,
    name_panel,
    nominate,
    shortlisted,
)

EXPERT = dict(sub="expert-1", role="expert", province="110000")
LOCAL_EXPERT = dict(sub="expert-js", role="expert", province="320000")  # the filings' own province
READER = dict(sub="reader-1", role="user", side="enterprise")
FILER = dict(sub="filer-320000", role="filer", province="320000")


def assign(client, expert=EXPERT, industries=("5",)):
    assign_expert(client, expert, industries)


def expert_score(client, filing_id, score=80, who=EXPERT, cycle=CYCLE, **extra):
    return client.put(
        f"/cycles/{cycle}/candidates/{filing_id}/expert-score", {"score": score, **extra}, headers=auth(**who)
    )


def confirm(client, filing_id, who=ADMIN, cycle=CYCLE):
    return client.post(f"/cycles/{cycle}/candidates/{filing_id}/confirm", headers=auth(**who))


PANEL = [
    dict(sub=f"panel-{i}", role="expert", province=code)
    for i, code in enumerate(("110000", "440000", "310000", "510000", "420000"))
]


def seat(client, filing_id, *experts):
    """Assign `experts` field 5 and name them, with the rest of PANEL, the candidate's panel."""
    seated = [*experts, *PANEL[len(experts) :]]
    for expert in seated:
        assign(client, expert)
    named = name_panel(client, filing_id, seated)
    assert named.status == 200, named.json


def panel(client, filing_id, scores):
    """The candidate's panel (experts of field 5 from other provinces) scores it, one score each."""
    seat(client, filing_id)
    for expert, value in zip(PANEL, scores):
        answer = expert_score(client, filing_id, value, who=expert)
        assert answer.status == 200, answer.json


# ---- rules ----------------------------------------------------------------------------------


def test_rules_are_public_with_documented_defaults(client):
    rules = client.get("/excellence-rules").json
    assert rules["min_evaluations"] == 3 and rules["min_sample"] == 3 and rules["min_expert_scores"] == 3
    assert rules["trim_from"] == 5 and rules["pass_score"] == 60 and rules["top_per_field"] == 10
    assert rules["panel_size"] == 5 and "at least 5 experts" in rules["panel"]
    assert rules["kinds"] == ["report", "database", "tool"] and rules["updated_at"] is None
    assert rules["order"] == [
        "declaration",
        "screening",
        "push",
        "organised_evaluation",
        "candidate_library",
        "expert_panel",
    ]
    assert any("declared" in line for line in rules["screening"])
    assert not any("evaluations" in line for line in rules["screening"])  # evaluations come after the push
    assert "at least 3 online evaluations" in rules["library"]


def test_national_admins_change_the_minimum_and_the_library_cut_follows_it(client):
    few = evaluated(client, n=1)
    assert nominate(client, few["id"]).status == 201  # screening does not ask for evaluations
    assert cut_library(client)["not_selected"] == [few["id"]]
    answer = client.put("/excellence-rules", {"min_evaluations": 1}, headers=auth(**ADMIN))
    assert answer.status == 200 and answer.json["min_evaluations"] == 1 and answer.json["min_sample"] == 3
    again = evaluated(client, n=1)
    nominate(client, again["id"])
    assert cut_library(client) == {
        "cycle": CYCLE,
        "rules": {"min_evaluations": 1, "min_mean": 3.0, "top_per_field": 10},
        "shortlisted": [again["id"]],
        "not_selected": [],
    }


def test_the_library_cut_keeps_the_top_n_per_field_above_the_minimum_mean(client):
    client.put("/excellence-rules", {"top_per_field": 1}, headers=auth(**ADMIN))
    best = evaluated(client, n=10, total=48)
    second = evaluated(client, n=10, total=45)
    weak = evaluated(client, n=10, total=25)  # mean 2.5 < 3
    other_field = evaluated(client, n=3, total=12, industry="1")
    for f in (best, second, weak, other_field):
        nominate(client, f["id"])
    cut = cut_library(client)
    assert sorted(cut["shortlisted"]) == sorted([best["id"], other_field["id"]])
    assert sorted(cut["not_selected"]) == sorted([second["id"], weak["id"]])
    detail = client.get(f"/cycles/{CYCLE}/candidates/{weak['id']}", headers=auth(**ADMIN)).json
    assert (
        detail["status"] == "not_selected"
        and "mean online evaluation 2.5" in detail["library"]["failures"][0]
    )
    assert client.get(f"/cycles/{CYCLE}/candidates/{second['id']}", headers=auth(**ADMIN)).json["library"][
        "failures"
    ] == ["not among the top 1 of field 5"]


def test_the_library_is_cut_only_once_every_assignment_is_done_or_due(client, store):
    from tests.support.selection import ENTERPRISE, joined

    filing = evaluated(client)
    nominate(client, filing["id"])
    joined(client, ENTERPRISE, dict(sub="ent-user", role="user", side="enterprise"))
    assigned = client.post(
        f"/cycles/{CYCLE}/candidates/{filing['id']}/assignments",
        {"evaluators": ["ent-user"], "due": "2024-05-20"},
        headers=auth(**ADMIN),
    )
    assert assigned.status == 200, assigned.json
    early = client.post(f"/cycles/{CYCLE}/candidate-library", headers=auth(**ADMIN))
    assert (
        early.status == 409
        and "1 assignments" in early.json["detail"]
        and "2024-05-20" in early.json["detail"]
    )
    assert (
        client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**ADMIN)).json["status"]
        == "candidate"
    )
    store.at("2024-05-21T09:00:00+08:00")
    assert cut_library(client)["shortlisted"] == [filing["id"]]


@pytest.mark.parametrize("who", [EXPERT, READER, FILER])
def test_only_national_admins_change_rules(client, who):
    assert client.put("/excellence-rules", {"min_evaluations": 0}, headers=auth(**who)).status == 403
    assert client.get("/excellence-rules").json["min_evaluations"] == 3


@pytest.mark.parametrize(
    "body, field",
    [
        ({"min_evaluations": -1}, "min_evaluations"),
        ({"prior_mean": 9}, "prior_mean"),
        ({"kinds": ["news"]}, "kinds.0"),
        ({"min_sample": 0}, "min_sample"),
        ({"x": 1}, "x"),
    ],
)
def test_bad_rules_are_422(client, body, field):
    answer = client.put("/excellence-rules", body, headers=auth(**ADMIN))
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]]


# ---- screening ------------------------------------------------------------------------------


def test_screening_an_eligible_filing_makes_it_a_candidate_with_its_history(client):
    filing = evaluated(client, n=3)
    answer = nominate(client, filing["id"], note="产业带动显著")
    assert answer.status == 201, answer.json
    assert answer.headers["Location"] == f"/cycles/{CYCLE}/candidates/{filing['id']}"
    body = answer.json
    assert (
        body["status"] == "candidate"
        and body["nominated_by"] == "admin"
        and body["evaluations_at_nomination"] == 3
    )
    assert body["province"] == "320000" and body["industry"] == "5" and body["note"] == "产业带动显著"


def test_screening_again_is_200_and_changes_nothing(client):
    filing = evaluated(client)
    assert nominate(client, filing["id"]).status == 201
    again = nominate(client, filing["id"])
    assert again.status == 200 and again.json["status"] == "candidate"
    assert len(list(Record.query(f"CANDIDATE#{CYCLE}"))) == 1


def test_screening_refusals_name_every_broken_rule(client):
    created = client.post("/filings", report_body(), headers=auth(**FILER)).json  # pending, so never declared
    answer = nominate(client, created["id"])
    assert answer.status == 422 and answer.headers["Content-Type"].startswith("application/problem+json")
    messages = [e["message"] for e in answer.json["errors"]]
    assert any("pending" in m for m in messages) and any("has not declared it" in m for m in messages)
    assert list(Record.query(f"CANDIDATE#{CYCLE}")) == []


def test_a_filing_of_another_cycle_or_an_ineligible_kind_is_refused(client):
    filing = evaluated(client)
    other = nominate(client, filing["id"], cycle="2025")
    assert other.status == 422 and any("belongs to cycle 2024" in e["message"] for e in other.json["errors"])
    proof = evaluated(client, kind="application_proof", report_type=None, proves=filing["id"])
    answer = nominate(client, proof["id"])
    assert (
        answer.status == 422
        and "application_proof cannot be a candidate" in answer.json["errors"][0]["message"]
    )


def test_screening_unknown_things(client):
    assert nominate(client, "no-such-filing").status == 422
    assert nominate(client, "x", cycle="1999").status == 404
    assert client.post(f"/cycles/{CYCLE}/candidates", {}, headers=auth(**ADMIN)).status == 422


@pytest.mark.parametrize("who, status", [(EXPERT, 403), (READER, 403), (FILER, 403), (None, 401)])
def test_only_national_admins_screen(client, who, status):
    filing = evaluated(client)
    headers = auth(**who) if who else {"Content-Type": "application/json"}
    answer = client.post(f"/cycles/{CYCLE}/candidates", {"filing": filing["id"]}, headers=headers)
    assert answer.status == status


# ---- push of candidates ---------------------------------------------------------------------


def test_a_candidate_is_pushed_to_its_field_flagged_once_and_unread_again(client):
    client.put("/me/subscriptions", {"industries": ["5"]}, headers=auth(**READER))
    client.put(
        "/me/subscriptions", {"industries": ["1"]}, headers=auth(sub="r2", role="user", side="government")
    )
    filing = evaluated(client)
    nominate(client, filing["id"])
    nominate(client, filing["id"])
    items = client.get("/me/feed", headers=auth(**READER)).json["items"]
    assert len(items) == 1 and items[0]["candidate"] is True and items[0]["reasons"] == ["candidate"]
    assert items[0]["candidate_cycle"] == CYCLE and items[0]["read"] is False
    assert client.get("/me/feed", headers=auth(sub="r2", role="user", side="government")).json["items"] == []
    detail = client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**ADMIN)).json
    assert detail["pushed_to"] == 1
    assert [h["action"] for h in detail["history"]] == ["declared", "nominated", "pushed"]


def test_a_read_approval_item_becomes_an_unread_candidate_item_at_the_top(store, client):
    import app as app_module

    tap = StreamTap(store.stream_arn)
    client.put("/me/subscriptions", {"industries": ["5"]}, headers=auth(**READER))
    older = evaluated(client)
    store.at("2024-05-20T10:00:00+08:00")
    newer = approved_filing(client)
    deliver(lambda e: app_module.on_approval_push(e, None), tap.take())
    client.post(f"/me/feed/{older['id']}/read", headers=auth(**READER))
    store.at("2024-06-01T10:00:00+08:00")
    nominate(client, older["id"])
    items = client.get("/me/feed", headers=auth(**READER)).json["items"]
    assert [i["filing"] for i in items] == [older["id"], newer["id"]]
    assert items[0]["reasons"] == ["approved", "candidate"] and items[0]["read"] is False


# ---- experts --------------------------------------------------------------------------------


def test_national_admins_assign_fields_and_experts_read_their_own(client):
    assign(client, EXPERT, ["5", "1", "5"])
    mine = client.get(f"/experts/{EXPERT['sub']}/fields", headers=auth(**EXPERT))
    assert (
        mine.status == 200 and mine.json["industries"] == ["1", "5"] and mine.json["assigned_by"] == "admin"
    )
    assert client.get(f"/experts/{EXPERT['sub']}/fields", headers=auth(**LOCAL_EXPERT)).status == 403
    assert (
        client.put(f"/experts/{EXPERT['sub']}/fields", {"industries": ["2"]}, headers=auth(**EXPERT)).status
        == 403
    )
    bad = client.put(f"/experts/{EXPERT['sub']}/fields", {"industries": ["99"]}, headers=auth(**ADMIN))
    assert bad.status == 422


def test_an_expert_scores_a_candidate_of_their_field_and_a_second_put_replaces(store, client):
    filing = shortlisted(client)
    seat(client, filing["id"], EXPERT)
    first = expert_score(client, filing["id"], 70, comment="方法扎实")
    assert first.status == 200 and first.json["score"] == 70 and first.json["comment"] == "方法扎实"
    store.at("2024-05-15T11:00:00+08:00")
    assert expert_score(client, filing["id"], 90).status == 200
    detail = client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**ADMIN)).json
    assert detail["expert_scores"]["count"] == 1 and detail["expert_scores"]["mean"] == 90
    assert [s["score"] for s in detail["expert_scores"]["items"]] == [90]
    scored = [h for h in detail["history"] if h["action"] == "expert_score"]
    assert [h["data"]["replaces"] for h in scored] == [None, 70] and scored[0]["actor"] == "expert-1"


def test_an_expert_scores_only_candidates_of_the_library(client):
    filing = evaluated(client)
    nominate(client, filing["id"])
    assign(client)
    answer = expert_score(client, filing["id"])
    assert answer.status == 409 and "shortlisted" in answer.json["detail"]


def test_an_expert_outside_the_field_is_refused(client):
    filing = shortlisted(client)
    assign(client, EXPERT, ["1"])
    answer = expert_score(client, filing["id"])
    assert answer.status == 403 and "not assigned" in answer.json["detail"]


def test_an_expert_of_the_candidates_own_province_has_a_conflict_of_interest(client):
    filing = shortlisted(client)
    assign(client, LOCAL_EXPERT, ["5"])
    answer = expert_score(client, filing["id"], who=LOCAL_EXPERT)
    assert answer.status == 403 and "Conflict of interest" in answer.json["detail"]


@pytest.mark.parametrize("who", [READER, ADMIN, FILER])
def test_only_experts_score(client, who):
    filing = evaluated(client)
    nominate(client, filing["id"])
    assert expert_score(client, filing["id"], who=who).status == 403


@pytest.mark.parametrize("body", [{"score": 101}, {"score": -1}, {"score": "80"}, {"score": 80, "x": 1}, {}])
def test_bad_expert_scores_are_422(client, body):
    filing = shortlisted(client)
    assign(client)
    answer = client.put(
        f"/cycles/{CYCLE}/candidates/{filing['id']}/expert-score", body, headers=auth(**EXPERT)
    )
    assert answer.status == 422


def test_scoring_a_filing_that_is_not_a_candidate_is_404(client):
    filing = evaluated(client)
    assign(client)
    assert expert_score(client, filing["id"]).status == 404
    assert expert_score(client, filing["id"], cycle="1999").status == 404


# ---- the named panel ------------------------------------------------------------------------


def test_a_national_admin_names_a_panel_of_field_experts_and_renaming_it_is_audited(client, store):
    filing = shortlisted(client)
    seat(client, filing["id"])
    store.clock.advance(seconds=1)  # the trail orders by time
    others = [dict(sub=f"other-{i}", role="expert", province="110000") for i in range(5)]
    for expert in others:
        assign(client, expert)
    renamed = name_panel(client, filing["id"], others)
    assert renamed.status == 200 and renamed.json["panel"]["size"] == 5
    assert renamed.json["panel"]["experts"] == [e["sub"] for e in others]
    detail = client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**ADMIN)).json
    named = [h["data"] for h in detail["history"] if h["action"] == "panel"]
    assert [n["to"] for n in named] == [[e["sub"] for e in PANEL], [e["sub"] for e in others]]
    assert named[1]["from"] == [e["sub"] for e in PANEL]


def test_a_panel_refuses_too_few_off_field_conflicted_and_unregistered_experts_naming_each(client, store):
    filing = shortlisted(client)
    for expert in PANEL[:2]:
        assign(client, expert)
    assign(client, LOCAL_EXPERT)
    assign(client, EXPERT, ["1"])
    client.put("/experts/no-home/fields", {"industries": ["5"]}, headers=auth(**ADMIN))
    before = stored_items(store)
    proposed = [*PANEL[:2], LOCAL_EXPERT, EXPERT, dict(sub="no-home")]
    answer = name_panel(client, filing["id"], proposed)
    assert answer.status == 422
    assert [e["field"] for e in answer.json["errors"]] == ["experts.2", "experts.3", "experts.4"]
    assert "conflict of interest" in answer.json["errors"][0]["message"]
    assert "not an expert of field 5" in answer.json["errors"][1]["message"]
    assert "no home province" in answer.json["errors"][2]["message"]
    few = name_panel(client, filing["id"], PANEL[:2])
    assert few.status == 422 and few.json["errors"] == [
        {"field": "experts", "message": "2 experts; a panel holds at least 5"}
    ]
    twice = name_panel(client, filing["id"], [PANEL[0], PANEL[0]])
    assert twice.status == 422 and twice.json["errors"][0]["field"] == "experts"
    assert name_panel(client, filing["id"], []).status == 422
    assert stored_items(store) == before


@pytest.mark.parametrize("who, status", [(EXPERT, 403), (READER, 403), (FILER, 403)])
def test_only_national_admins_name_panels(client, store, who, status):
    filing = shortlisted(client)
    before = stored_items(store)
    assert name_panel(client, filing["id"], PANEL, who=who).status == status
    assert stored_items(store) == before


def test_a_decided_or_unknown_candidate_takes_no_panel(client):
    filing = shortlisted(client)
    panel(client, filing["id"], [90, 90, 90])
    assert confirm(client, filing["id"]).json["status"] == "selected"
    assert name_panel(client, filing["id"], PANEL).status == 409
    assert name_panel(client, "nope", PANEL).status == 404
    assert name_panel(client, filing["id"], PANEL, cycle="1999").status == 404


def test_only_the_candidates_panel_scores_it(client):
    filing = shortlisted(client)
    assign(client, EXPERT)
    unnamed = expert_score(client, filing["id"])
    assert unnamed.status == 409 and "No expert panel" in unnamed.json["detail"]
    seat(client, filing["id"])
    off = expert_score(client, filing["id"])  # of the field, no conflict, but not on this panel
    assert off.status == 403 and "not on the expert panel" in off.json["detail"]


def test_the_quorum_counts_only_scores_of_the_experts_on_the_panel(client):
    filing = shortlisted(client)
    panel(client, filing["id"], [90, 90, 90])
    others = [dict(sub=f"other-{i}", role="expert", province="110000") for i in range(5)]
    for expert in others:
        assign(client, expert)
    assert name_panel(client, filing["id"], [*PANEL[:1], *others[:4]]).status == 200  # two scorers leave
    answer = confirm(client, filing["id"])
    assert answer.status == 409 and "1 expert scores from its panel of 5" in answer.json["detail"]
    for expert in others[:2]:
        assert expert_score(client, filing["id"], 40, who=expert).status == 200
    decided = confirm(client, filing["id"]).json
    assert decided["decision"]["expert_scores"] == 3 and decided["decision"]["panel_score"] == 56.67


def test_the_quorum_cannot_exceed_the_smallest_panel(client):
    answer = client.put("/excellence-rules", {"panel_size": 2, "min_expert_scores": 3}, headers=auth(**ADMIN))
    assert answer.status == 422 and [e["field"] for e in answer.json["errors"]] == ["min_expert_scores"]
    smaller = client.put("/excellence-rules", {"panel_size": 3}, headers=auth(**ADMIN))
    assert smaller.status == 200 and smaller.json["panel_size"] == 3


# ---- confirmation ---------------------------------------------------------------------------


def test_the_panel_decides_only_with_its_quorum_of_scores(client):
    filing = shortlisted(client)
    unnamed = confirm(client, filing["id"])
    assert unnamed.status == 409 and "No expert panel" in unnamed.json["detail"]
    seat(client, filing["id"])
    answer = confirm(client, filing["id"])
    assert (
        answer.status == 409
        and "0 expert scores" in answer.json["detail"]
        and "quorum is 3" in answer.json["detail"]
    )
    panel(client, filing["id"], [90, 80])
    assert "2 expert scores" in confirm(client, filing["id"]).json["detail"]
    assert list(Record.query(f"EXCELLENT#{CYCLE}")) == []


def test_a_candidate_outside_the_library_cannot_be_decided(client):
    filing = evaluated(client)
    nominate(client, filing["id"])
    answer = confirm(client, filing["id"])
    assert answer.status == 409 and "candidate-library" in answer.json["detail"]


@pytest.mark.parametrize("who", [EXPERT, READER, FILER])
def test_only_national_admins_confirm(client, who):
    filing = shortlisted(client)
    assert confirm(client, filing["id"], who=who).status == 403


def test_the_panel_selects_at_the_pass_mark_once_and_closes_scores(client):
    filing = shortlisted(client)
    panel(client, filing["id"], [88, 70, 64])
    first = confirm(client, filing["id"])
    assert (
        first.status == 200 and first.json["status"] == "selected" and first.json["confirmed_by"] == "admin"
    )
    assert first.json["decision"] == {
        "panel_score": 74.0,
        "panel_size": 5,
        "expert_scores": 3,
        "trimmed": False,
        "pass_score": 60,
    }
    assert confirm(client, filing["id"]).json["confirmed_at"] == first.json["confirmed_at"]
    projects = [r.data for r in Record.query(f"EXCELLENT#{CYCLE}")]
    assert len(projects) == 1 and projects[0]["source"] == "selection" and projects[0]["province"] == "320000"
    assert projects[0]["panel"] == {"size": 5, "scores": 3, "panel_score": 74.0}
    assert expert_score(client, filing["id"], 10, who=PANEL[0]).status == 409
    history = client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**ADMIN)).json["history"]
    assert [h["action"] for h in history] == [
        "declared",
        "nominated",
        "pushed",
        "shortlisted",
        "panel",
        "expert_score",
        "expert_score",
        "expert_score",
        "selected",
    ]
    told = client.get(
        "/me/notifications", headers=auth(sub="js-admin", role="province_admin", province="320000")
    )
    assert told.json["items"][0]["topic"] == "excellent_project_selected"


def test_a_large_panel_drops_its_highest_and_lowest_score_and_may_not_select(client):
    filing = shortlisted(client)
    panel(client, filing["id"], [100, 50, 55, 58, 0])  # mean 52.6; trimmed (50, 55, 58) 54.33
    decided = confirm(client, filing["id"]).json
    assert decided["status"] == "not_selected"
    assert decided["decision"]["panel_score"] == 54.33 and decided["decision"]["trimmed"] is True
    assert list(Record.query(f"EXCELLENT#{CYCLE}")) == []


def test_a_candidate_rejected_after_screening_cannot_be_confirmed(client):
    filing = shortlisted(client)
    panel(client, filing["id"], [90, 90, 90])
    client.post(f"/filings/{filing['id']}/review", {"decision": "reject"}, headers=auth(**ADMIN))
    answer = confirm(client, filing["id"])
    assert answer.status == 409 and "rejected" in answer.json["detail"]


def test_confirming_an_unknown_candidate_is_404(client):
    assert confirm(client, "nope").status == 404


# ---- the candidate case library ------------------------------------------------------------


def test_the_library_ranks_by_shrunk_mean_so_a_few_perfect_scores_do_not_win(client):
    client.put("/excellence-rules", {"min_evaluations": 2}, headers=auth(**ADMIN))
    few = evaluated(client, n=2, total=10, title="两个满分")  # mean 5 on 2
    many = evaluated(client, n=40, total=180, title="四十个评价")  # mean 4.5 on 40
    low = evaluated(client, n=10, total=20, title="低分")  # mean 2 on 10
    for f in (low, few, many):
        assert nominate(client, f["id"]).status == 201
    answer = client.get(f"/cycles/{CYCLE}/candidates", headers=auth(**EXPERT))
    assert answer.status == 200
    items = answer.json["items"]
    assert [i["filing"] for i in items] == [many["id"], few["id"], low["id"]]
    assert [i["rank"] for i in items] == [1, 2, 3]
    assert items[1]["evaluations"]["mean"] is None and items[0]["evaluations"]["mean"] == 4.5
    assert answer.json["rules"]["min_sample"] == 3


def test_the_library_pages_with_a_cursor_and_filters(client):
    client.put("/excellence-rules", {"min_evaluations": 0}, headers=auth(**ADMIN))
    ids = [evaluated(client, n=0)["id"] for _ in range(3)] + [evaluated(client, n=0, industry="1")["id"]]
    for filing_id in ids:
        nominate(client, filing_id)
    first = client.get(f"/cycles/{CYCLE}/candidates?limit=2", headers=auth(**ADMIN)).json
    second = client.get(
        f"/cycles/{CYCLE}/candidates?limit=2&cursor={first['next_cursor']}", headers=auth(**ADMIN)
    ).json
    assert sorted(i["filing"] for i in first["items"] + second["items"]) == sorted(ids)
    assert second["next_cursor"] is None
    field = client.get(f"/cycles/{CYCLE}/candidates?industry=1", headers=auth(**ADMIN)).json["items"]
    assert [i["filing"] for i in field] == [ids[3]]
    assert (
        client.get(f"/cycles/{CYCLE}/candidates?status=selected", headers=auth(**ADMIN)).json["items"] == []
    )
    wrong = client.get(
        f"/cycles/{CYCLE}/candidates?limit=2&cursor={first['next_cursor']}&industry=1", headers=auth(**ADMIN)
    )
    assert wrong.status == 400


@pytest.mark.parametrize("query, status", [("?industry=42", 422), ("?status=gold", 422), ("?limit=500", 422)])
def test_bad_library_queries_are_4xx(client, query, status):
    assert client.get(f"/cycles/{CYCLE}/candidates{query}", headers=auth(**ADMIN)).status == status


@pytest.mark.parametrize("who, status", [(READER, 403), (FILER, 403), (None, 401)])
def test_the_library_is_for_national_admins_and_experts(client, who, status):
    headers = auth(**who) if who else {}
    assert client.get(f"/cycles/{CYCLE}/candidates", headers=headers).status == status


def test_an_expert_sees_only_their_own_score_in_a_candidates_detail(client):
    filing = shortlisted(client)
    other = dict(sub="expert-2", role="expert", province="440000")
    seat(client, filing["id"], EXPERT, other)
    expert_score(client, filing["id"], 60)
    expert_score(client, filing["id"], 100, who=other)
    mine = client.get(f"/cycles/{CYCLE}/candidates/{filing['id']}", headers=auth(**EXPERT)).json
    assert [s["expert"] for s in mine["expert_scores"]["items"]] == ["expert-1"]
    assert mine["expert_scores"]["count"] == 2 and mine["expert_scores"]["mean"] == 80
    assert [h["actor"] for h in mine["history"] if h["action"] == "expert_score"] == ["expert-1"]


# ---- the whole flow --------------------------------------------------------------------------


def test_from_approval_to_feed_to_evaluation_to_selection_to_bonus_points(store, client):
    import app as app_module

    tap = StreamTap(store.stream_arn)

    def settle():
        records = tap.take()
        deliver(lambda e: app_module.on_approval_push(e, None), records)
        deliver(lambda e: app_module.on_fact_change(e, None), records)

    users = [
        dict(sub=f"reader-{i}", role="user", side=side)
        for i, side in enumerate(("enterprise", "university", "research_institute"))
    ]
    for user in users:
        client.put("/me/subscriptions", {"industries": ["5"]}, headers=auth(**user))
    filing = approved_filing(client)
    settle()
    for i, user in enumerate(users):
        item = client.get("/me/feed", headers=auth(**user)).json["items"][0]
        assert item["filing"] == filing["id"]
        assert (
            client.put(item["links"]["evaluation"], {"score": 4 + i % 2}, headers=auth(**user)).status == 200
        )
    settle()
    assert nominate(client, filing["id"]).status == 201
    assert cut_library(client)["shortlisted"] == [filing["id"]]
    panel(client, filing["id"], [92, 85, 80])
    library = client.get(f"/cycles/{CYCLE}/candidates", headers=auth(**ADMIN)).json["items"]
    assert library[0]["evaluations"]["count"] == 3 and library[0]["evaluations"]["mean"] == round(13 / 3, 3)
    assert confirm(client, filing["id"]).status == 200
    run = client.post(f"/cycles/{CYCLE}/scoring-runs", headers=auth(**ADMIN))
    assert run.status == 201, run.json
    scores = client.get(f"/cycles/{CYCLE}/scores?run_id={run.json['run_id']}", headers=auth(**ADMIN)).json
    jiangsu = next(p for p in scores["provinces"] if p["province"] == "320000")
    assert jiangsu["excellent_projects"] == 1 and jiangsu["bonus"] > 0


def test_absurdly_long_ids_are_4xx_not_store_errors(client):
    too_long = client.get(f"/cycles/{CYCLE}/candidates/{'x' * 2000}", headers=auth(**ADMIN))
    assert too_long.status == 422 and too_long.json["errors"][0]["field"] == "filing_id"
    long_sub = "e" * 3000
    assert (
        client.put(f"/experts/{long_sub}/fields", {"industries": ["1"]}, headers=auth(**ADMIN)).status == 422
    )
