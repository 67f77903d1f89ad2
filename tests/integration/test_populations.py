"""Evaluated populations beyond the provinces: registries of service bases and support
institutions, their own schemes as data, filings attributed to them, runs and publications."""

from __future__ import annotations

import uuid
from datetime import UTC

import pytest

from chalicelib.core import pseudonyms, spreadsheets
from chalicelib.usage import counting_rules, running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import report_body, stored_items

ADMIN = dict(sub="admin", role="national_admin")
JS_FILER = dict(sub="filer-320000", role="filer", province="320000")
ZJ_FILER = dict(sub="filer-330000", role="filer", province="330000")
CLOSED = "2024-11-20T10:00:00+08:00"
BASES = "/populations/service_bases"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def register(client, code, province, population="service_bases", name=None):
    return client.post(
        f"/populations/{population}/units",
        {"code": code, "name": name or f"{code} 服务基地", "province": province},
        headers=auth(**ADMIN),
    )


def attribute(client, filing_id, unit, who=JS_FILER, population="service_bases"):
    return client.put(
        f"/filings/{filing_id}/attribution", {"population": population, "unit": unit}, headers=auth(**who)
    )


def pending(client, province="320000", **over):
    who = JS_FILER if province == "320000" else ZJ_FILER
    answer = client.post("/filings", report_body(province, **over), headers=auth(**who))
    assert answer.status == 201, answer.json
    return answer.json


def approve(client, filing_id):
    answer = client.post(f"/filings/{filing_id}/review", {"decision": "approve"}, headers=auth(**ADMIN))
    assert answer.status == 200, answer.json
    return answer.json


def attributed(client, unit, province="320000", **over):
    """A filing attributed to `unit` while pending (attribution happens before approval), then approved."""
    filing = pending(client, province, **over)
    answer = attribute(client, filing["id"], unit, JS_FILER if province == "320000" else ZJ_FILER)
    assert answer.status == 200, answer.json
    return approve(client, filing["id"])


def base_counters(code, cycle="2024"):
    """The running counters of a service base's cycle."""
    return running_counters.values(*counting_rules.unit_cycle_key(f"service_bases#{code}", cycle))


def view(client, filing_id, reader):
    """A counted view of the filing by a distinct reader."""
    body = {"events": [{"id": str(uuid.uuid4()), "type": "view", "filing": filing_id, "user_agent": BROWSER}]}
    assert (
        client.post("/events", body, headers=auth(sub=reader, role="user", side="enterprise")).status == 202
    )


@pytest.fixture
def bases(client, settle):
    """Two bases (JS with 3 approved reports and a database, ZJ with 1 report) and counters settled."""
    assert register(client, "SB-JS", "320000").status == 201
    assert register(client, "SB-ZJ", "330000").status == 201
    js = [attributed(client, "SB-JS") for _ in range(3)]
    js.append(attributed(client, "SB-JS", kind="database", report_type=None))
    zj = attributed(client, "SB-ZJ", "330000")
    settle()
    return {"js": js, "zj": zj}


def test_the_populations_and_their_registries_are_listed(client):
    ids = [p["id"] for p in client.get("/populations").json["items"]]
    assert ids == ["provinces", "service_bases", "support_institutions"]
    assert len(client.get("/populations/provinces/units").json["items"]) == 32
    assert register(client, "SI-1", "110000", "support_institutions").status == 201
    assert [u["code"] for u in client.get("/populations/support_institutions/units").json["items"]] == [
        "SI-1"
    ]
    assert client.get("/populations/nope/units").status == 404


def test_registering_a_unit_twice_or_badly_or_as_non_admin_is_refused(client, store):
    assert register(client, "SB-1", "320000").status == 201
    before = stored_items(store)
    assert register(client, "SB-1", "320000").status == 409
    assert register(client, "bad code!", "320000").status == 422
    assert register(client, "SB-2", "999999").status == 422
    assert register(client, "SB-3", "320000", population="provinces").status == 409
    assert (
        client.post(
            f"{BASES}/units", {"code": "SB-4", "name": "x", "province": "320000"}, headers=auth(**JS_FILER)
        ).status
        == 403
    )
    assert stored_items(store) == before


def test_each_population_has_its_own_scheme_as_data(client):
    bases_scheme = client.get(f"{BASES}/scoring-scheme").json
    provinces_scheme = client.get("/scoring-scheme").json
    assert "服务基地" in bases_scheme["name"] and bases_scheme["total_weight"] == 100
    ids = {i["id"] for a in bases_scheme["areas"] for i in a["indicators"]}
    assert "annual_form" not in ids and "application_proofs" in ids
    assert client.get("/populations/provinces/scoring-scheme").json == provinces_scheme
    new = {k: bases_scheme[k] for k in ("name", "areas", "bonus")}
    new["name"] = "服务基地指标 第二版"
    stored = client.put(f"{BASES}/scoring-scheme", new, headers=auth(**ADMIN))
    assert stored.status == 201 and stored.json["version"] == 2
    assert client.get(f"{BASES}/scoring-scheme").json["version"] == 2
    assert client.get("/scoring-scheme").json["version"] == 1
    assert client.get("/populations/support_institutions/scoring-scheme").json["version"] == 1


def test_attribution_is_the_filings_own_province_to_a_unit_located_there(client, store):
    register(client, "SB-JS", "320000")
    register(client, "SB-ZJ", "330000")
    filing = pending(client)
    before = stored_items(store)
    assert attribute(client, filing["id"], "SB-JS", ZJ_FILER).status == 403
    assert attribute(client, filing["id"], "SB-ZJ").status == 422  # a unit of another province
    assert attribute(client, filing["id"], "SB-XX").status == 422
    assert attribute(client, filing["id"], "320000", population="provinces").status == 422
    assert attribute(client, "nope", "SB-JS").status == 404
    assert stored_items(store) == before
    assert attribute(client, filing["id"], "SB-JS").status == 200
    assert (
        attribute(client, filing["id"], "SB-ZJ", ADMIN).status == 200
    )  # national admins may attribute anywhere


def test_attributed_filings_count_for_the_unit_and_still_for_their_province(client, bases):
    js = base_counters("SB-JS")
    assert js["filings_approved"] == 4 and js["filings_approved_database"] == 1
    assert running_counters.province_cycle("320000", "2024")["filings_approved"] == 4
    assert base_counters("SB-ZJ")["filings_approved"] == 1


def test_an_approved_filings_attribution_is_proposed_for_review_and_nothing_moves_meanwhile(
    client, store, bases, settle
):
    register(client, "SB-JS2", "320000")
    filing = bases["js"][0]["id"]
    assert (
        attribute(client, filing, "SB-JS").json["pending_review"] is False
    )  # the same attribution: nothing changes
    proposed = attribute(client, filing, "SB-JS2")
    assert (
        proposed.status == 200 and proposed.json["pending_review"] is True and proposed.json["revision"] == 2
    )
    shown = client.get(f"/filings/{filing}", headers=auth(**JS_FILER)).json
    assert shown["status"] == "approved" and shown["revision_pending"] is True
    settle()
    assert base_counters("SB-JS")["filings_approved"] == 4
    assert base_counters("SB-JS2").get("filings_approved", 0) == 0


def test_approving_an_attribution_proposal_moves_the_filing_and_later_usage_to_the_new_unit(
    client, store, bases, settle
):
    register(client, "SB-JS2", "320000")
    filing = bases["js"][0]["id"]
    store.at("2024-06-01T10:00:00+08:00")
    view(client, filing, "reader-before")
    evaluated = client.put(
        f"/filings/{filing}/evaluation",
        {"score": 4},
        headers=auth(sub="reader-before", role="user", side="enterprise"),
    )
    assert evaluated.status == 200
    assert attribute(client, filing, "SB-JS2").json["pending_review"] is True
    approve(client, filing)
    view(client, filing, "reader-after")
    settle()
    old = base_counters("SB-JS")
    new = base_counters("SB-JS2")
    assert (old["filings_approved"], new["filings_approved"]) == (3, 1)  # moved once, from the old unit
    assert (old["views_unique"], new["views_unique"]) == (
        1,
        1,
    )  # the view before the move stays with the old unit
    assert (old["evaluations"], new.get("evaluations", 0)) == (1, 0)
    assert running_counters.province_cycle("320000", "2024")["filings_approved"] == 4
    assert running_counters.drift() == []
    approve(client, filing)  # reviewing again changes nothing
    settle()
    # Lambda may deliver the whole stream again: the move is still applied once.
    deliver(
        lambda event: running_counters.handle_stream_batch(event, store.clock.now()),
        StreamTap(store.stream_arn).take(),
    )
    assert base_counters("SB-JS")["filings_approved"] == 3
    assert base_counters("SB-JS2")["filings_approved"] == 1
    assert running_counters.drift() == []


def test_a_dropped_attribution_proposal_keeps_the_old_attribution(client, store, bases, settle):
    register(client, "SB-JS2", "320000")
    filing = bases["js"][0]["id"]
    attribute(client, filing, "SB-JS2")
    dropped = client.post(f"/filings/{filing}/review", {"decision": "reject"}, headers=auth(**ADMIN))
    assert dropped.status == 200 and dropped.json["status"] == "approved" and dropped.json["revision"] == 1
    settle()
    assert base_counters("SB-JS")["filings_approved"] == 4
    assert base_counters("SB-JS2").get("filings_approved", 0) == 0
    assert running_counters.drift() == []


def test_a_content_revision_keeps_a_waiting_attribution_proposal(client, store, bases, settle):
    register(client, "SB-JS2", "320000")
    filing = bases["js"][0]["id"]
    attribute(client, filing, "SB-JS2")
    revised = client.post(
        f"/filings/{filing}/revisions",
        report_body(title="新能源汽车产业专利导航报告（修订）"),
        headers=auth(**JS_FILER),
    )
    assert revised.status == 200, revised.json
    assert approve(client, filing)["title"].endswith("（修订）")
    settle()
    assert base_counters("SB-JS2")["filings_approved"] == 1
    assert running_counters.drift() == []


def test_an_attribution_proposal_is_refused_elsewhere_after_withdrawal_or_takedown(client, store, bases):
    register(client, "SB-JS2", "320000")
    filing = bases["js"][0]["id"]
    zj_admin = dict(sub="admin-330000", role="province_admin", province="330000")
    withdrawn = pending(client)
    client.post(f"/filings/{withdrawn['id']}/withdraw", headers=auth(**JS_FILER))
    taken_down = bases["js"][1]["id"]
    assert (
        client.post(f"/filings/{taken_down}/takedown", {"reason": "侵权投诉"}, headers=auth(**ADMIN)).status
        == 200
    )
    before = stored_items(store)
    assert attribute(client, filing, "SB-ZJ", zj_admin).status == 403  # another province's filing
    elsewhere = attribute(client, filing, "SB-ZJ")  # a unit of another province
    assert elsewhere.status == 422 and elsewhere.json["errors"][0]["field"] == "unit"
    answer = attribute(client, withdrawn["id"], "SB-JS")
    assert answer.status == 409 and "withdrawn" in answer.json["detail"]
    assert attribute(client, taken_down, "SB-JS2").status == 409
    assert stored_items(store) == before


def test_moving_an_attribution_before_approval_moves_the_count(client, bases, settle):
    filing = pending(client)
    assert attribute(client, filing["id"], "SB-JS").status == 200
    assert attribute(client, filing["id"], "SB-ZJ", ADMIN).status == 200
    approve(client, filing["id"])
    settle()
    assert base_counters("SB-JS")["filings_approved"] == 4
    assert base_counters("SB-ZJ")["filings_approved"] == 2
    assert running_counters.drift() == []


def test_a_run_over_service_bases_ranks_them_with_their_own_scheme(client, store, bases):
    store.at(CLOSED)
    started = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN))
    assert started.status == 201, started.json
    assert started.json["run_id"] == "run-service_bases-2024-0001" and started.json["provisional"] is False
    scores = client.get(f"{BASES}/cycles/2024/scores", headers=auth(**ADMIN)).json
    assert [(u["unit"], u["rank"]) for u in scores["units"]] == [("SB-JS", 1), ("SB-ZJ", 2)]
    assert "服务基地" in scores["scheme_name"] and "annual_form" not in scores["units"][0]["indicators"]
    assert scores["units"][0]["inputs"]["counters"]["filings_approved"] == 4
    assert client.get(f"{BASES}/cycles/2024/scores").status == 404  # not published yet
    # The provinces' runs are untouched: still all 32 units under their own scheme.
    provinces = client.post("/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json
    assert provinces["run_id"] == "run-2024-0001"
    assert len(client.get("/cycles/2024/scores", headers=auth(**ADMIN)).json["provinces"]) == 32


def test_a_population_run_is_published_and_superseded_like_the_provinces(client, store, bases):
    store.at(CLOSED)
    first = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    assert (
        client.post(f"{BASES}/cycles/2024/scoring-runs/{first}/publish", headers=auth(**ADMIN)).status == 200
    )
    public = client.get(f"{BASES}/cycles/2024/scores").json
    assert public["run_id"] == first and public["published"] and "inputs" not in public["units"][0]
    second = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    assert (
        client.post(f"{BASES}/cycles/2024/scoring-runs/{second}/publish", headers=auth(**ADMIN)).status == 409
    )
    assert (
        client.post(
            f"{BASES}/cycles/2024/scoring-runs/{second}/publish",
            {"reason": "补录备案"},
            headers=auth(**ADMIN),
        ).status
        == 200
    )
    assert client.get(f"{BASES}/cycles/2024/scores").json["run_id"] == second
    history = client.get(f"{BASES}/cycles/2024/announcements").json["items"]
    assert [h["run_id"] for h in history] == [second, first] and "服务基地" in history[0]["notice"]["title"]
    assert history[0]["ranking"][0]["unit"] == "SB-JS"
    assert (
        client.get("/cycles/2024/announcements").json["items"] == []
    )  # the provinces' publications are apart


def test_a_population_without_units_or_an_unknown_run_is_refused(client, store):
    store.at(CLOSED)
    assert (
        client.post(
            "/populations/support_institutions/cycles/2024/scoring-runs", headers=auth(**ADMIN)
        ).status
        == 409
    )
    assert (
        client.post(f"{BASES}/cycles/2024/scoring-runs/run-x-0001/publish", headers=auth(**ADMIN)).status
        == 404
    )
    assert client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**JS_FILER)).status == 403
    assert client.get(f"{BASES}/cycles/1999/scores").status == 404


def test_a_population_run_reads_counters_only_whatever_the_number_of_events(
    client, store, bases, monkeypatch
):
    from datetime import datetime

    from pynamodb.connection.base import Connection

    from chalicelib.core.auth import Caller
    from chalicelib.scoring import populations
    from tests.support.scoring import events as _events

    calls: list[str] = []
    original = Connection._make_api_call

    def counted(self, operation_name, *args, **kwargs):
        calls.append(operation_name)
        return original(self, operation_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    admin = Caller(sub="admin", role="national_admin")
    counts = []
    for events in (20, 2000):
        _events(events)
        calls.clear()
        populations.run(admin, "service_bases", "2024", datetime(2024, 11, 20, 2, tzinfo=UTC))
        counts.append(list(calls))
    assert counts[0] == counts[1]
    bases = 2  # each base's per-account counters are one Query (the flags' months: one BatchGet for all)
    assert "Scan" not in counts[0] and len(counts[0]) < 11 + bases, counts[0]


def test_the_year_end_schedule_scores_populations_with_units_too(client, store, bases):
    import app
    from local_stack.events import lambda_context, scheduled_event

    store.at("2024-12-31T23:00:00+08:00")
    answer = app.year_end_scoring(
        scheduled_event("year_end", store.clock.now(), "cn-north-1"), lambda_context("year_end")
    )
    assert {"cycle": "2024", "run_id": "run-service_bases-2024-0001"} in answer["scored"]
    assert {"cycle": "2024", "run_id": "run-2024-0001"} in answer["scored"]
    assert not any("support_institutions" in r["run_id"] for r in answer["scored"])  # none registered
    header = client.get(f"{BASES}/cycles/2024/scores", headers=auth(**ADMIN)).json
    assert header["run_id"] == "run-service_bases-2024-0001" and header["units"][0]["unit"] == "SB-JS"


def test_a_population_has_no_fixed_cap_and_its_notice_lists_every_unit(client, store):
    from chalicelib.core.auth import Caller
    from chalicelib.scoring import populations

    admin = Caller(sub="admin", role="national_admin")
    for i in range(95):
        populations.register_unit(
            admin,
            "support_institutions",
            populations.UnitIn(code=f"SI-{i:03d}", name=f"支撑机构{i}", province="110000"),
            store.clock.now(),
        )
    store.at(CLOSED)
    started = client.post("/populations/support_institutions/cycles/2024/scoring-runs", headers=auth(**ADMIN))
    assert started.status == 201, started.json
    run_id = started.json["run_id"]
    scores = client.get(
        f"/populations/support_institutions/cycles/2024/scores?run_id={run_id}", headers=auth(**ADMIN)
    ).json
    assert len(scores["units"]) == 95
    assert (
        client.post(
            f"/populations/support_institutions/cycles/2024/scoring-runs/{run_id}/publish",
            headers=auth(**ADMIN),
        ).status
        == 200
    )
    notice = client.get("/populations/support_institutions/cycles/2024/announcements").json["items"][0]
    assert len(notice["ranking"]) == 95 and notice["notice"]["text"].count(" 名 ") == 95


def test_a_bases_score_moves_with_the_usage_of_its_attributed_results(client, store, bases, settle):
    import uuid

    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    store.at(CLOSED)
    quiet = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    store.at("2024-06-01T10:00:00+08:00")
    for i in range(4):
        reader = dict(sub=f"reader-{i}", role="user", side="enterprise")
        body = {
            "events": [
                {"id": str(uuid.uuid4()), "type": "view", "filing": bases["zj"]["id"], "user_agent": browser}
            ]
        }
        assert client.post("/events", body, headers=auth(**reader)).status == 202
        assert (
            client.put(
                f"/filings/{bases['zj']['id']}/evaluation", {"score": 5}, headers=auth(**reader)
            ).status
            == 200
        )
    settle()
    unit = base_counters("SB-ZJ")
    assert unit["views_unique"] == 4 and unit["evaluations"] == 4 and unit["evaluation_score_sum"] == 20
    assert base_counters("SB-JS").get("views_unique", 0) == 0
    assert running_counters.drift() == []
    store.at(CLOSED)
    busy = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]

    def zj(run_id):
        units = client.get(f"{BASES}/cycles/2024/scores?run_id={run_id}", headers=auth(**ADMIN)).json["units"]
        return next(u for u in units if u["unit"] == "SB-ZJ")

    before, after = zj(quiet), zj(busy)
    assert after["total"] > before["total"]
    assert after["indicators"]["views"]["points"] > 0 and before["indicators"]["views"]["points"] == 0


def test_a_bases_explanation_adds_up_to_its_total_down_to_its_unit_counters(client, store, bases):
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    path = f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/SB-JS/explanation"
    answer = client.get(path, headers=auth(**ADMIN))
    assert answer.status == 200, answer.json
    body = answer.json
    assert body["unit"] == "SB-JS" and body["counters"]["key"] == {
        "pk": "UNIT#service_bases#SB-JS",
        "sk": "CYCLE#2024",
    }
    parts = body["total_is"]
    assert round(parts["indicators"] + parts["bonus"] + parts["total_adjustment"], 4) == body["total"]
    assert round(sum(i["final"] for i in body["indicators"]), 4) == parts["indicators"]
    assert body["counters"]["values"]["filings_approved"] == 4
    assert client.get(path, headers=auth(**JS_FILER)).status == 403
    assert (
        client.get(
            f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/SB-XX/explanation", headers=auth(**ADMIN)
        ).status
        == 404
    )


def test_an_excellent_project_attributed_to_a_base_adds_its_bonus_until_revoked(client, store, bases):
    filing_id = bases["js"][0]["id"]
    made = client.post(
        "/cycles/2024/excellent-projects",
        {"filing": filing_id, "reason": "部际联席会议认定"},
        headers=auth(**ADMIN),
    )
    assert made.status == 201, made.json
    store.at(CLOSED)

    def js(run_id):
        return client.get(
            f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/SB-JS/explanation", headers=auth(**ADMIN)
        ).json

    first = js(client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"])
    assert first["bonus"]["points"] == 2.0 and [
        p["filing"] for p in first["bonus"]["excellent_projects"]
    ] == [filing_id]
    assert (
        client.post(
            f"/cycles/2024/excellent-projects/{filing_id}/revoke",
            {"reason": "重复申报"},
            headers=auth(**ADMIN),
        ).status
        == 200
    )
    second = js(client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"])
    assert second["bonus"]["points"] == 0 and round(first["total"] - second["total"], 4) == 2.0


def test_a_bases_adjustment_with_its_reason_is_applied_by_later_runs_and_explained(client, store, bases):
    path = f"{BASES}/cycles/2024/adjustments"
    before = stored_items(store)
    for body, field in (
        ({"unit": "SB-XX", "points": 1, "reason": "x"}, "unit"),
        ({"unit": "SB-ZJ", "points": 1, "reason": "x", "indicator": "nope"}, "indicator"),
        ({"unit": "SB-ZJ", "points": 0, "reason": "x"}, "points"),
        ({"unit": "SB-ZJ", "points": 1}, "reason"),
    ):
        answer = client.post(path, body, headers=auth(**ADMIN))
        assert answer.status == 422 and answer.json["errors"][0]["field"] == field, answer.json
    assert (
        client.post(path, {"unit": "SB-ZJ", "points": 1, "reason": "x"}, headers=auth(**JS_FILER)).status
        == 403
    )
    assert stored_items(store) == before
    made = client.post(
        path, {"unit": "SB-ZJ", "points": 3, "reason": "核查补录服务成果"}, headers=auth(**ADMIN)
    )
    assert made.status == 201 and made.json["unit"] == "SB-ZJ", made.json
    assert [a["reason"] for a in client.get(path, headers=auth(**ADMIN)).json["items"]] == [
        "核查补录服务成果"
    ]
    assert (
        client.get("/cycles/2024/adjustments", headers=auth(**ADMIN)).json["items"] == []
    )  # the provinces' apart
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    explained = client.get(
        f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/SB-ZJ/explanation", headers=auth(**ADMIN)
    ).json
    assert (
        explained["total_is"]["total_adjustment"] == 3
        and explained["adjustments"][0]["reason"] == "核查补录服务成果"
    )


def test_a_populations_scores_export_as_csv_and_xlsx_with_the_same_visibility(client, store, bases):
    import csv
    import io

    from openpyxl import load_workbook

    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    assert client.get(f"{BASES}/cycles/2024/scores.csv").status == 404  # not published yet
    answer = client.get(f"{BASES}/cycles/2024/scores.csv", headers=auth(**ADMIN))
    assert answer.status == 200 and run_id in answer.headers["Content-Disposition"]
    text = answer.body.decode("utf-8") if isinstance(answer.body, bytes) else answer.body
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r[1] for r in rows[1:]] == ["SB-JS", "SB-ZJ"] and any("(views)" in h for h in rows[0])
    book = client.get(
        f"{BASES}/cycles/2024/scores.xlsx", headers={**auth(**ADMIN), "Accept": spreadsheets.XLSX_TYPE}
    )
    assert book.status == 200, book.body
    ranking = load_workbook(io.BytesIO(book.body))["排名"]
    assert ranking.max_row == 3 and ranking["B2"].value == "SB-JS"


def test_a_bases_flag_is_resolved_with_a_note_and_shown_in_its_explanation(client, store, bases):
    from chalicelib.core.models import Counter

    Counter(
        "UNIT#service_bases#SB-JS",
        "CYCLE#2024",
        n={"filings_approved": 40, "filings_approved_near_cutoff": 30},
    ).save()
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    unit = f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/SB-JS"
    assert client.get(f"{unit}/explanation", headers=auth(**ADMIN)).json["flags"][0]["resolution"] is None
    answer = client.post(
        f"{unit}/flag-resolutions",
        {"flag": 0, "resolution": "adjusted", "note": "集中补录", "points": -1},
        headers=auth(**ADMIN),
    )
    assert answer.status == 201 and answer.json["adjustment"], answer.json
    assert (
        client.post(
            f"{unit}/flag-resolutions",
            {"flag": 0, "resolution": "dismissed", "note": "x"},
            headers=auth(**ADMIN),
        ).status
        == 409
    )
    shown = client.get(f"{unit}/explanation", headers=auth(**ADMIN)).json["flags"][0]["resolution"]
    assert shown["resolution"] == "adjusted" and shown["note"] == "集中补录"
    adjusted = client.get(f"{BASES}/cycles/2024/adjustments", headers=auth(**ADMIN)).json["items"]
    assert [(a["unit"], a["points"]) for a in adjusted] == [("SB-JS", -1.0)]


# ---- usage anomalies of a base (spikes, bursts, swarms), as the provinces' ------------------------------


def explained(client, run_id, code):
    path = f"{BASES}/cycles/2024/scoring-runs/{run_id}/units/{code}"
    return path, client.get(f"{path}/explanation", headers=auth(**ADMIN)).json


def test_a_spike_in_the_views_of_a_bases_result_flags_the_base_with_its_months_explained(
    client, store, bases, settle
):
    filing = bases["js"][0]["id"]
    for month in ("2023-11", "2023-12", "2024-01"):  # the history: a view a month
        store.at(f"{month}-10T10:00:00+08:00")
        view(client, filing, "reader-history")
    store.at("2024-03-05T10:00:00+08:00")
    for _ in range(110):
        store.clock.advance(seconds=31)  # each one a counted click (COUNTER's 30 s double-click rule)
        view(client, filing, "reader-spike")
    settle()
    assert running_counters.drift() == []
    base_months = running_counters.months(counting_rules.unit_pk("service_bases#SB-JS"))
    assert base_months["2024-03"]["views_total"] == 110 and base_months["2023-11"]["views_total"] == 1
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    path, js = explained(client, run_id, "SB-JS")
    assert [f["kind"] for f in js["flags"]] == ["usage_spike"], js["flags"]
    assert (
        "views_total in 2024-03 was 110" in js["flags"][0]["detail"] and js["flags"][0]["resolution"] is None
    )
    assert js["flag_evidence"]["months"]["2024-03"] == {"views_total": 110, "downloads_total": 0}
    assert explained(client, run_id, "SB-ZJ")[1]["flags"] == []
    answer = client.post(
        f"{path}/flag-resolutions",
        {"flag": 0, "resolution": "confirmed", "note": "推广活动带来的真实访问"},
        headers=auth(**ADMIN),
    )
    assert answer.status == 201, answer.json
    shown = explained(client, run_id, "SB-JS")[1]["flags"][0]["resolution"]
    assert shown["resolution"] == "confirmed" and shown["note"] == "推广活动带来的真实访问"


def test_a_swarm_on_a_bases_results_is_flagged_for_it_however_its_facts_are_delivered(client, store, bases):
    tap = StreamTap(store.stream_arn)  # from the stream's start: the fixture's records come again too

    def count(records):
        deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records)

    store.at("2024-06-01T10:00:00+08:00")
    for i in range(20):  # new accounts, a second apart, each giving 5 to three of the base's results
        store.clock.advance(seconds=1)
        who = dict(sub=f"puppet-{i:02d}", role="user", side="enterprise")
        for filing in bases["js"][:3]:
            answer = client.put(f"/filings/{filing['id']}/evaluation", {"score": 5}, headers=auth(**who))
            assert answer.status == 200, answer.json
    records = tap.take()
    count(records[::-1])  # newest first
    count(tap.history)  # and every record once more
    assert running_counters.drift() == []
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    js = explained(client, run_id, "SB-JS")[1]
    flagged = {f["kind"]: f for f in js["flags"]}
    assert set(flagged) == {"puppet_swarm", "puppet_extreme_scores"}, js["flags"]
    puppets = sorted(pseudonyms.of(f"puppet-{i:02d}", "2024") for i in range(20))
    assert sorted(flagged["puppet_swarm"]["evidence"]["accounts"]) == puppets
    assert flagged["puppet_swarm"]["evidence"]["share"] == 1.0
    assert js["flag_evidence"]["accounts"]["evaluations"]["total"] == 60
    assert explained(client, run_id, "SB-ZJ")[1]["flags"] == []


def test_evaluations_of_a_bases_results_from_a_few_accounts_are_a_burst_of_that_base(client, store, bases):
    from chalicelib.core.models import Counter

    zj = counting_rules.account_pk(counting_rules.unit_pk("service_bases#SB-ZJ"), "2024")
    Counter(zj, "sock-1", n={"evaluations": 25, "evaluation_score_sum": 125}).save()
    Counter(zj, "sock-2", n={"evaluations": 10, "evaluation_score_sum": 50}).save()
    store.at(CLOSED)
    run_id = client.post(f"{BASES}/cycles/2024/scoring-runs", headers=auth(**ADMIN)).json["run_id"]
    assert [f["kind"] for f in explained(client, run_id, "SB-ZJ")[1]["flags"]] == ["evaluations_burst"]
    assert explained(client, run_id, "SB-JS")[1]["flags"] == []
