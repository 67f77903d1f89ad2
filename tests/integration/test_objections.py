"""Checks that close and results a province can see and contest: flag resolutions, the
provisional publication (公示) with its objection window (异议期), answers, the final publication."""

from __future__ import annotations

import pytest

from chalicelib.core.models import Counter
from tests.conftest import auth
from tests.support import stored_items
from tests.support.scoring import ADMIN, CLOSED, run, seed_counters

JS = auth(sub="js-admin", role="province_admin", province="320000")
ZJ = auth(sub="zj-admin", role="province_admin", province="330000")


@pytest.fixture
def scored(store, client):
    """Cycle 2024 closed, counters seeded (110000 filed in bulk just before the cutoff), one run."""
    store.at(CLOSED)
    seed_counters()
    Counter(
        "PROV#110000", "CYCLE#2024", n={"filings_approved": 40, "filings_approved_near_cutoff": 30}
    ).save()
    answer = run(client)
    assert answer.status == 201, answer.json
    return answer.json["run_id"]


def explanation(client, run_id, province="110000", headers=ADMIN):
    return client.get(f"/cycles/2024/scoring-runs/{run_id}/units/{province}/explanation", headers=headers)


def resolve(client, run_id, body, province="110000"):
    return client.post(
        f"/cycles/2024/scoring-runs/{run_id}/units/{province}/flag-resolutions", body, headers=ADMIN
    )


# ---- flags close -------------------------------------------------------------------------


def test_a_flag_is_dismissed_with_a_note_and_the_explanation_shows_it_in_later_runs_too(client, scored):
    flags = explanation(client, scored).json["flags"]
    assert [f["kind"] for f in flags] == ["filings_near_cutoff"] and flags[0]["resolution"] is None
    answer = resolve(client, scored, {"flag": 0, "resolution": "dismissed", "note": "集中备案系年度验收要求"})
    assert answer.status == 201, answer.json
    assert resolve(client, scored, {"flag": 0, "resolution": "confirmed", "note": "again"}).status == 409
    later = run(client).json["run_id"]
    shown = explanation(client, later).json["flags"][0]["resolution"]
    assert (
        shown["resolution"] == "dismissed"
        and shown["note"] == "集中备案系年度验收要求"
        and shown["by"] == "admin"
    )


def test_an_adjusted_flag_records_its_adjustment_and_the_next_run_applies_it(client, scored):
    before = explanation(client, scored).json["total"]
    answer = resolve(client, scored, {"flag": 0, "resolution": "adjusted", "note": "突击备案", "points": -2})
    assert answer.status == 201 and answer.json["adjustment"], answer.json
    adjustments = client.get("/cycles/2024/adjustments", headers=ADMIN).json["items"]
    assert adjustments[0]["points"] == -2 and "突击备案" in adjustments[0]["reason"]
    after = explanation(client, run(client).json["run_id"]).json
    assert after["total"] == pytest.approx(before - 2, abs=0.01)
    assert after["total_is"]["total_adjustment"] == -2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"flag": 0, "resolution": "adjusted", "note": "x"}, "points"),  # adjusted needs points
        ({"flag": 0, "resolution": "dismissed", "note": "x", "points": 1}, "points"),
        ({"flag": 0, "resolution": "fine", "note": "x"}, "resolution"),
        ({"flag": 0, "resolution": "dismissed"}, "note"),
        ({"flag": 5, "resolution": "dismissed", "note": "x"}, "flag"),  # no such flag
    ],
)
def test_bad_resolutions_are_422_and_store_nothing(client, store, scored, body, field):
    before = stored_items(store)
    answer = resolve(client, scored, body)
    assert answer.status == 422, answer.json
    assert stored_items(store) == before


def test_only_national_admins_resolve_flags(client, scored):
    answer = client.post(
        f"/cycles/2024/scoring-runs/{scored}/units/110000/flag-resolutions",
        {"flag": 0, "resolution": "dismissed", "note": "x"},
        headers=JS,
    )
    assert answer.status == 403


# ---- the provisional publication and objections ------------------------------------------------


def provisional(client, run_id):
    answer = client.post(f"/cycles/2024/scoring-runs/{run_id}/provisional-publication", headers=ADMIN)
    assert answer.status == 201, answer.json
    return answer.json


def object_to(client, headers=JS, **body):
    return client.post(
        "/cycles/2024/objections",
        {"reason": "本省浏览量统计遗漏", "files": ["file-1"], **body},
        headers=headers,
    )


def test_a_province_reads_its_own_explanation_and_adjustments_only_once_provisionally_published(
    client, scored
):
    client.post(
        "/cycles/2024/adjustments", {"province": "320000", "points": 1, "reason": "补报"}, headers=ADMIN
    )
    client.post(
        "/cycles/2024/adjustments", {"province": "330000", "points": 1, "reason": "补报"}, headers=ADMIN
    )
    assert explanation(client, scored, "320000", JS).status == 403
    assert client.get("/cycles/2024/adjustments", headers=JS).status == 403
    later = run(client).json["run_id"]
    state = provisional(client, later)
    assert state["objection_days"] == 7 and state["closes_at"] == "2024-11-27T10:00:00+08:00"
    own = explanation(client, later, "320000", JS)
    assert own.status == 200 and own.json["total_is"]["total_adjustment"] == 1
    assert explanation(client, later, "330000", JS).status == 403  # another province's
    assert explanation(client, scored, "320000", JS).status == 403  # a run never published provisionally
    assert [a["province"] for a in client.get("/cycles/2024/adjustments", headers=JS).json["items"]] == [
        "320000"
    ]
    told = client.get("/me/notifications", headers=ZJ).json["items"]
    assert told[0]["topic"] == "results_provisional" and told[0]["run_id"] == later


def test_an_upheld_objection_changes_the_score_only_through_an_adjustment_and_a_superseding_run(
    client, store, scored
):
    provisional(client, scored)
    filed = object_to(client)
    assert filed.status == 201 and filed.json["status"] == "open" and filed.json["files"] == ["file-1"]
    assert client.get("/me/notifications", headers=ADMIN).json["items"][0]["topic"] == "objection_filed"
    store.at("2024-11-21T10:00:00+08:00")
    before = explanation(client, scored, "320000").json["total"]
    bad = client.post(
        f"/cycles/2024/objections/{filed.json['id']}/answer",
        {"decision": "upheld", "reason": "属实"},
        headers=ADMIN,
    )
    assert bad.status == 422  # upheld names the points
    answer = client.post(
        f"/cycles/2024/objections/{filed.json['id']}/answer",
        {"decision": "upheld", "reason": "核实遗漏", "points": 1.5},
        headers=ADMIN,
    )
    assert answer.status == 200, answer.json
    outcome = answer.json["answer"]
    assert answer.json["status"] == "upheld" and outcome["run_id"] != scored and outcome["adjustment"]
    adjustment = client.get("/cycles/2024/adjustments", headers=JS).json["items"][0]
    assert adjustment["points"] == 1.5 and "核实遗漏" in adjustment["reason"]
    after = explanation(client, outcome["run_id"], "320000", JS).json  # the new run is the provisional one
    assert after["total"] == pytest.approx(before + 1.5, abs=0.01)
    listed = client.get("/cycles/2024/objections", headers=JS).json
    assert listed["provisional"]["run_id"] == outcome["run_id"]
    assert listed["provisional"]["superseded"][0]["reason"] == "核实遗漏"
    told = client.get("/me/notifications", headers=JS).json["items"]
    assert told[0]["topic"] == "objection_answered" and told[0]["decision"] == "upheld"
    again = client.post(
        f"/cycles/2024/objections/{filed.json['id']}/answer",
        {"decision": "rejected", "reason": "x"},
        headers=ADMIN,
    )
    assert again.status == 409


def test_the_final_publication_waits_for_the_window_and_every_answer(client, store, scored):
    provisional(client, scored)
    filed = object_to(client).json
    early = client.post(f"/cycles/2024/scoring-runs/{scored}/publish", headers=ADMIN)
    assert early.status == 409 and "2024-11-27T10:00:00+08:00" in early.json["detail"]
    store.at("2024-11-27T10:00:00+08:00")
    late = object_to(client, headers=ZJ)
    assert late.status == 409 and "closed" in late.json["detail"]
    unanswered = client.post(f"/cycles/2024/scoring-runs/{scored}/publish", headers=ADMIN)
    assert unanswered.status == 409 and filed["id"] in unanswered.json["detail"]
    rejected = client.post(
        f"/cycles/2024/objections/{filed['id']}/answer",
        {"decision": "rejected", "reason": "统计口径一致"},
        headers=ADMIN,
    )
    assert rejected.status == 200 and rejected.json["answer"]["reason"] == "统计口径一致"
    assert client.post(f"/cycles/2024/scoring-runs/{scored}/publish", headers=ADMIN).status == 200
    told = [n["topic"] for n in client.get("/me/notifications", headers=JS).json["items"]]
    assert set(told[:2]) == {"results_final", "objection_answered"}  # one instant on the test clock


def test_objections_are_refused_without_a_provisional_result_or_from_others(client, store, scored):
    before = stored_items(store)
    assert object_to(client).status == 409
    assert object_to(client, headers=ADMIN).status == 403
    assert client.post("/cycles/2024/objections", {"files": []}, headers=JS).status == 422
    assert stored_items(store) == before
    provisional(client, scored)
    object_to(client)
    assert client.get("/cycles/2024/objections", headers=ZJ).json["items"] == []
    assert len(client.get("/cycles/2024/objections", headers=ADMIN).json["items"]) == 1
