"""The issue's "done when", on the running local stack (HTTP, moto, stream poller, schedules):
an invited enterprise user accepts, is pushed a result of its field, is assigned the candidate
and evaluates it, and the national admin sees the completion; a run is published, announced
and superseded with a reason, and the public sees the new one and the history both."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import composition
from chalicelib.core.clock import FixedClock, parse_instant

PUSH_WITHIN_SECONDS = 5.0


def _cycles(api) -> dict[str, str]:
    """status → newest cycle id with that status."""
    out: dict[str, str] = {}
    for c in api.get("/cycles").json["items"]:
        out[c["status"]] = c["id"]
    return out


def _wait_for(predicate, seconds: float = PUSH_WITHIN_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    return predicate()


def test_an_invited_enterprise_user_is_pushed_assigned_and_evaluates_and_the_admin_sees_it(api):
    tag = uuid.uuid4().hex[:8]
    admin = api.token(role="national_admin", sub="admin")
    gd_admin = api.token(role="province_admin", province="440000", sub="gd-admin")
    filer = api.token(role="filer", province="440000", sub="gd-filer")
    member = api.token(role="user", sub=f"ent-{tag}")  # no side claim: it comes from the organisation
    cycle = _cycles(api)["open"]

    org = api.post(
        "/organisations",
        {"kind": "demonstration_enterprise", "name": f"优势示范企业{tag}", "industries": ["7"]},
        token=admin,
    )
    assert org.status == 201, org.text
    invitation = api.post(f"/organisations/{org.json['id']}/invitations", {"valid_days": 7}, token=admin).json
    accepted = api.post(invitation["links"]["accept"], token=member)
    assert accepted.status == 200 and accepted.json["side"] == "enterprise", accepted.text

    body = {
        "kind": "report",
        "title": f"节能环保产业专利导航{tag}",
        "province": "440000",
        "unit": "广东省知识产权局",
        "industry": "7",
        "report_type": "industry_planning",
    }
    filing_id = api.post("/filings", body, token=filer).json["id"]
    assert api.post(f"/filings/{filing_id}/review", {"decision": "approve"}, token=admin).status == 200
    pushed = _wait_for(
        lambda: [i for i in api.get("/me/feed", token=member).json["items"] if i["filing"] == filing_id]
    )
    assert pushed, "the member was not pushed the result of its field"

    assert api.put(f"/cycles/{cycle}/declarations/{filing_id}", token=gd_admin).status == 201
    for i in range(3):  # the screening rule: at least 3 online evaluations
        reader = api.token(role="user", side="government", sub=f"reader-{tag}-{i}")
        assert api.put(f"/filings/{filing_id}/evaluation", {"score": 4}, token=reader).status == 200
    api.drain()
    screened = {i["filing"]: i for i in api.get(f"/cycles/{cycle}/screening", token=admin).json["items"]}
    assert screened[filing_id]["eligible"], screened[filing_id]
    assert api.post(f"/cycles/{cycle}/candidates", {"filing": filing_id}, token=admin).status == 201
    assigned = api.post(
        f"/cycles/{cycle}/candidates/{filing_id}/assignments", {"evaluators": [f"ent-{tag}"]}, token=admin
    )
    assert assigned.status == 200, assigned.text

    mine = api.get("/me/assignments", token=member).json["items"]
    assert [a["filing"] for a in mine] == [filing_id]
    assert api.get("/me/feed", token=member).json["items"][0]["assigned"] is True
    assert (
        api.put(
            mine[0]["links"]["evaluation"], {"score": 5, "feedback": "可直接用于企业专利布局"}, token=member
        ).status
        == 200
    )
    seen = api.get(f"/cycles/{cycle}/assignments?filing={filing_id}", token=admin).json
    assert seen["by_candidate"][filing_id] == {"assigned": 1, "completed": 1}
    assert seen["by_evaluator"][f"ent-{tag}"] == {"assigned": 1, "completed": 1}
    api.drain()
    stats = api.get(f"/filings/{filing_id}/stats").json
    assert stats["evaluations"]["by_side"]["enterprise"]["count"] == 1


def test_a_published_run_is_announced_then_superseded_with_a_reason(api):
    admin = api.token(role="national_admin", sub="admin")
    cycle = _cycles(api)["closed"]
    first = api.post(f"/cycles/{cycle}/scoring-runs", token=admin).json["run_id"]
    # Another test may have published this cycle already: a reason lets this run supersede it.
    published = api.post(f"/cycles/{cycle}/scoring-runs/{first}/publish", {"reason": "年度结果"}, token=admin)
    assert published.status == 200, published.text
    notice = api.get(f"/cycles/{cycle}/announcement").json
    assert notice["run_id"] == first and "公布" in notice["notice"]["title"]

    second = api.post(f"/cycles/{cycle}/scoring-runs", token=admin).json["run_id"]
    refused = api.post(f"/cycles/{cycle}/scoring-runs/{second}/publish", token=admin)
    assert refused.status == 409 and refused.headers["Content-Type"] == "application/problem+json"
    corrected = api.post(
        f"/cycles/{cycle}/scoring-runs/{second}/publish", {"reason": "核查后更正浏览数据"}, token=admin
    )
    assert corrected.status == 200, corrected.text

    assert api.get(f"/cycles/{cycle}/scores").json["run_id"] == second
    newest = api.get(f"/cycles/{cycle}/announcement").json
    assert newest["run_id"] == second and newest["reason"] == "核查后更正浏览数据"
    assert newest["supersedes"]["run_id"] == first
    history = api.get(f"/cycles/{cycle}/announcements").json["items"]
    assert [(h["run_id"], h["current"]) for h in history[:2]] == [(second, True), (first, False)]
    listed = api.get(f"/cycles/{cycle}/announcement/excellent-projects?industry=7")
    assert listed.status == 200 and listed.json["run_id"] == second
    trail = api.get(f"/cycles/{cycle}/announcements/history", token=admin).json["items"]
    assert trail[-1]["action"] == "superseded" and trail[-1]["data"]["reason"] == "核查后更正浏览数据"


def test_a_run_over_service_bases_ranks_them_with_their_own_scheme(api):
    tag = uuid.uuid4().hex[:6].upper()
    admin = api.token(role="national_admin", sub="admin")
    cycle = _cycles(api)["open"]
    bases = {"320000": f"SB-JS-{tag}", "330000": f"SB-ZJ-{tag}"}
    for province, code in bases.items():
        made = api.post(
            "/populations/service_bases/units",
            {"code": code, "name": f"{code} 国家级专利导航服务基地", "province": province},
            token=admin,
        )
        assert made.status == 201, made.text
    for province, count in (("320000", 3), ("330000", 1)):
        filer = api.token(role="filer", province=province, sub=f"filer-{province}")
        for i in range(count):
            body = {
                "kind": "database",
                "title": f"专题数据库{tag}-{i}",
                "province": province,
                "unit": "服务基地",
                "industry": "2",
            }
            filing_id = api.post("/filings", body, token=filer).json["id"]
            attributed = api.put(
                f"/filings/{filing_id}/attribution",  # before approval
                {"population": "service_bases", "unit": bases[province]},
                token=filer,
            )
            assert attributed.status == 200, attributed.text
            assert (
                api.post(f"/filings/{filing_id}/review", {"decision": "approve"}, token=admin).status == 200
            )
            if province == "320000":  # the JS base's results are read: that usage is the base's too
                view = {
                    "events": [
                        {
                            "id": str(uuid.uuid4()),
                            "type": "view",
                            "filing": filing_id,
                            "user_agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120",
                        }
                    ]
                }
                assert (
                    api.post("/events", view, token=api.token(role="user", sub=f"reader-{tag}")).status == 202
                )
    api.drain()
    started = api.post(f"/populations/service_bases/cycles/{cycle}/scoring-runs", token=admin)
    assert started.status == 201, started.text
    scores = api.get(
        f"/populations/service_bases/cycles/{cycle}/scores?run_id={started.json['run_id']}", token=admin
    ).json
    ranked = [u["unit"] for u in scores["units"] if u["unit"] in bases.values()]
    assert ranked == [bases["320000"], bases["330000"]]
    assert "服务基地" in scores["scheme_name"] and "annual_form" not in scores["units"][0]["indicators"]
    mine = next(u for u in scores["units"] if u["unit"] == bases["320000"])
    assert mine["inputs"]["counters"]["filings_approved_database"] == 3
    assert mine["inputs"]["counters"]["views_unique"] == 3 and mine["indicators"]["views"]["points"] > 0
    explained = api.get(
        f"/populations/service_bases/cycles/{cycle}/scoring-runs/{started.json['run_id']}/units/"
        f"{bases['320000']}/explanation",
        token=admin,
    ).json
    parts = explained["total_is"]
    assert (
        round(parts["indicators"] + parts["bonus"] + parts["total_adjustment"], 4)
        == explained["total"]
        == mine["total"]
    )


@pytest.fixture
def app_clock(api):
    """The stack's app clock, held still and moved by the test; the stack's own clock after it."""
    clock = FixedClock(datetime.now(UTC))
    composition.override(clock=clock)
    yield clock
    api.stack.ensure()  # reinstalls the stack's services, its clock included


def test_a_full_cycle_from_declaration_to_announcement_and_a_revocation_that_supersedes_it(api, app_clock):
    tag = uuid.uuid4().hex[:8]
    admin = api.token(role="national_admin", sub="admin")
    fj_admin = api.token(role="province_admin", province="350000", sub="fj-admin")
    filer = api.token(role="filer", province="350000", sub="fj-filer")
    member = api.token(role="user", sub=f"inst-{tag}")
    cycle = _cycles(api)["closed"]
    window = next(c for c in api.get("/cycles").json["items"] if c["id"] == cycle)
    app_clock.set(
        parse_instant(window["ends_before"]) - timedelta(days=60)
    )  # mid-cycle, the selection's time

    def approved(title):
        body = {
            "kind": "report",
            "title": title,
            "province": "350000",
            "unit": "福建省知识产权局",
            "industry": "4",
            "report_type": "industry_planning",
        }
        filing_id = api.post("/filings", body, token=filer).json["id"]
        assert api.post(f"/filings/{filing_id}/review", {"decision": "approve"}, token=admin).status == 200
        return filing_id

    org = api.post(
        "/organisations",
        {"kind": "research_institute", "name": f"研究院{tag}", "industries": ["4"]},
        token=admin,
    ).json
    code = api.post(f"/organisations/{org['id']}/invitations", {"valid_days": 7}, token=admin).json["code"]
    assert api.post(f"/invitations/{code}/accept", token=member).status == 200

    # 参与意愿: only what the province declared is screened in.
    filing_id, undeclared = approved(f"生物产业专利导航{tag}"), approved(f"未申报{tag}")
    refused = api.post(f"/cycles/{cycle}/candidates", {"filing": undeclared}, token=admin)
    assert refused.status == 422 and "has not declared it" in refused.json["errors"][0]["message"]
    assert api.put(f"/cycles/{cycle}/declarations/{filing_id}", token=fj_admin).status == 201
    # 初筛 → 推送至用户端: no evaluations needed yet; the field's invited organisation is pushed it.
    screened = {i["filing"]: i for i in api.get(f"/cycles/{cycle}/screening", token=admin).json["items"]}
    assert screened[filing_id]["eligible"], screened[filing_id]
    assert api.post(f"/cycles/{cycle}/candidates", {"filing": filing_id}, token=admin).status == 201
    assert _wait_for(
        lambda: [
            i
            for i in api.get("/me/feed", token=member).json["items"]
            if i["filing"] == filing_id and i.get("candidate")
        ]
    )
    # 组织线上评价: an assignment with a due date, then evaluations.
    assigned = api.post(
        f"/cycles/{cycle}/candidates/{filing_id}/assignments", {"evaluators": [f"inst-{tag}"]}, token=admin
    )
    assert assigned.status == 200 and assigned.json["items"][0]["due"], assigned.text
    assert api.put(f"/filings/{filing_id}/evaluation", {"score": 5}, token=member).status == 200
    for i in range(2):
        reader = api.token(role="user", side="enterprise", sub=f"reader-{tag}-{i}")
        assert api.put(f"/filings/{filing_id}/evaluation", {"score": 4}, token=reader).status == 200
    api.drain()
    # 备选案例库
    cut = api.post(f"/cycles/{cycle}/candidate-library", token=admin)
    assert cut.status == 200 and filing_id in cut.json["shortlisted"], cut.text
    # 专家评选: a named panel of five experts of the field from other provinces, three of whom score;
    # the province's own expert can neither sit on it nor score.
    homes = ("110000", "440000", "310000", "420000", "510000", "350000")
    experts = [f"expert-{tag}-{i}" for i in range(len(homes))]
    for sub, home in zip(experts, homes):
        assert api.put(f"/experts/{sub}/fields", {"industries": ["4"]}, token=admin).status == 200
        assert api.put(f"/experts/{sub}/home-province", {"province": home}, token=admin).status == 200
    panel = f"/cycles/{cycle}/candidates/{filing_id}/panel"
    conflicted = api.put(panel, {"experts": experts}, token=admin)
    assert conflicted.status == 422 and conflicted.json["errors"][0]["field"] == "experts.5", conflicted.text
    assert api.put(panel, {"experts": experts[:5]}, token=admin).status == 200
    for i, sub in enumerate((*experts[:3], experts[5])):
        scored = api.put(
            f"/cycles/{cycle}/candidates/{filing_id}/expert-score",
            {"score": 80 + i},
            token=api.token(role="expert", sub=sub),
        )
        assert scored.status == (403 if sub == experts[5] else 200), scored.text
    decided = api.post(f"/cycles/{cycle}/candidates/{filing_id}/confirm", token=admin)
    assert decided.status == 200 and decided.json["status"] == "selected", decided.text
    assert api.post(f"/cycles/{cycle}/excellent-projects", {"filing": undeclared}, token=admin).status == 422

    app_clock.set(parse_instant(window["ends_before"]) + timedelta(days=40))  # closed: final runs
    run = api.post(f"/cycles/{cycle}/scoring-runs", token=admin).json["run_id"]
    fujian = next(
        p
        for p in api.get(f"/cycles/{cycle}/scores?run_id={run}", token=admin).json["provinces"]
        if p["province"] == "350000"
    )
    assert fujian["excellent_projects"] >= 1 and fujian["bonus"] > 0
    # 公示 and 异议期: the province reads its own explanation, objects, and the upheld objection
    # changes the score only through an adjustment and a superseding run.
    opened = api.post(f"/cycles/{cycle}/scoring-runs/{run}/provisional-publication", token=admin)
    assert opened.status == 201, opened.text
    own = api.get(f"/cycles/{cycle}/scoring-runs/{run}/units/350000/explanation", token=fj_admin)
    assert own.status == 200 and own.json["total"] == fujian["total"], own.text
    shown = own.json["bonus"]["excellent_projects"]
    assert [p["panel"]["size"] for p in shown if p["filing"] == filing_id] == [5]
    assert (
        api.get(f"/cycles/{cycle}/scoring-runs/{run}/units/440000/explanation", token=fj_admin).status == 403
    )
    objection = api.post(
        f"/cycles/{cycle}/objections", {"reason": "评价数据遗漏", "files": ["proof-1"]}, token=fj_admin
    )
    assert objection.status == 201, objection.text
    early = api.post(f"/cycles/{cycle}/scoring-runs/{run}/publish", {"reason": "年度结果"}, token=admin)
    assert early.status == 409, early.text
    upheld = api.post(
        f"/cycles/{cycle}/objections/{objection.json['id']}/answer",
        {"decision": "upheld", "reason": "核实遗漏", "points": 1},
        token=admin,
    )
    assert upheld.status == 200, upheld.text
    run = upheld.json["answer"]["run_id"]
    corrected = api.get(f"/cycles/{cycle}/scoring-runs/{run}/units/350000/explanation", token=fj_admin).json
    assert round(corrected["total"] - fujian["total"], 2) == 1.0
    assert corrected["adjustments"][-1]["reason"].endswith("核实遗漏")
    app_clock.set(parse_instant(opened.json["closes_at"]))
    published = api.post(f"/cycles/{cycle}/scoring-runs/{run}/publish", {"reason": "年度结果"}, token=admin)
    assert published.status == 200, published.text
    announced = api.get(f"/cycles/{cycle}/announcement").json["excellent_projects"]
    assert [(p["source"], p["panel_size"]) for p in announced if p["filing"] == filing_id] == [
        ("selection", 5)
    ]

    # Revoked with a reason: a later run leaves its bonus out and supersedes the published one.
    revoked = api.post(
        f"/cycles/{cycle}/excellent-projects/{filing_id}/revoke", {"reason": "成果与他人重复"}, token=admin
    )
    assert revoked.status == 200, revoked.text
    later = api.post(f"/cycles/{cycle}/scoring-runs", token=admin).json["run_id"]
    after = next(
        p
        for p in api.get(f"/cycles/{cycle}/scores?run_id={later}", token=admin).json["provinces"]
        if p["province"] == "350000"
    )
    assert after["excellent_projects"] == fujian["excellent_projects"] - 1
    assert (
        api.post(
            f"/cycles/{cycle}/scoring-runs/{later}/publish", {"reason": "撤销优秀项目"}, token=admin
        ).status
        == 200
    )
    newest = api.get(f"/cycles/{cycle}/announcement").json
    assert newest["run_id"] == later and filing_id not in [p["filing"] for p in newest["excellent_projects"]]
    told = api.get("/me/notifications", token=fj_admin).json["items"]
    assert {
        "excellent_project_selected",
        "excellent_project_revoked",
        "results_provisional",
        "objection_answered",
        "results_final",
    } <= {n["topic"] for n in told}
