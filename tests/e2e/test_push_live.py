"""On the running local stack (HTTP, moto, the stream poller): an approval reaches a
subscriber's feed within seconds, with no manual drain, and can be evaluated from there."""

from __future__ import annotations

import time
import uuid

PUSH_WITHIN_SECONDS = 5.0


def test_a_subscriber_sees_an_approved_result_within_seconds_and_evaluates_it(api):
    reader = api.token(role="user", side="enterprise", sub=f"reader-{uuid.uuid4().hex[:8]}")
    filer = api.token(role="filer", province="330000", sub="filer-zj")
    admin = api.token(role="national_admin", sub="admin")
    assert api.put("/me/subscriptions", {"industries": ["3"]}, token=reader).status == 200
    body = {
        "kind": "database",
        "title": "新材料专题数据库",
        "province": "330000",
        "unit": "浙江省知识产权局",
        "industry": "3",
    }
    created = api.post("/filings", body, token=filer)
    assert created.status == 201, created.text
    filing_id = created.json["id"]
    assert api.post(f"/filings/{filing_id}/review", {"decision": "approve"}, token=admin).status == 200

    approved, items = time.monotonic(), []
    while time.monotonic() - approved < PUSH_WITHIN_SECONDS and not items:
        items = [i for i in api.get("/me/feed", token=reader).json["items"] if i["filing"] == filing_id]
        time.sleep(0.1)
    assert items, f"not in the feed {PUSH_WITHIN_SECONDS} s after approval"
    assert items[0]["evaluated"] is False

    assert api.put(items[0]["links"]["evaluation"], {"score": 5}, token=reader).status == 200
    assert api.get("/me/feed", token=reader).json["items"][0]["my_score"] == 5
