"""The issue's path on the running local stack (HTTP, moto's DynamoDB and S3, the stream poller):
a report PDF uploaded by presigned URL, approved, downloaded through the API and counted with
no event from the portal; a news item's views counted; feedback read by the province."""

from __future__ import annotations

import hashlib
import time
import uuid

import requests

BROWSER = "Mozilla/5.0 (Windows NT 10.0) Chrome/120"
SETTLE_SECONDS = 10.0


def settled(api, path: str, token: str, done) -> dict:
    """Read `path` until `done(answer)` (the stream poller runs on its own; no manual drain)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        answer = api.get(path, token=token).json
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_an_uploaded_report_is_downloaded_and_counted_without_the_portal_posting_anything(api):
    filer = api.token(role="filer", province="440000", sub="filer-gd")
    admin = api.token(role="national_admin", sub="admin")
    reader = api.token(role="user", side="enterprise", sub=f"reader-{uuid.uuid4().hex[:8]}")
    body = {
        "kind": "report",
        "title": "集成电路产业专利导航报告",
        "province": "440000",
        "unit": "广东省知识产权局",
        "industry": "5",
        "report_type": "industry_planning",
    }
    filing = api.post("/filings", body, token=filer).json
    pdf = b"%PDF-1.7\n" + "集成电路".encode() * 5000
    started = api.post(
        f"/filings/{filing['id']}/files",
        {
            "name": "集成电路导航报告.pdf",
            "purpose": "report",
            "content_type": "application/pdf",
            "size": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
        },
        token=filer,
    )
    assert started.status == 201, started.text
    upload = started.json["upload"]
    assert upload["url"].startswith(api.stack.moto_endpoint)  # moto's S3 inside `make run`
    assert requests.put(upload["url"], data=pdf, headers=upload["headers"], timeout=10).status_code == 200
    file = api.post(started.json["links"]["complete"], token=filer).json
    assert file["state"] == "stored"
    assert api.get(file["links"]["download"], token=reader).status == 404  # pending: not public yet
    assert api.post(f"/filings/{filing['id']}/review", {"decision": "approve"}, token=admin).status == 200

    answer = api.get(
        file["links"]["download"], token=reader, headers={"User-Agent": BROWSER}, redirects=False
    )
    assert answer.status == 303
    assert requests.get(answer.headers["Location"], timeout=10).content == pdf
    stats = settled(api, f"/filings/{filing['id']}/stats", reader, lambda s: s["downloads"]["total"] == 1)
    assert stats["downloads"] == {"total": 1, "unique": 1}


def test_a_news_items_views_count_and_feedback_reaches_the_province(api):
    filer = api.token(role="filer", province="510000", sub="filer-sc")
    admin = api.token(role="national_admin", sub="admin")
    reader = api.token(role="user", side="university", sub=f"reader-{uuid.uuid4().hex[:8]}")
    news = api.post(
        "/publications",
        {"kind": "news", "title": "四川发布专利导航成果", "province": "510000", "body": "正文"},
        token=filer,
    ).json
    assert api.post(f"/publications/{news['id']}/review", {"decision": "approve"}, token=admin).status == 200
    views = [
        {"id": str(uuid.uuid4()), "type": "view", "publication": news["id"], "user_agent": BROWSER}
        for _ in range(3)
    ]
    assert api.post("/events", {"events": views}, token=reader).json == {
        "accepted": 3,
        "duplicates": 0,
        "ignored": 0,
    }
    stats = settled(api, f"/publications/{news['id']}/stats", reader, lambda s: s["views"]["total"] == 1)
    assert stats["views"] == {"total": 1, "unique": 1}  # one request: one double-click chain

    body = {
        "kind": "tool",
        "title": "专利检索分析工具",
        "province": "510000",
        "unit": "四川省知识产权局",
        "industry": "5",
    }
    tool = api.post("/filings", body, token=filer).json
    api.post(f"/filings/{tool['id']}/review", {"decision": "approve"}, token=admin)
    assert (
        api.put(
            f"/filings/{tool['id']}/evaluation", {"score": 4, "feedback": "希望增加英文检索"}, token=reader
        ).status
        == 200
    )
    feed = api.get("/provinces/510000/feedback?side=university", token=filer).json["items"]
    assert [e["feedback"] for e in feed if e["filing"] == tool["id"]] == ["希望增加英文检索"]


def test_a_rejected_filing_is_corrected_resubmitted_and_approved_and_its_filer_saw_both_decisions(api):
    filer_sub = f"filer-hb-{uuid.uuid4().hex[:6]}"
    filer = api.token(role="filer", province="420000", sub=filer_sub)
    admin = api.token(role="national_admin", sub="admin")
    body = {
        "kind": "database",
        "title": "光电子专题数据库",
        "province": "420000",
        "unit": "湖北省知识产权局",
        "industry": "5",
    }
    filing = api.post("/filings", body, token=filer).json
    api.post(
        f"/filings/{filing['id']}/review", {"decision": "reject", "note": "请补充数据来源说明"}, token=admin
    )
    revised = api.post(
        f"/filings/{filing['id']}/revisions", {**body, "summary": "数据来源：国家知识产权局"}, token=filer
    )
    assert revised.json["status"] == "pending"
    assert (
        api.post(f"/filings/{filing['id']}/review", {"decision": "approve"}, token=admin).json["status"]
        == "approved"
    )
    told = api.get("/me/notifications", token=filer).json["items"]
    assert [(n["decision"], n["note"]) for n in told if n["id"] == filing["id"]] == [
        ("approve", None),
        ("reject", "请补充数据来源说明"),
    ]
