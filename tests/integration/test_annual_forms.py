"""Annual information forms: the 15–31 October window (China time, to the second), who may
file and read them, validation, the audit trail, and their use by scoring."""

from __future__ import annotations

import hashlib

import pytest
import requests

from chalicelib.core import audit
from tests.conftest import auth
from tests.support.documents import JS_ADMIN, PATH, PDF, declaration, form


@pytest.mark.parametrize(
    "instant", ["2024-10-15T00:00:00+08:00", "2024-10-31T23:59:59+08:00", "2024-10-14T16:00:00+00:00"]
)
def test_a_form_is_accepted_from_15_to_31_october_china_time_inclusive(store, client, instant):
    store.at(instant)
    answer = client.put(PATH, form(), headers=JS_ADMIN)
    assert answer.status == 201, answer.json
    assert answer.json["form"]["carriers"][0]["name"] == "江苏省产业专利导航服务基地"


def test_before_the_window_the_problem_says_when_it_opens(store, client):
    store.at("2024-10-14T23:59:59+08:00")
    answer = client.put(PATH, form(), headers=JS_ADMIN)
    assert answer.status == 409 and answer.headers["Content-Type"].startswith("application/problem+json")
    assert "opens at 2024-10-15T00:00:00+08:00" in answer.json["detail"]
    assert answer.json["opens_at"] == "2024-10-15T00:00:00+08:00"


def test_after_the_window_the_problem_says_it_closed(store, client):
    store.at("2024-11-01T00:00:00+08:00")
    answer = client.put(PATH, form(), headers=JS_ADMIN)
    assert (
        answer.status == 409
        and "closed" in answer.json["detail"]
        and "31 October 2024" in answer.json["detail"]
    )


def test_a_form_for_another_year_is_outside_its_window(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    assert client.put("/provinces/320000/annual-forms/2025", form(), headers=JS_ADMIN).status == 409


def test_only_that_provinces_admin_may_file(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    assert client.put(PATH, form(), headers={"Content-Type": "application/json"}).status == 401
    assert client.put(PATH, form(), headers=auth(role="province_admin", province="110000")).status == 403
    assert client.put(PATH, form(), headers=auth(role="filer", province="320000")).status == 403
    assert client.put(PATH, form(), headers=auth(role="national_admin")).status == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"projects": {"declared": 3, "fiscal_funded": 5, "completed": 0}}, "projects"),
        ({"funding": {"provincial_funds": -1}}, "funding.provincial_funds"),
        ({"carriers": [{"name": "x", "type": "castle"}]}, "carriers.0.type"),
        ({"policies": [{"title": "x", "issued_on": "yesterday"}]}, "policies.0.issued_on"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_form_is_a_422_naming_the_field_and_stores_nothing(store, client, change, field):
    store.at("2024-10-20T10:00:00+08:00")
    answer = client.put(PATH, form(**change), headers=JS_ADMIN)
    assert answer.status == 422
    assert any(e["field"].startswith(field) for e in answer.json["errors"]), answer.json
    assert client.get(PATH, headers=JS_ADMIN).status == 404


def test_a_bad_year_or_province_is_a_4xx(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    assert client.put("/provinces/320000/annual-forms/24", form(), headers=JS_ADMIN).status == 422
    assert (
        client.get("/provinces/999999/annual-forms/2024", headers=auth(role="national_admin")).status == 404
    )


def test_every_put_is_audited_and_a_second_put_replaces_the_form(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    assert client.put(PATH, form(), headers=JS_ADMIN).status == 201
    store.clock.advance(hours=1)
    replaced = client.put(PATH, form(summary="修订"), headers=JS_ADMIN)
    assert replaced.status == 200 and replaced.json["revision"] == 2
    assert [e["action"] for e in audit.trail("annual_form", "320000/2024")] == ["created", "replaced"]
    assert client.get(PATH, headers=JS_ADMIN).json["form"]["summary"] == "修订"


def test_the_provinces_staff_and_national_admins_read_a_form_and_nobody_else(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    client.put(PATH, form(), headers=JS_ADMIN)
    assert client.get(PATH, headers=auth(role="filer", province="320000")).status == 200
    assert client.get(PATH, headers=auth(role="national_admin")).status == 200
    assert client.get(PATH).status == 401
    assert client.get(PATH, headers=auth(role="province_admin", province="110000")).status == 403
    assert client.get(PATH, headers=auth(role="user")).status == 403


def test_scoring_reads_the_form_of_the_year_the_cycle_closes(store, client):
    from chalicelib.core.models import Counter

    store.at("2024-10-20T10:00:00+08:00")
    client.put(PATH, form(), headers=JS_ADMIN)
    Counter("PROV#320000", "CYCLE#2024", n={"filings_approved": 20, "filings_approved_fiscal": 6}).save()
    store.at("2024-12-31T23:00:00+08:00")
    admin = auth(role="national_admin")
    assert client.post("/cycles/2024/scoring-runs", headers=admin).status == 201
    js = next(
        p
        for p in client.get("/cycles/2024/scores", headers=admin).json["provinces"]
        if p["province"] == "320000"
    )
    assert js["inputs"]["form_year"] == 2024
    assert js["indicators"]["fiscal_completeness"]["score"] == 0.5  # 6 filed of 12 declared
    assert js["indicators"]["annual_form"]["points"] == 4.0
    assert js["indicators"]["form_completeness"]["score"] == 1.0


def _scored_funding(client, admin) -> tuple[dict, dict]:
    """Score cycle 2024 now: Jiangsu's funding indicator and the explanation of its input."""
    run_id = client.post("/cycles/2024/scoring-runs", headers=admin).json["run_id"]
    explained = client.get(f"/cycles/2024/scoring-runs/{run_id}/units/320000/explanation", headers=admin).json
    funding = next(i for i in explained["indicators"] if i["id"] == "funding")
    return funding, funding["inputs"][0]


def test_funding_figures_count_only_with_a_funding_proof_and_the_explanation_says_why(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    assert client.put(PATH, form(), headers=JS_ADMIN).status == 201  # 850.5 + 120 declared, no proof
    store.at("2024-12-31T23:00:00+08:00")
    admin = auth(role="national_admin")
    funding, source = _scored_funding(client, admin)
    assert (funding["value"], funding["points"], source["value"]) == (0.0, 0.0, 0)
    assert "970.5" in source["not_counted"] and "funding_proof" in source["not_counted"]
    chinese = _scored_funding(client, {**admin, "Accept-Language": "zh-CN"})[1]["not_counted"]
    assert chinese == "2024 年度信息表填报 970.5，但未附 funding_proof 文件：补充证明材料前按 0 计"
    filer = auth(sub="filer-js", role="filer", province="320000")
    started = client.post(
        f"{PATH}/files", declaration(name="资金拨付.pdf", purpose="funding_proof"), headers=filer
    )
    put = started.json["upload"]
    assert requests.put(put["url"], data=PDF, headers=put["headers"], timeout=10).status_code == 200
    assert client.post(started.json["links"]["complete"], headers=filer).status == 200
    funding, source = _scored_funding(client, admin)
    assert funding["value"] == 970.5 and funding["points"] > 0
    assert source["value"] == 970.5 and "not_counted" not in source


# ---- oversight: the national overview, reopening one province's window, reminders -------------

NATIONAL = auth(sub="boss", role="national_admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZJ_ADMIN = auth(sub="admin-zj", role="province_admin", province="330000")


def test_the_national_overview_shows_all_32_units_with_status_time_and_completeness(store, client):
    store.at("2024-10-20T10:00:00+08:00")
    client.put(PATH, form(), headers=JS_ADMIN)
    client.put("/provinces/330000/annual-forms/2024", form(carriers=[], policies=[]), headers=ZJ_ADMIN)
    overview = client.get("/annual-forms/2024", headers=NATIONAL)
    assert overview.status == 200 and len(overview.json["items"]) == 32 and overview.json["submitted"] == 2
    by_code = {i["province"]: i for i in overview.json["items"]}
    assert (by_code["320000"]["status"], by_code["320000"]["submitted_at"]) == (
        "submitted",
        "2024-10-20T10:00:00+08:00",
    )
    assert by_code["320000"]["completeness"] > by_code["330000"]["completeness"] > 0
    assert (by_code["110000"]["status"], by_code["110000"]["completeness"]) == ("missing", 0.0)
    book = client.get("/annual-forms/2024/overview.xlsx", headers={**NATIONAL, "Accept": XLSX})
    assert book.status == 200 and book.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(book.body)).active.iter_rows(values_only=True))
    assert len(rows) == 33 and rows[1][0] == "110000" and "320000" in {r[0] for r in rows}
    for who in (JS_ADMIN, auth(sub="u", role="user")):
        assert client.get("/annual-forms/2024", headers=who).status == 403
        assert client.get("/annual-forms/2024/overview.xlsx", headers=who).status == 403


def test_a_national_admin_reopens_the_window_for_one_province_with_a_reason_and_a_deadline(store, client):
    store.at("2024-11-03T10:00:00+08:00")
    assert client.put(PATH, form(), headers=JS_ADMIN).status == 409
    reopened = client.post(
        "/provinces/320000/annual-forms/2024/reopen",
        {"reason": "系统故障未能按时提交", "until": "2024-11-10T23:59:59+08:00"},
        headers=NATIONAL,
    )
    assert reopened.status == 200, reopened.json
    late = client.put(PATH, form(), headers=JS_ADMIN)
    assert late.status == 201 and late.json["late"] is True
    assert (
        client.put("/provinces/330000/annual-forms/2024", form(), headers=ZJ_ADMIN).status == 409
    )  # only that one
    # The reopening and the form share the frozen test instant: their order in the trail is the ids'.
    reopening = {e["action"]: e for e in audit.trail("annual_form", "320000/2024")}["reopened"]
    assert reopening["data"]["reason"] == "系统故障未能按时提交"
    item = {i["province"]: i for i in client.get("/annual-forms/2024", headers=NATIONAL).json["items"]}[
        "320000"
    ]
    assert item["late"] is True and item["reopened"]["until"] == "2024-11-10T23:59:59+08:00"
    store.at("2024-11-11T00:00:00+08:00")
    assert client.put(PATH, form(), headers=JS_ADMIN).status == 409  # the new deadline passed


@pytest.mark.parametrize(
    "body,field",
    [
        ({"reason": "x", "until": "2024-11-01T00:00:00+08:00"}, "until"),  # not in the future
        ({"reason": "x", "until": "2025-03-01T00:00:00+08:00"}, "until"),  # beyond 60 days
        ({"until": "2024-11-10T00:00:00+08:00"}, "reason"),
    ],
)
def test_a_reopening_needs_a_reason_and_a_near_future_deadline(store, client, body, field):
    store.at("2024-11-03T10:00:00+08:00")
    answer = client.post("/provinces/320000/annual-forms/2024/reopen", body, headers=NATIONAL)
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]]


def test_only_national_admins_reopen_a_window(store, client):
    store.at("2024-11-03T10:00:00+08:00")
    body = {"reason": "x", "until": "2024-11-10T00:00:00+08:00"}
    for who in (JS_ADMIN, ZJ_ADMIN, auth(sub="u", role="user")):
        assert client.post("/provinces/320000/annual-forms/2024/reopen", body, headers=who).status == 403
    assert client.put(PATH, form(), headers=JS_ADMIN).status == 409


def test_the_closing_reminder_goes_only_to_provinces_whose_form_is_not_in(store, client):
    from chalicelib.scoring import reminders

    store.at("2024-10-20T10:00:00+08:00")
    client.put(PATH, form(), headers=JS_ADMIN)
    store.at("2024-10-30T00:01:00+08:00")
    assert reminders.remind_province_admins(store.clock.now()) == 31
    assert client.get("/me/notifications", headers=JS_ADMIN).json["items"] == []
    told = client.get("/me/notifications", headers=ZJ_ADMIN).json["items"]
    assert [n["topic"] for n in told] == ["annual_form_window_closing"]


@pytest.mark.parametrize("day,days_left", [(16, 14), (28, 2)])
def test_every_province_is_reminded_of_the_30_september_filing_cutoff_14_and_2_days_before(
    store, client, day, days_left
):
    from chalicelib.scoring import reminders

    store.at(f"2024-09-{day}T00:01:00+08:00")
    assert reminders.remind_province_admins(store.clock.now()) == 32
    assert reminders.remind_province_admins(store.clock.now()) == 0
    told = client.get("/me/notifications", headers=ZJ_ADMIN).json["items"]
    assert [(n["topic"], n["cycle"], n["days_left"], n["cutoff"]) for n in told] == [
        ("filing_cutoff", "2024", days_left, "2024-10-01T00:00:00+08:00")
    ]


def test_a_province_attaches_proofs_of_its_scored_figures_read_by_its_staff_and_national_admins(
    store, client
):
    filer = dict(sub="filer-js", role="filer", province="320000")
    started = client.post(
        f"{PATH}/files",
        {
            "name": "资金拨付.pdf",
            "purpose": "funding_proof",
            "content_type": "application/pdf",
            "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(),
        },
        headers=auth(**filer),
    )
    assert started.status == 201, started.json
    put = started.json["upload"]
    assert requests.put(put["url"], data=PDF, headers=put["headers"], timeout=10).status_code == 200
    done = client.post(started.json["links"]["complete"], headers=auth(**filer))
    assert done.status == 200 and done.json["links"]["download"].startswith(f"{PATH}/files/")
    assert [f["id"] for f in client.get(f"{PATH}/files", headers=NATIONAL).json["items"]] == [done.json["id"]]
    assert client.get(done.json["links"]["download"], headers=NATIONAL).status == 303
    for who in (ZJ_ADMIN, auth(sub="u", role="user")):
        assert client.get(f"{PATH}/files", headers=who).status == 404
        assert client.get(done.json["links"]["download"], headers=who).status == 404
    other = client.post(
        f"{PATH}/files",
        {
            "name": "a.pdf",
            "purpose": "funding_proof",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
        },
        headers=ZJ_ADMIN,
    )
    assert other.status == 403
    report = client.post(
        f"{PATH}/files",
        {
            "name": "a.pdf",
            "purpose": "report",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
        },
        headers=JS_ADMIN,
    )
    assert report.status == 422 and report.json["errors"][0]["field"] == "purpose"
