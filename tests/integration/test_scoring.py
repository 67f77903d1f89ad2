"""Scoring runs through the API on the moto store: runs, visibility, publish, adjustments,
excellent projects, scheme versions, the year-end schedule and the request budget."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from chalicelib.core.models import Counter, Record
from chalicelib.core.reference import PROVINCES
from chalicelib.scoring import runs, scheme
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.scoring import ADMIN, CLOSED, run, seed_counters
from tests.support.scoring import events as _events


def test_a_run_scores_all_32_units_from_the_counters_and_stores_everything(store, client):
    store.at(CLOSED)
    seed_counters()
    started = run(client)
    assert started.status == 201, started.json
    assert started.json["provisional"] is False and started.json["scheme_version"] == 1
    scores = client.get("/cycles/2024/scores", headers=ADMIN)
    assert scores.status == 200, scores.json
    body = scores.json
    assert body["run_id"] == started.json["run_id"] and body["published"] is False
    assert len(body["provinces"]) == 32
    assert [p["rank"] for p in body["provinces"]] == list(range(1, 33))
    totals = [p["total"] for p in body["provinces"]]
    assert totals == sorted(totals, reverse=True)
    assert body["provinces"][-1]["province"] == "110000"  # seeded with the least of everything
    top = body["provinces"][0]
    index = sorted(PROVINCES).index(top["province"])
    assert set(top["indicators"]) == {i["id"] for _, i in scheme.indicators(scheme.default_scheme())}
    assert top["inputs"]["counters"]["views_unique"] == 100 + 10 * index
    assert top["total"] == pytest.approx(sum(i["final"] for i in top["indicators"].values()), abs=1e-3)
    assert top["flags"] == [] and top["bonus"] == 0


def test_two_runs_over_the_same_facts_give_the_same_numbers(store, client):
    store.at(CLOSED)
    seed_counters()
    first, second = run(client).json["run_id"], run(client).json["run_id"]
    assert first != second
    a = client.get(f"/cycles/2024/scores?run_id={first}", headers=ADMIN).json
    b = client.get(f"/cycles/2024/scores?run_id={second}", headers=ADMIN).json
    assert a["provinces"] == b["provinces"]
    latest = client.get("/cycles/2024/scores", headers=ADMIN).json
    assert latest["run_id"] == second


def test_the_public_sees_only_the_published_run(store, client):
    store.at(CLOSED)
    seed_counters()
    run_id = run(client).json["run_id"]
    missing = client.get("/cycles/2024/scores")
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("application/problem+json")
    assert client.get(f"/cycles/2024/scores?run_id={run_id}").status == 404
    published = client.post(f"/cycles/2024/scoring-runs/{run_id}/publish", headers=ADMIN)
    assert published.status == 200 and published.json["published"] is True
    public = client.get("/cycles/2024/scores")
    assert public.status == 200 and public.json["run_id"] == run_id and public.json["published"] is True
    assert "inputs" not in public.json["provinces"][0]


def test_a_published_run_is_final_and_later_runs_do_not_change_what_the_public_sees(store, client):
    store.at(CLOSED)
    seed_counters()
    first = run(client).json["run_id"]
    client.post(f"/cycles/2024/scoring-runs/{first}/publish", headers=ADMIN)
    before = client.get("/cycles/2024/scores").json
    seed_counters(scale=50)
    later = run(client).json["run_id"]
    assert client.get("/cycles/2024/scores").json == before
    again = client.post(f"/cycles/2024/scoring-runs/{later}/publish", headers=ADMIN)
    assert again.status == 409 and first in again.json["detail"]
    assert (
        client.post(f"/cycles/2024/scoring-runs/{first}/publish", headers=ADMIN).status == 200
    )  # idempotent
    runs = client.get("/cycles/2024/scoring-runs", headers=ADMIN).json["items"]
    assert [(r["run_id"], r["published"]) for r in runs] == [(later, False), (first, True)]


def test_a_run_of_an_open_cycle_is_provisional_and_cannot_be_published(store, client):
    store.at("2024-05-15T10:00:00+08:00")
    seed_counters()
    started = run(client)
    assert started.status == 201 and started.json["provisional"] is True
    refused = client.post(f"/cycles/2024/scoring-runs/{started.json['run_id']}/publish", headers=ADMIN)
    assert refused.status == 409 and "provisional" in refused.json["detail"]


@pytest.mark.parametrize(
    "path", ["/cycles/1999/scores", "/cycles/2019/scoring-runs", "/cycles/9999/scores.csv"]
)
def test_an_unknown_cycle_is_a_404_problem(store, client, path):
    answer = client.get(path, headers=ADMIN)
    assert answer.status == 404 and answer.json["status"] == 404


@pytest.mark.parametrize("path", ["/cycles/nope/scoring-runs", "/cycles/x/scores.csv"])
def test_a_cycle_outside_the_cycle_id_format_is_a_422_naming_it(store, client, path):
    answer = client.get(path, headers=ADMIN)
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "cycle"


def test_only_national_admins_start_runs_publish_or_list_them(store, client):
    store.at(CLOSED)
    assert run(client, headers={}).status == 401
    assert run(client, headers=auth(role="province_admin", province="320000")).status == 403
    assert client.get("/cycles/2024/scoring-runs", headers=auth(role="user")).status == 403
    assert (
        client.post("/cycles/2024/scoring-runs/run-2024-0001/publish", headers=auth(role="expert")).status
        == 403
    )
    assert client.post("/cycles/2024/scoring-runs/run-2024-0099/publish", headers=ADMIN).status == 404


def test_a_cycle_that_has_not_started_cannot_be_scored(store, client):
    store.at(CLOSED)
    answer = run(client, cycle="2030")
    assert answer.status == 409


# ---- adjustments and flags -----------------------------------------------------------


def test_adjustments_are_kept_audited_and_applied_by_later_runs(store, client):
    store.at(CLOSED)
    seed_counters()
    assert run(client).status == 201
    before = {p["province"]: p for p in client.get("/cycles/2024/scores", headers=ADMIN).json["provinces"]}
    made = client.post(
        "/cycles/2024/adjustments",
        {"province": "110000", "indicator": "views", "points": -1.5, "reason": "人工校验：机器人流量"},
        headers=ADMIN,
    )
    assert made.status == 201, made.json
    store.clock.advance(minutes=5)
    client.post(
        "/cycles/2024/adjustments",
        {"province": "110000", "points": 3, "reason": "补报材料已核实"},
        headers=ADMIN,
    )
    listed = client.get("/cycles/2024/adjustments", headers=ADMIN).json["items"]
    assert [a["points"] for a in listed] == [-1.5, 3.0] and listed[0]["reason"] == "人工校验：机器人流量"
    from chalicelib.core import audit

    assert [e["action"] for e in audit.trail("adjustment", "2024/" + listed[0]["id"])] == ["recorded"]
    run(client)
    after = {p["province"]: p for p in client.get("/cycles/2024/scores", headers=ADMIN).json["provinces"]}
    assert after["110000"]["indicators"]["views"]["final"] == pytest.approx(
        before["110000"]["indicators"]["views"]["points"] - 1.5
    )
    assert after["110000"]["total"] == pytest.approx(before["110000"]["total"] + 1.5, abs=1e-3)
    assert len(after["110000"]["adjustments"]) == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"province": "999999", "points": 1, "reason": "x"}, "province"),
        ({"province": "110000", "points": 0, "reason": "x"}, "points"),
        ({"province": "110000", "points": 1, "reason": ""}, "reason"),
        ({"province": "110000", "points": 1, "reason": "x", "indicator": "nope"}, "indicator"),
        ({"province": "110000", "points": 1}, "reason"),
    ],
)
def test_a_bad_adjustment_is_a_422_naming_the_field_and_stores_nothing(store, client, body, field):
    store.at(CLOSED)
    answer = client.post("/cycles/2024/adjustments", body, headers=ADMIN)
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]]
    assert client.get("/cycles/2024/adjustments", headers=ADMIN).json["items"] == []


def test_suspicious_units_are_flagged_with_the_run(store, client):
    store.at(CLOSED)
    seed_counters()
    Counter(
        "PROV#440000", "CYCLE#2024", n={"filings_approved": 40, "filings_approved_near_cutoff": 35}
    ).save()
    for month in ["2023-01", "2023-02", "2023-03", "2023-04"]:
        Counter("PROV#330000", f"MONTH#{month}", n={"views_total": 20}).save()
    Counter("PROV#330000", "MONTH#2024-02", n={"views_total": 5000}).save()
    Counter("ACCT#510000#2024", "sock1", n={"likes": 60}).save()
    Counter("ACCT#510000#2024", "sock2", n={"likes": 40}).save()
    run(client)
    found = {
        p["province"]: [f["kind"] for f in p["flags"]]
        for p in client.get("/cycles/2024/scores", headers=ADMIN).json["provinces"]
    }
    assert found["440000"] == ["filings_near_cutoff"]
    assert "usage_spike" in found["330000"]
    assert found["510000"] == ["likes_burst"]
    assert found["110000"] == []


# ---- excellent projects and bonus ----------------------------------------------------


def test_excellent_projects_add_capped_bonus_points_to_their_unit(store, client):
    store.at("2024-05-15T10:00:00+08:00")
    filings = [approved_filing(client, "320000") for _ in range(4)]
    pending = client.post(
        "/filings",
        {"kind": "tool", "title": "工具", "province": "320000", "unit": "单位", "industry": "1"},
        headers=auth(sub="f", role="filer", province="320000"),
    ).json
    store.at(CLOSED)
    why = {"reason": "国务院部门联合推荐，专家评选后补录"}
    for f in filings:
        answer = client.post(
            "/cycles/2024/excellent-projects", {"filing": f["id"], "note": "专家评选", **why}, headers=ADMIN
        )
        assert answer.status == 201, answer.json
        assert answer.json["source"] == "override" and answer.json["reason"] == why["reason"]
    again = client.post("/cycles/2024/excellent-projects", {"filing": filings[0]["id"], **why}, headers=ADMIN)
    assert again.status == 200
    assert (
        client.post("/cycles/2024/excellent-projects", {"filing": pending["id"], **why}, headers=ADMIN).status
        == 409
    )
    assert (
        client.post(
            "/cycles/2025/excellent-projects", {"filing": filings[0]["id"], **why}, headers=ADMIN
        ).status
        == 409
    )
    assert (
        client.post("/cycles/2024/excellent-projects", {"filing": "nope", **why}, headers=ADMIN).status == 422
    )
    assert (
        client.post(
            "/cycles/2024/excellent-projects",
            {"filing": filings[0]["id"], **why},
            headers=auth(role="expert"),
        ).status
        == 403
    )
    listed = client.get("/cycles/2024/excellent-projects", headers=ADMIN).json["items"]
    assert sorted(p["filing"] for p in listed) == sorted(f["id"] for f in filings)
    assert client.get("/cycles/2024/excellent-projects").status == 404  # announced with published scores
    run_id = run(client).json["run_id"]
    jiangsu = next(
        p
        for p in client.get("/cycles/2024/scores", headers=ADMIN).json["provinces"]
        if p["province"] == "320000"
    )
    assert jiangsu["excellent_projects"] == 4 and jiangsu["bonus"] == 6.0  # 4 × 2 capped at 6
    client.post(f"/cycles/2024/scoring-runs/{run_id}/publish", headers=ADMIN)
    public = client.get("/cycles/2024/excellent-projects").json["items"]
    assert len(public) == 4 and "by" not in public[0]


def test_an_override_without_a_written_reason_is_422_and_stores_nothing(store, client):
    from tests.support import stored_items

    f = approved_filing(client, "320000")
    before = stored_items(store)
    for body in (
        {"filing": f["id"]},
        {"filing": f["id"], "reason": "  "},
        {"filing": f["id"], "reason": "\u200b"},
    ):
        answer = client.post("/cycles/2024/excellent-projects", body, headers=ADMIN)
        assert answer.status == 422 and answer.json["errors"][0]["field"] == "reason"
    assert stored_items(store) == before


def test_the_selection_workflow_confirms_through_record_excellent(store, client):
    from chalicelib.scoring import bonus

    f = approved_filing(client, "110000")
    now = datetime(2024, 11, 1, tzinfo=UTC)
    data, created = bonus.record_excellent("2024", f["id"], None, now, source="selection")
    assert created and data["source"] == "selection" and data["by"] == "system"
    assert bonus.record_excellent("2024", f["id"], None, now)[1] is False
    assert Record.get("EXCELLENT#2024", f["id"]).data["province"] == "110000"


# ---- scheme versions -----------------------------------------------------------------


def test_a_national_admin_stores_a_new_scheme_version_and_runs_record_it(store, client):
    store.at(CLOSED)
    seed_counters()
    first = run(client).json
    assert client.get("/scoring-scheme").json["version"] == 1
    body = copy.deepcopy(scheme.DEFAULT_SCHEME)
    body = {k: body[k] for k in ("name", "areas", "bonus", "flags")}
    body["name"] = "2024 修订版"
    body["areas"][1]["indicators"][2]["weight"] = 3  # views
    body["areas"][1]["indicators"][3]["weight"] = 7  # downloads
    assert (
        client.put("/scoring-scheme", body, headers=auth(role="province_admin", province="320000")).status
        == 403
    )
    stored = client.put("/scoring-scheme", body, headers=ADMIN)
    assert stored.status == 201, stored.json
    assert stored.json["version"] == 2 and client.get("/scoring-scheme").json["name"] == "2024 修订版"
    second = run(client).json
    assert (first["scheme_version"], second["scheme_version"]) == (1, 2)
    old = client.get(f"/cycles/2024/scores?run_id={first['run_id']}", headers=ADMIN).json
    assert old["scheme_version"] == 1 and old["provinces"][0]["indicators"]["views"]["points"] <= 5
    assert client.get("/scoring-scheme?version=1").json["version"] == 1
    assert client.get("/scoring-scheme?version=9").status == 404
    body["areas"][0]["indicators"][0]["weight"] = 50
    bad = client.put("/scoring-scheme", body, headers=ADMIN)
    assert bad.status == 422 and "100" in str(bad.json["errors"])


# ---- schedule ------------------------------------------------------------------------


def test_the_year_end_schedule_scores_the_cycle_that_closed_that_year(store, client):
    from chalice.test import Client

    import app as app_module

    store.at("2024-12-31T23:00:00+08:00")
    seed_counters()
    with Client(app_module.app, stage_name="local") as test_client:
        event = test_client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        answer = test_client.lambda_.invoke("year_end", event).payload
    assert [s["cycle"] for s in answer["scored"]] == ["2024"]
    runs = client.get("/cycles/2024/scoring-runs", headers=ADMIN).json["items"]
    assert runs[0]["trigger"] == "schedule" and runs[0]["provisional"] is False


# ---- request budget ------------------------------------------------------------------


@pytest.fixture
def count_requests(monkeypatch):
    """Count every DynamoDB request PynamoDB makes (each goes through Connection._make_api_call)."""
    from pynamodb.connection.base import Connection

    calls: list[str] = []
    original = Connection._make_api_call

    def counting(self, operation_name, *args, **kwargs):
        calls.append(operation_name)
        return original(self, operation_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return calls


def test_a_run_makes_the_same_number_of_requests_when_events_grow_100_times(store, client, count_requests):
    store.at(CLOSED)
    for code in PROVINCES:
        Counter(f"ACCT#{code}#2024", "u1", n={"likes": 1, "evaluations": 1}).save()
    counts = []
    for events in (20, 2000):
        _events(events)
        seed_counters(scale=events)
        count_requests.clear()
        runs.run("2024", None, datetime(2024, 11, 20, 2, tzinfo=UTC))
        counts.append(list(count_requests))
    assert counts[0] == counts[1]
    assert len(counts[0]) < 80, counts[0]


# ---- explanation -----------------------------------------------------------------------


def test_the_explanation_shows_one_units_total_down_to_its_counters(store, client):
    import math

    store.at(CLOSED)
    seed_counters()
    Counter(
        "PROV#510000",
        "CYCLE#2024",
        n={
            "filings_approved": 40,
            "filings_approved_near_cutoff": 35,
            "views_unique": 900,
            "evaluations": 5,
            "evaluation_score_sum": 21,
            "evaluations_government": 5,
            "evaluation_score_sum_government": 21,
        },
    ).save()
    client.post(
        "/cycles/2024/adjustments",
        {"province": "510000", "indicator": "views", "points": -1.5, "reason": "人工校验：机器人流量"},
        headers=ADMIN,
    )
    run_id = run(client).json["run_id"]
    path = f"/cycles/2024/scoring-runs/{run_id}/units/510000/explanation"
    answer = client.get(path, headers=ADMIN)
    assert answer.status == 200, answer.json
    body = answer.json
    row = next(
        p
        for p in client.get(f"/cycles/2024/scores?run_id={run_id}", headers=ADMIN).json["provinces"]
        if p["province"] == "510000"
    )
    assert (body["total"], body["rank"]) == (row["total"], row["rank"])
    parts = body["total_is"]
    assert body["total"] == pytest.approx(
        parts["indicators"] + parts["bonus"] + parts["total_adjustment"], abs=1e-3
    )
    assert body["counters"] == {
        "key": {"pk": "PROV#510000", "sk": "CYCLE#2024"},
        "values": Counter.get("PROV#510000", "CYCLE#2024").n.as_dict(),
    }
    by_id = {i["id"]: i for i in body["indicators"]}
    views = by_id["views"]
    assert views["inputs"] == [
        {
            "name": "views_unique",
            "role": "input",
            "factor": 1,
            "value": 900,
            "source": {"counter": "views_unique", "key": body["counters"]["key"]},
        }
    ]
    ref = views["reference"]
    assert views["score"] == pytest.approx(
        math.log1p(min(900, ref["cap"])) / math.log1p(ref["best"]), abs=1e-6
    )
    assert views["final"] == pytest.approx(views["points"] - 1.5) and views["points"] == pytest.approx(
        views["weight"] * views["score"], abs=1e-4
    )
    on_time = next(i for i in by_id["timeliness"]["inputs"] if i["name"] == "filings_on_time")
    assert on_time["value"] == 5 and on_time["source"]["counters"]["values"] == {
        "filings_approved": 40,
        "filings_approved_near_cutoff": 35,
    }
    assert {i["role"] for i in by_id["evaluation_mean"]["inputs"]} == {"input", "count"}
    assert [(a["points"], a["by"], a["reason"]) for a in body["adjustments"]] == [
        (-1.5, "admin", "人工校验：机器人流量")
    ]
    assert [f["kind"] for f in body["flags"]] == ["filings_near_cutoff"]
    assert client.get(path, headers=auth(role="province_admin", province="510000")).status == 403
    assert client.get(path).status == 401
    assert (
        client.get(f"/cycles/2024/scoring-runs/{run_id}/units/999999/explanation", headers=ADMIN).status
        == 404
    )
    assert (
        client.get("/cycles/2024/scoring-runs/run-2024-0099/units/510000/explanation", headers=ADMIN).status
        == 404
    )


def test_the_swarm_check_reads_only_accounts_seen_on_one_unit_in_one_batch(store, client, count_requests):
    store.at(CLOSED)
    minute = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp()) // 60
    for i in range(40):  # a crowd acting on two units at once: not single-purpose, never read
        for code in ("440000", "330000"):
            Counter(
                f"ACCT#{code}#2024",
                f"r{i}",
                n={"likes": 1, "evaluations": 3, "evaluation_score_sum": 15, f"minute#{minute}": 4},
            ).save()
    count_requests.clear()
    runs.run("2024", None, datetime(2024, 11, 20, 2, tzinfo=UTC))
    crowd_only = count_requests.count("BatchGetItem")
    for i in range(40):
        Counter(
            "ACCT#510000#2024",
            f"p{i}",
            n={"likes": 3, "evaluations": 3, "evaluation_score_sum": 15, f"minute#{minute}": 6},
        ).save()
        Counter(f"ACCOUNT#p{i}", "UNITS", n={"2024#510000": 6}).save()
    count_requests.clear()
    run_id = runs.run("2024", None, datetime(2024, 11, 20, 3, tzinfo=UTC))["run_id"]
    assert count_requests.count("BatchGetItem") == crowd_only + 1
    rows = {
        r["province"]: r
        for r in client.get(f"/cycles/2024/scores?run_id={run_id}", headers=ADMIN).json["provinces"]
    }
    assert [f["kind"] for f in rows["510000"]["flags"]] == ["puppet_swarm", "puppet_extreme_scores"]
    assert rows["440000"]["flags"] == [] and rows["330000"]["flags"] == []
