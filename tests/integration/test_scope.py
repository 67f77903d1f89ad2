"""Scope fields on filings (completion date, project period, funding) and a province's funded-projects list:
a result completed outside its cycle's window is out of scope with the reason shown, and counted apart."""

from __future__ import annotations

import pytest

from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.support import ADMIN_JS, FILER, NATIONAL, USER, report_body, stored_items

ADMIN_ZJ = dict(sub="admin-zj", role="province_admin", province="330000")


def file_and_approve(client, **scope):
    created = client.post("/filings", report_body(**scope), headers=auth(**FILER))
    assert created.status == 201, created.json
    reviewed = client.post(
        f"/filings/{created.json['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL)
    )
    assert reviewed.status == 200
    return reviewed.json


def test_a_result_completed_outside_its_cycles_window_is_out_of_scope_with_the_reason_and_counted_apart(
    pipeline,
):
    client, settle, _ = pipeline  # the clock stands in cycle 2024 (2023-10-01 to 2024-09-30)
    early = file_and_approve(
        client, completed_on="2023-05-01", project_start="2022-01-01", project_end="2023-05-01"
    )
    assert early["cycle"] == "2024" and "before the cycle 2024 window" in early["out_of_scope"]
    inside = file_and_approve(
        client, completed_on="2024-03-01", funding_source="local_fiscal", funding_amount=1_200_000
    )
    assert inside["out_of_scope"] is None and inside["funding_amount"] == 1_200_000
    undated = file_and_approve(client)
    assert undated["out_of_scope"] is None  # no completion date: cannot be judged, stays in
    settle()
    approved = client.get("/provinces/320000/activity?cycle=2024").json["approved"]
    assert approved["filings_approved"] == 2 and approved["filings_approved_out_of_scope"] == 1
    assert approved["funding_approved"] == 1_200_000
    assert running_counters.drift() == []


@pytest.mark.parametrize(
    "scope,field",
    [
        ({"completed_on": "2024-02-30"}, "completed_on"),
        ({"completed_on": "2024/03/01"}, "completed_on"),
        ({"project_start": "2024-03-01", "project_end": "2024-01-01"}, "project_end"),
        ({"funding_amount": 100}, "funding_source"),
        ({"funding_source": "lottery"}, "funding_source"),
        ({"funding_source": "enterprise", "funding_amount": -1}, "funding_amount"),
    ],
)
def test_bad_scope_fields_are_refused_naming_the_field(client, store, scope, field):
    before = stored_items(store)
    answer = client.post("/filings", report_body(**scope), headers=auth(**FILER))
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]], answer.json
    assert stored_items(store) == before


def test_a_filing_takes_a_funding_proof_file(client):
    created = client.post(
        "/filings",
        report_body(funding_source="central_fiscal", funding_amount=500_000),
        headers=auth(**FILER),
    ).json
    answer = client.post(
        f"/filings/{created['id']}/files",
        {
            "name": "资金拨付文件.pdf",
            "purpose": "funding_proof",
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
        },
        headers=auth(**FILER),
    )
    assert answer.status == 201 and answer.json["file"]["purpose"] == "funding_proof"


def projects(*numbers):
    return {
        "projects": [
            {"number": n, "title": f"项目{n}", "funding_source": "local_fiscal", "amount": 100_000}
            for n in numbers
        ]
    }


def test_a_province_uploads_its_funded_projects_and_sees_which_have_no_filing(client):
    named = client.post("/filings", report_body(funded_project="JS-1"), headers=auth(**FILER)).json
    withdrawn = client.post("/filings", report_body(funded_project="JS-3"), headers=auth(**FILER)).json
    client.post(f"/filings/{withdrawn['id']}/withdraw", headers=auth(**FILER))
    answer = client.put(
        "/provinces/320000/funded-projects/2024", projects("JS-1", "JS-2", "JS-3"), headers=auth(**ADMIN_JS)
    )
    assert answer.status == 200, answer.json
    assert answer.json["unfiled"] == 2
    assert [(p["number"], p["filing"]) for p in answer.json["items"]] == [
        ("JS-1", {"id": named["id"], "status": "pending"}),
        ("JS-2", None),
        ("JS-3", None),
    ]
    national = client.get("/provinces/320000/funded-projects/2024", headers=auth(**NATIONAL))
    assert national.status == 200 and national.json["unfiled"] == 2


def test_the_funded_projects_list_may_be_sent_as_csv(client):
    text = "number,title,funding_source,amount\r\nJS-9,专利导航项目,central_fiscal,300000\r\nJS-10,数据库建设,,\r\n"
    answer = client.call(
        "PUT",
        "/provinces/320000/funded-projects/2024",
        raw=text.encode(),
        headers={**auth(**ADMIN_JS), "Content-Type": "text/csv"},
    )
    assert answer.status == 200, answer.json
    assert [(p["number"], p.get("amount")) for p in answer.json["items"]] == [
        ("JS-9", 300000),
        ("JS-10", None),
    ]
    bad = client.call(
        "PUT",
        "/provinces/320000/funded-projects/2024",
        raw=b"a,b\r\n1,2\r\n",
        headers={**auth(**ADMIN_JS), "Content-Type": "text/csv"},
    )
    assert bad.status == 422


def test_funded_projects_are_refused_to_other_provinces_and_plain_users(client, store):
    before = stored_items(store)
    assert (
        client.put(
            "/provinces/320000/funded-projects/2024", projects("JS-1"), headers=auth(**ADMIN_ZJ)
        ).status
        == 403
    )
    assert (
        client.put("/provinces/320000/funded-projects/2024", projects("JS-1"), headers=auth(**FILER)).status
        == 403
    )
    assert client.put("/provinces/320000/funded-projects/2024", projects("JS-1")).status == 401
    dup = client.put(
        "/provinces/320000/funded-projects/2024", projects("JS-1", "JS-1"), headers=auth(**ADMIN_JS)
    )
    assert dup.status == 422 and dup.json["errors"][0]["field"] == "projects.1.number"
    assert (
        client.put(
            "/provinces/320000/funded-projects/2019", projects("JS-1"), headers=auth(**ADMIN_JS)
        ).status
        == 404
    )
    assert stored_items(store) == before
    client.put("/provinces/320000/funded-projects/2024", projects("JS-1"), headers=auth(**ADMIN_JS))
    assert client.get("/provinces/320000/funded-projects/2024", headers=auth(**USER)).status == 403
    assert client.get("/provinces/320000/funded-projects/2024", headers=auth(**ADMIN_ZJ)).status == 403
    assert client.get("/provinces/330000/funded-projects/2024", headers=auth(**ADMIN_ZJ)).status == 404
