"""Files in S3: presigned uploads checked before they attach, downloads served and counted by the platform."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import requests

from chalicelib.core.models import UsageEvent
from chalicelib.documents import attachments
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.support import report_body, stored_items
from tests.support.documents import (
    ADMIN,
    BROWSER,
    FILER,
    PDF,
    approve,
    attached_filing,
    declaration,
    filed,
    upload,
)

USER = dict(sub="reader-1", role="user", side="enterprise")


def test_an_uploaded_report_is_listed_with_its_checksum_and_downloads_through_a_303(client, settle):
    filing, file = attached_filing(client)
    assert file["state"] == "stored" and file["sha256"] == hashlib.sha256(PDF).hexdigest()
    listed = client.get(f"/filings/{filing['id']}/files").json["items"]
    assert [f["id"] for f in listed] == [file["id"]] and listed[0]["size"] == len(PDF)
    assert client.get(f"/filings/{filing['id']}").json["files"][0]["id"] == file["id"]

    answer = client.get(file["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER})
    assert answer.status == 303
    fetched = requests.get(answer.headers["Location"], timeout=10)
    assert fetched.content == PDF
    assert "filename*=UTF-8''%E5%AF%BC" in fetched.headers["content-disposition"]
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["downloads"] == {"total": 1, "unique": 1}
    assert running_counters.drift() == [] and running_counters.order_problems() == []


def test_downloads_follow_the_counter_rules_robots_and_own_staff_do_not_count(client, settle, store):
    filing, file = attached_filing(client)
    path = file["links"]["download"]
    for who, agent in (
        (USER, BROWSER),
        (USER, BROWSER),
        (USER, "Googlebot/2.1"),
        (FILER, BROWSER),
        (dict(sub="admin-js", role="province_admin", province="320000"), BROWSER),
    ):
        assert client.get(path, headers={**auth(**who), "User-Agent": agent}).status == 303
    store.clock.advance(seconds=31)  # a new chain: a second total, same hour so not a second unique
    client.get(path, headers={**auth(**USER), "User-Agent": BROWSER})
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["downloads"] == {"total": 2, "unique": 1}
    stored = list(UsageEvent.scan(UsageEvent.entity == "event"))
    assert len(stored) == 6 and {e.file for e in stored} == {file["id"]}  # every download is kept
    assert running_counters.drift() == [] and running_counters.order_problems() == []


def test_a_client_download_event_is_malformed_and_rejects_the_whole_batch(client):
    filing, _ = attached_filing(client)
    batch = {
        "events": [
            {"id": str(uuid.uuid4()), "type": "view", "filing": filing["id"]},
            {"id": str(uuid.uuid4()), "type": "download", "filing": filing["id"]},
        ]
    }
    answer = client.post("/events", batch, headers=auth(**USER))
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "events.1.type"
    assert list(UsageEvent.scan(UsageEvent.entity == "event")) == []


def test_an_upload_never_completed_leaves_no_attachment(client):
    filing = filed(client)
    started = client.post(f"/filings/{filing['id']}/files", declaration(), headers=auth(**FILER))
    assert started.status == 201
    assert client.get(f"/filings/{filing['id']}/files", headers=auth(**FILER)).json["items"] == []
    early = client.post(started.json["links"]["complete"], headers=auth(**FILER))
    assert early.status == 409 and early.headers["Content-Type"] == "application/problem+json"
    file_id = started.json["file"]["id"]
    approve(client, "filing", filing["id"])
    assert client.get(f"/filings/{filing['id']}/files/{file_id}", headers=auth(**USER)).status == 404


def test_bytes_other_than_declared_are_refused_and_dropped(client, store):
    filing = filed(client)
    cheat = PDF[:-1] + b"X"  # same size, other bytes
    # S3 itself checks the signed checksum; the platform checks again on completion (moto does not).
    refused = upload(client, "filing", filing["id"], sent=cheat)
    assert refused.status == 422 and refused.json["errors"][0]["field"] == "sha256"
    assert client.get(f"/filings/{filing['id']}/files", headers=auth(**FILER)).json["items"] == []
    s3 = attachments.s3(store.settings)
    assert s3.list_objects_v2(Bucket=store.settings.files_bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"size": attachments.MAX_SIZE + 1}, "size"),
        ({"content_type": "application/x-msdownload"}, "content_type"),
        ({"purpose": "proof_scan", "content_type": "application/msword"}, "content_type"),
        ({"name": "../../etc/passwd"}, "name"),
        ({"sha256": "abc"}, "sha256"),
    ],
)
def test_a_declaration_outside_the_rules_is_refused_and_stores_nothing(client, overrides, field):
    filing = filed(client)
    answer = client.post(f"/filings/{filing['id']}/files", declaration(**overrides), headers=auth(**FILER))
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]]
    from chalicelib.core.models import Attachment

    assert list(Attachment.scan(Attachment.pk.startswith("FILES#"))) == []


def test_only_the_records_own_province_gets_upload_urls(client):
    filing = filed(client)
    path = f"/filings/{filing['id']}/files"
    assert (
        client.post(path, declaration(), headers=auth(sub="f", role="filer", province="110000")).status == 403
    )
    assert client.post(path, declaration(), headers=auth(**USER)).status == 403
    assert client.post(path, declaration()).status == 401
    assert client.post(f"/filings/{uuid.uuid4()}/files", declaration(), headers=auth(**FILER)).status == 404


def test_a_pending_records_files_are_not_served_to_the_public(client):
    filing = filed(client)
    file = upload(client, "filing", filing["id"]).json
    path = f"/filings/{filing['id']}/files/{file['id']}"
    assert client.get(path, headers=auth(**USER)).status == 404
    assert client.get(f"/filings/{filing['id']}/files", headers=auth(**USER)).status == 404
    assert client.get(path).status == 401
    assert client.get(path, headers=auth(**ADMIN)).status == 303  # reviewers read it before deciding
    assert list(UsageEvent.scan(UsageEvent.entity == "event")) == []  # nothing counted before approval


def test_an_approved_record_takes_no_new_files_without_a_revision(client):
    filing, _ = attached_filing(client)
    answer = client.post(f"/filings/{filing['id']}/files", declaration(), headers=auth(**FILER))
    assert answer.status == 409


CORRECTED = b"%PDF-1.7\n" + "新能源汽车产业专利导航报告（勘误版）".encode() * 200


def revise(client, filing, **changes):
    answer = client.post(f"/filings/{filing['id']}/revisions", report_body(**changes), headers=auth(**FILER))
    assert answer.status == 200 and answer.json["revision_pending"], answer.json
    return answer.json


def test_a_revision_replaces_an_approved_records_file_and_the_public_keeps_the_old_one_until_approval(
    client, settle, store
):
    filing, original = attached_filing(client)
    revise(client, filing, title="新能源汽车产业专利导航报告（勘误）")
    corrected = upload(client, "filing", filing["id"], CORRECTED, replaces=original["id"], name="勘误版.pdf")
    assert corrected.status == 200, corrected.json
    assert (corrected.json["revision"], corrected.json["replaces"]) == (2, original["id"])
    data = upload(
        client,
        "filing",
        filing["id"],
        b"a,b\n1,2\n",
        purpose="data",
        content_type="text/csv",
        name="样例.csv",
    ).json

    public = [f["id"] for f in client.get(f"/filings/{filing['id']}/files").json["items"]]
    assert public == [original["id"]]
    assert [f["id"] for f in client.get(f"/filings/{filing['id']}").json["files"]] == [original["id"]]
    assert client.get(corrected.json["links"]["download"], headers=auth(**USER)).status == 404
    assert (
        client.get(corrected.json["links"]["download"], headers=auth(**ADMIN)).status == 303
    )  # the reviewer reads it
    seen_by_public = client.get(f"/filings/{filing['id']}/versions").json["items"]
    assert [(v["revision"], v["current"]) for v in seen_by_public] == [(1, True)]
    staff = client.get(f"/filings/{filing['id']}/versions", headers=auth(**FILER)).json["items"]
    assert staff[-1]["pending"] is True
    assert {f["id"] for f in staff[-1]["files"]} == {corrected.json["id"], data["id"]}

    approve(client, "filing", filing["id"])
    current = {f["id"] for f in client.get(f"/filings/{filing['id']}/files").json["items"]}
    assert current == {corrected.json["id"], data["id"]}
    versions = client.get(f"/filings/{filing['id']}/versions").json["items"]
    assert [(v["revision"], v["current"]) for v in versions] == [(1, False), (2, True)]
    assert [f["id"] for f in versions[0]["files"]] == [original["id"]]
    # The old version stays downloadable and its downloads count to the record.
    for file_id in (original["id"], corrected.json["id"]):
        answer = client.get(
            f"/filings/{filing['id']}/files/{file_id}", headers={**auth(**USER), "User-Agent": BROWSER}
        )
        assert answer.status == 303
        store.clock.advance(seconds=31)  # past the double-click window
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["downloads"]["total"] == 2
    assert running_counters.drift() == []


def test_files_of_a_dropped_revision_never_join_the_record(client):
    filing, original = attached_filing(client)
    revise(client, filing, title="改坏了的标题")
    dropped = upload(client, "filing", filing["id"], CORRECTED, replaces=original["id"]).json
    assert (
        client.post(f"/filings/{filing['id']}/review", {"decision": "reject"}, headers=auth(**ADMIN)).status
        == 200
    )
    assert client.post(f"/filings/{filing['id']}/files", declaration(), headers=auth(**FILER)).status == 409
    revise(client, filing, title="新能源汽车产业专利导航报告（修订）")  # the same revision number again
    approve(client, "filing", filing["id"])
    assert [f["id"] for f in client.get(f"/filings/{filing['id']}/files").json["items"]] == [original["id"]]
    assert client.get(dropped["links"]["download"], headers=auth(**USER)).status == 404


def test_a_file_declared_for_a_revision_cannot_complete_after_that_revision_was_reviewed(client):
    filing, original = attached_filing(client)
    revise(client, filing, title="修订")
    started = client.post(
        f"/filings/{filing['id']}/files", declaration(CORRECTED), headers=auth(**FILER)
    ).json
    requests.put(started["upload"]["url"], data=CORRECTED, headers=started["upload"]["headers"], timeout=10)
    approve(client, "filing", filing["id"])
    assert client.post(started["links"]["complete"], headers=auth(**FILER)).status == 409


def test_a_revision_replaces_only_a_file_of_its_own_record(client):
    filing, _ = attached_filing(client)
    other, other_file = attached_filing(client)
    revise(client, filing, title="修订")
    for replaces in (other_file["id"], "nope"):
        answer = client.post(
            f"/filings/{filing['id']}/files", declaration(CORRECTED, replaces=replaces), headers=auth(**FILER)
        )
        assert answer.status == 422 and [e["field"] for e in answer.json["errors"]] == ["replaces"]
    other_province = dict(sub="f-zj", role="filer", province="330000")
    assert (
        client.post(
            f"/filings/{filing['id']}/files", declaration(CORRECTED), headers=auth(**other_province)
        ).status
        == 403
    )


def test_a_publication_carries_files_and_its_downloads_count(client, settle):
    created = client.post(
        "/publications",
        {"kind": "policy", "title": "专利导航政策", "province": "320000", "body": "政策全文见附件"},
        headers=auth(**FILER),
    )
    publication = created.json
    file = upload(client, "publication", publication["id"]).json
    approve(client, "publication", publication["id"])
    assert (
        client.get(file["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER}).status == 303
    )
    settle()
    assert client.get(f"/publications/{publication['id']}/stats").json["downloads"] == {
        "total": 1,
        "unique": 1,
    }
    assert client.get("/provinces/320000/activity?cycle=2024").json["publications"]["downloads"]["total"] == 1


def test_national_admins_attach_files_to_national_notices_only_and_the_public_downloads_them(
    client, settle, store
):
    notice = client.post(
        "/publications",
        {"kind": "notice", "title": "关于开展专利导航成果评价的通知", "body": "附件见下"},
        headers=auth(**ADMIN),
    ).json
    assert notice["status"] == "approved" and notice["province"] == "national"
    file = upload(client, "publication", notice["id"], who=ADMIN)
    assert file.status == 200, file.json
    listed = client.get(f"/publications/{notice['id']}/files").json["items"]
    assert [f["id"] for f in listed] == [file.json["id"]]
    answer = client.get(file.json["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER})
    assert answer.status == 303 and requests.get(answer.headers["Location"], timeout=10).content == PDF
    settle()
    assert client.get(f"/publications/{notice['id']}/stats").json["downloads"] == {"total": 1, "unique": 1}
    assert running_counters.drift() == []

    province_pub = client.post(
        "/publications",
        {"kind": "news", "title": "新闻", "province": "320000", "body": "正文"},
        headers=auth(**FILER),
    ).json
    filing = filed(client)
    before = stored_items(store)
    assert (
        client.post(f"/publications/{province_pub['id']}/files", declaration(), headers=auth(**ADMIN)).status
        == 403
    )
    assert (
        client.post(f"/publications/{notice['id']}/files", declaration(), headers=auth(**FILER)).status == 403
    )
    assert client.post(f"/filings/{filing['id']}/files", declaration(), headers=auth(**ADMIN)).status == 403
    assert (
        client.post(
            f"/publications/{notice['id']}/files", declaration(name="a/b.pdf"), headers=auth(**ADMIN)
        ).status
        == 422
    )
    assert stored_items(store) == before
    started = client.post(f"/publications/{notice['id']}/files", declaration(), headers=auth(**ADMIN)).json
    assert client.post(started["links"]["complete"], headers=auth(**FILER)).status == 403


def test_a_taken_down_national_notice_takes_no_files(client):
    notice = client.post(
        "/publications", {"kind": "notice", "title": "通知", "body": "正文"}, headers=auth(**ADMIN)
    ).json
    assert (
        client.post(
            f"/publications/{notice['id']}/takedown", {"reason": "已废止"}, headers=auth(**ADMIN)
        ).status
        == 200
    )
    assert (
        client.post(f"/publications/{notice['id']}/files", declaration(), headers=auth(**ADMIN)).status == 409
    )


def test_a_database_names_where_it_is_used_and_a_report_cannot(client):
    body = report_body(kind="database", report_type=None, access_url="https://db.example.gov.cn/nev")
    created = client.post("/filings", body, headers=auth(**FILER))
    assert created.status == 201 and created.json["access_url"] == "https://db.example.gov.cn/nev"
    description = upload(client, "filing", created.json["id"], purpose="description")
    assert description.status == 200 and description.json["purpose"] == "description"
    for bad in (report_body(access_url="https://x.cn"), {**body, "access_url": "javascript:alert(1)"}):
        answer = client.post("/filings", bad, headers=auth(**FILER))
        assert answer.status == 422 and answer.json["errors"][0]["field"] == "access_url"
