"""Bounds on what one caller can create (core/config.py, kept by core/quotas.py): hitting one is a
409 or 429 problem and stores nothing; notifications keep the newest."""

from __future__ import annotations

from datetime import timedelta

import requests

from chalicelib.core import config, quotas
from chalicelib.core.models import Record
from chalicelib.documents import notifications
from tests.conftest import auth
from tests.support import approved_filing, assert_problem, report_body, stored_items
from tests.support.documents import FILER, PDF, declaration, filed


def put_bytes(started: dict, data: bytes) -> None:
    put = started["upload"]
    assert requests.put(put["url"], data=data, headers=put["headers"], timeout=10).status_code == 200


def declare(client, filing_id: str, data: bytes = PDF):
    return client.post(f"/filings/{filing_id}/files", declaration(data), headers=auth(**FILER))


def test_a_record_holds_at_most_its_bound_of_files(client, store):
    filing = filed(client)["id"]
    for n in range(config.MAX_FILES_PER_RECORD):
        data = PDF + str(n).encode()
        started = declare(client, filing, data)
        assert started.status == 201, (n, started.json)
        put_bytes(started.json, data)
        assert client.post(started.json["links"]["complete"], headers=auth(**FILER)).status == 200
    before = stored_items(store)
    assert_problem(declare(client, filing), 409)
    assert stored_items(store) == before
    files = client.get(f"/filings/{filing}/files", headers=auth(**FILER)).json["items"]
    assert len(files) == config.MAX_FILES_PER_RECORD


def test_completions_racing_past_the_files_bound_are_refused_by_the_tally(client, store, monkeypatch):
    monkeypatch.setattr(config, "MAX_FILES_PER_RECORD", 2)
    filing = filed(client)["id"]
    started = []
    for n in range(3):  # all declared while the record had no file
        data = PDF + str(n).encode()
        answer = declare(client, filing, data)
        assert answer.status == 201
        put_bytes(answer.json, data)
        started.append(answer.json)
    for one in started[:2]:
        assert client.post(one["links"]["complete"], headers=auth(**FILER)).status == 200
    monkeypatch.setattr(
        quotas, "used", lambda *a: 0
    )  # the early check missed it: only the transaction decides
    before = stored_items(store)
    assert_problem(client.post(started[2]["links"]["complete"], headers=auth(**FILER)), 409)
    assert stored_items(store) == before
    assert len(client.get(f"/filings/{filing}/files", headers=auth(**FILER)).json["items"]) == 2


def test_a_province_has_at_most_its_bound_of_pending_uploads_until_they_complete_or_expire(
    client, store, monkeypatch
):
    monkeypatch.setattr(config, "MAX_PENDING_UPLOADS_PER_PROVINCE", 3)
    filings = [filed(client)["id"] for _ in range(2)]
    pending = [declare(client, filings[n % 2], PDF + str(n).encode()) for n in range(3)]
    assert all(p.status == 201 for p in pending)
    before = stored_items(store)
    problem = assert_problem(declare(client, filings[1]), 409)
    assert "3 uploads" in problem["detail"] and stored_items(store) == before
    assert declare_zj(client).status == 201  # another province has its own bound
    put_bytes(pending[0].json, PDF + b"0")
    assert client.post(pending[0].json["links"]["complete"], headers=auth(**FILER)).status == 200
    assert declare(client, filings[0]).status == 201  # a completed upload frees its slot
    assert_problem(declare(client, filings[0]), 409)
    store.at(store.clock.now() + timedelta(minutes=16))  # declarations expire with their upload URL
    assert declare(client, filings[0]).status == 201


def declare_zj(client):
    zj = dict(sub="filer-330000", role="filer", province="330000")
    filing = client.post(
        "/filings",
        {
            "kind": "report",
            "title": "浙江报告",
            "province": "330000",
            "unit": "浙江省知识产权局",
            "industry": "5",
            "report_type": "industry_planning",
        },
        headers=auth(**zj),
    ).json
    return client.post(f"/filings/{filing['id']}/files", declaration(), headers=auth(**zj))


def test_a_user_posts_at_most_its_bound_of_comments_on_one_filing_in_one_china_day(client, store):
    store.at("2024-05-15T23:30:00+08:00")
    filing, other = approved_filing(client)["id"], approved_filing(client)["id"]
    reader = auth(sub="chatty", role="user", side="enterprise")
    for n in range(config.MAX_COMMENTS_PER_DAY):
        assert client.post(f"/filings/{filing}/comments", {"text": f"意见 {n}"}, headers=reader).status == 201
    before = stored_items(store)
    assert_problem(client.post(f"/filings/{filing}/comments", {"text": "再一条"}, headers=reader), 429)
    assert stored_items(store) == before
    assert client.post(f"/filings/{other}/comments", {"text": "另一个成果"}, headers=reader).status == 201
    assert (
        client.post(
            f"/filings/{filing}/comments",
            {"text": "别人"},
            headers=auth(sub="other", role="user", side="enterprise"),
        ).status
        == 201
    )
    store.at("2024-05-16T00:00:01+08:00")  # a new China day
    assert client.post(f"/filings/{filing}/comments", {"text": "次日"}, headers=reader).status == 201


def test_a_user_keeps_the_newest_notifications_up_to_the_bound(client, store, monkeypatch):
    monkeypatch.setattr(config, "NOTIFICATIONS_KEPT_PER_USER", 3)
    filing = filed(client)["id"]
    admin = auth(sub="admin", role="national_admin")
    for n in range(5):
        store.at(store.clock.now() + timedelta(minutes=1))
        note = f"第{n}次"
        assert (
            client.post(
                f"/filings/{filing}/review", {"decision": "reject", "note": note}, headers=admin
            ).status
            == 200
        )
        assert client.post(f"/filings/{filing}/revisions", report_body(), headers=auth(**FILER)).status == 200
    told = client.get("/me/notifications?limit=10", headers=auth(**FILER)).json["items"]
    assert [n["note"] for n in told] == ["第4次", "第3次", "第2次"]
    assert len(list(Record.query(notifications.pk(FILER["sub"])))) == 3


def test_an_organisation_has_at_most_its_bound_of_open_invitations(client, store, monkeypatch):
    monkeypatch.setattr(config, "MAX_OPEN_INVITATIONS_PER_ORGANISATION", 3)
    admin = auth(sub="admin", role="national_admin")
    org = client.post(
        "/organisations",
        {"kind": "demonstration_enterprise", "name": "某企业", "industries": ["5"]},
        headers=admin,
    ).json["id"]
    path = f"/organisations/{org}/invitations"
    codes = [client.post(path, {"valid_days": 1 + n}, headers=admin).json["code"] for n in range(3)]
    before = stored_items(store)
    assert_problem(client.post(path, {}, headers=admin), 409)
    assert stored_items(store) == before
    member = auth(sub="joiner", role="user", side="enterprise")
    assert client.post(f"/invitations/{codes[1]}/accept", headers=member).status in (200, 201)
    assert client.post(path, {}, headers=admin).status == 201  # a used code frees its slot
    assert_problem(client.post(path, {}, headers=admin), 409)
    store.at(store.clock.now() + timedelta(days=1, minutes=1))  # the first code expired
    assert client.post(path, {}, headers=admin).status == 201
