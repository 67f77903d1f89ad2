"""Revisions: a province corrects and resubmits, withdraws before approval, changes an approved record
under review; filers are told every decision."""

from __future__ import annotations

import uuid

from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.support import report_body

FILER = dict(sub="filer-320000", role="filer", province="320000")
ADMIN = dict(sub="admin", role="national_admin")
USER = dict(sub="reader-1", role="user", side="enterprise")


def filed(client, **overrides) -> dict:
    created = client.post("/filings", report_body(**overrides), headers=auth(**FILER))
    assert created.status == 201, created.json
    return created.json


def review(client, filing_id, decision, note=None):
    body = {"decision": decision} if note is None else {"decision": decision, "note": note}
    answer = client.post(f"/filings/{filing_id}/review", body, headers=auth(**ADMIN))
    assert answer.status == 200, answer.json
    return answer.json


def test_a_rejected_filing_is_corrected_resubmitted_and_approved_and_its_filer_is_told_each_time(
    client, store
):
    filing = filed(client)
    store.clock.advance(minutes=5)  # the audit trail orders by time; entries of one instant have no order
    review(client, filing["id"], "reject", "缺少产业分析章节")
    store.clock.advance(minutes=5)
    revised = client.post(
        f"/filings/{filing['id']}/revisions", report_body(summary="补充了产业分析章节"), headers=auth(**FILER)
    )
    assert revised.status == 200, revised.json
    assert (revised.json["status"], revised.json["revision"], revised.json["summary"]) == (
        "pending",
        2,
        "补充了产业分析章节",
    )
    store.clock.advance(minutes=5)
    assert review(client, filing["id"], "approve", "通过")["status"] == "approved"
    told = client.get("/me/notifications", headers=auth(**FILER)).json["items"]
    assert [(n["decision"], n["note"], n["revision"]) for n in told] == [
        ("approve", "通过", 2),
        ("reject", "缺少产业分析章节", 1),
    ]
    actions = [
        e["action"]
        for e in client.get(f"/filings/{filing['id']}/history", headers=auth(**FILER)).json["items"]
    ]
    assert actions == ["filed", "review:reject", "revised", "review:approve"]
    assert client.get("/me/notifications", headers=auth(**USER)).json["items"] == []


def test_a_change_to_an_approved_filing_is_reviewed_while_the_public_keeps_the_approved_version(
    client, settle
):
    filing = filed(client)
    review(client, filing["id"], "approve")
    views = {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "type": "view",
                "filing": filing["id"],
                "user_agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120",
            }
        ]
    }
    assert client.post("/events", views, headers=auth(**USER)).json["accepted"] == 1
    changed = client.post(
        f"/filings/{filing['id']}/revisions",
        report_body(title="新能源汽车产业专利导航报告（修订版）"),
        headers=auth(**FILER),
    )
    assert changed.status == 200 and changed.json["status"] == "approved" and changed.json["revision_pending"]
    public = client.get(f"/filings/{filing['id']}").json
    assert public["title"] == filing["title"] and public["revision"] == 1
    assert review(client, filing["id"], "approve")["title"] == "新能源汽车产业专利导航报告（修订版）"
    settle()
    after = client.get(f"/filings/{filing['id']}").json
    assert (after["revision"], after["revision_pending"]) == (2, False)
    assert (
        client.get(f"/filings/{filing['id']}/stats").json["views"]["total"] == 1
    )  # counters stay with the record
    assert running_counters.province_cycle("320000", "2024")["filings_approved"] == 1
    assert running_counters.drift() == []


def test_a_rejected_change_leaves_the_approved_version_in_place(client):
    filing = filed(client)
    review(client, filing["id"], "approve")
    client.post(
        f"/filings/{filing['id']}/revisions", report_body(title="改坏了的标题"), headers=auth(**FILER)
    )
    after = review(client, filing["id"], "reject", "标题不规范")
    assert (after["status"], after["title"], after["revision"], after["revision_pending"]) == (
        "approved",
        filing["title"],
        1,
        False,
    )


def test_a_pending_filing_can_be_withdrawn_but_an_approved_one_cannot(client):
    filing = filed(client)
    path = f"/filings/{filing['id']}"
    assert client.post(f"{path}/withdraw", headers=auth(**FILER)).json["status"] == "withdrawn"
    assert client.post(f"{path}/withdraw", headers=auth(**FILER)).status == 200  # idempotent
    assert client.post(f"{path}/revisions", report_body(), headers=auth(**FILER)).status == 409
    assert client.post(f"{path}/review", {"decision": "approve"}, headers=auth(**ADMIN)).status == 409
    approved = filed(client)
    review(client, approved["id"], "approve")
    assert client.post(f"/filings/{approved['id']}/withdraw", headers=auth(**FILER)).status == 409


def test_only_the_province_revises_and_a_revision_keeps_the_province(client):
    filing = filed(client)
    path = f"/filings/{filing['id']}/revisions"
    other = dict(sub="f-bj", role="filer", province="110000")
    assert client.post(path, report_body("110000"), headers=auth(**other)).status == 403
    moved = client.post(path, report_body("110000"), headers=auth(**FILER))
    assert moved.status == 422 and moved.json["errors"][0]["field"] == "province"
    assert client.post(path, report_body(), headers=auth(**USER)).status == 403
    assert client.get(f"/filings/{filing['id']}", headers=auth(**FILER)).json["revision"] == 1


def test_a_rejected_publication_is_corrected_and_resubmitted(client):
    body = {"kind": "news", "title": "导航成果发布", "province": "320000", "body": "初稿"}
    created = client.post("/publications", body, headers=auth(**FILER)).json
    client.post(
        f"/publications/{created['id']}/review",
        {"decision": "reject", "note": "正文过短"},
        headers=auth(**ADMIN),
    )
    revised = client.post(
        f"/publications/{created['id']}/revisions", {**body, "body": "完整正文"}, headers=auth(**FILER)
    )
    assert (revised.json["status"], revised.json["revision"], revised.json["body"]) == (
        "pending",
        2,
        "完整正文",
    )
    told = client.get("/me/notifications", headers=auth(**FILER)).json["items"]
    assert told[0]["entity"] == "publication" and told[0]["note"] == "正文过短"


def test_a_record_approved_before_versions_were_kept_lists_its_old_version_after_a_revision(client):
    from chalicelib.core.models import Filing

    filing = filed(client)
    review(client, filing["id"], "approve")
    stored = Filing.get(f"FILING#{filing['id']}", "A")
    stored.versions = None  # as records approved before this change were stored
    stored.save()
    client.post(f"/filings/{filing['id']}/revisions", report_body(title="修订版"), headers=auth(**FILER))
    review(client, filing["id"], "approve")
    versions = client.get(f"/filings/{filing['id']}/versions").json["items"]
    assert [(v["revision"], v["current"]) for v in versions] == [(1, False), (2, True)]
