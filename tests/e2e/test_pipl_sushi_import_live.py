"""Issue 23 on the running local stack (HTTP, moto, the stream poller): a 500-row import with errors
dry-runs and then commits once; SUSHI answers validate against the COUNTER schema; usage facts hold no
raw user id; a person's data is copied and erased, interleaved with others' new events, and a recount
still agrees."""

from __future__ import annotations

import uuid

import boto3

from chalicelib.usage import running_counters
from tests.support.documents import BROWSER, import_csv
from tests.support.sushi import schema_errors


def test_a_500_row_sheet_with_errors_dry_runs_then_commits_once(api):
    filer = api.token(role="filer", province="330000", sub="filer-zj")
    prefix = uuid.uuid4().hex[:6]
    rows = [
        {
            "reference": f"{prefix}-{n}",
            "kind": "report",
            "title": f"浙江导航报告 {n}",
            "province": "330000",
            "unit": "浙江省知识产权局",
            "industry": "3",
            "report_type": "other",
            "fiscal_funded": "是",
            "summary": "",
            "proves": "",
            "access_url": "",
        }
        for n in range(500)
    ]
    rows[7]["kind"], rows[99]["province"] = "poster", "110000"
    dry = api.post(
        "/filings/imports",
        {"format": "csv", "content_base64": import_csv(rows), "dry_run": True},
        token=filer,
    )
    assert dry.status == 200 and [(p["row"], p["field"]) for p in dry.json["problems"]] == [
        (9, "kind"),
        (101, "province"),
    ]
    good = [r for n, r in enumerate(rows) if n not in (7, 99)]
    body = {"format": "csv", "content_base64": import_csv(good), "dry_run": False}
    created = 0
    while True:
        answer = api.post("/filings/imports", body, token=filer)
        assert answer.status == 200, answer.text
        created += answer.json["job"]["created"]
        if answer.json["remaining"] == 0:
            break
    assert created == 498
    again = api.post("/filings/imports", body, token=filer).json
    assert again["job"]["created"] == 0 and len(again["filings"]) == 498


def test_sushi_answers_validate_and_usage_facts_hold_no_raw_user_id(api):
    filer = api.token(role="filer", province="350000", sub="filer-fj")
    admin = api.token(role="national_admin", sub="admin")
    sub = f"reader-{uuid.uuid4().hex[:8]}"
    reader = api.token(role="user", side="enterprise", sub=sub)
    filing = api.post(
        "/filings",
        {
            "kind": "report",
            "title": "福建导航报告",
            "province": "350000",
            "unit": "福建省知识产权局",
            "industry": "2",
            "report_type": "other",
        },
        token=filer,
    ).json
    assert api.post(f"/filings/{filing['id']}/review", {"decision": "approve"}, token=admin).status == 200
    view = {
        "events": [{"id": str(uuid.uuid4()), "type": "view", "filing": filing["id"], "user_agent": BROWSER}]
    }
    assert api.post("/events", view, token=reader).status == 202
    assert api.put(f"/filings/{filing['id']}/like", token=reader).status == 200
    assert api.put(f"/filings/{filing['id']}/favorite", token=reader).status == 200
    assert api.post(f"/filings/{filing['id']}/comments", {"text": "有用"}, token=reader).status == 201
    assert api.put(f"/filings/{filing['id']}/evaluation", {"score": 5}, token=reader).status == 200

    status = api.get("/sushi/r51/status")
    assert status.status == 200 and schema_errors(status.json, "Status_List") == []
    report = api.get("/sushi/r51/reports?customer_id=350000", token=filer)
    assert report.status == 200 and schema_errors(report.json, "Report_List") == []
    last = report.json[0]["Last_Month_Available"]
    for path, model in (("pr", "PR"), ("ir", "IR")):
        answer = api.get(
            f"/sushi/r51/reports/{path}?customer_id=350000&begin_date={last}&end_date={last}", token=filer
        )
        assert answer.status == 200 and schema_errors(answer.json, model) == []
    refused = api.get(f"/sushi/r51/reports/pr?customer_id=350000&begin_date={last}", token=filer)
    assert refused.status == 400 and schema_errors(refused.json, "Error_400") == []

    dynamodb = boto3.client(
        "dynamodb",
        region_name=api.stack.services.settings.region,
        endpoint_url=api.stack.moto_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    items = dynamodb.scan(TableName=api.stack.services.settings.facts_table)["Items"]
    usage = [i for i in items if i["pk"]["S"].startswith(("EVENT#", "CHAIN#"))]
    assert usage and "Chrome/120" not in repr(usage)
    kinds = {i["entity"]["S"] for i in items if i.get("user", {}).get("S", "").startswith("u1_")}
    assert {"event", "reaction", "comment", "evaluation"} <= kinds and sub not in repr(items)

    mine = api.get("/me/data", token=reader).json
    assert sorted(r["kind"] for r in mine["reactions"]) == ["favorite", "like"]
    assert len(mine["comments"]) == len(mine["evaluations"]) == 1
    others = [api.token(role="user", side="university", sub=f"{sub}-{n}") for n in range(3)]
    for n, other in enumerate(others):  # others' new acts interleave with the erasure
        view["events"][0]["id"] = str(uuid.uuid4())
        assert api.post("/events", view, token=other).status == 202
        assert api.put(f"/filings/{filing['id']}/like", token=other).status == 200
        if n == 1:
            erased = api.delete("/me/data", token=reader).json["erased"]
            assert (erased["reactions"], erased["comments"], erased["evaluations"]) == (2, 1, 1)
    assert api.get("/me/data", token=reader).json["reactions"] == []
    api.drain()
    stats = api.get(f"/filings/{filing['id']}/stats").json
    assert (stats["likes"], stats["favorites"], stats["comments"], stats["views"]["total"]) == (3, 0, 0, 4)
    facts = list(running_counters.facts())
    assert running_counters.drift(running_counters.recount(facts)) == []
