"""Bulk import of filings from the template: every row judged like a single filing, a dry run that
stores nothing, a commit that files each reference once, progress, province scope."""

from __future__ import annotations

import base64
import csv
import io
import time

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib.core import spreadsheets
from chalicelib.documents import imports
from local_stack import moto_store
from tests.conftest import auth
from tests.support.documents import import_csv, upload

FILER = dict(sub="filer-320000", role="filer", province="320000")
OTHER = dict(sub="filer-110000", role="filer", province="110000")
ADMIN = dict(sub="admin", role="national_admin")


def row(n: int, **overrides) -> dict:
    base = {
        **dict.fromkeys(imports.COLUMNS, ""),
        "reference": f"JS-{n:04d}",
        "kind": "report",
        "title": f"导航报告 {n}",
        "province": "320000",
        "unit": "江苏省知识产权局",
        "industry": "5",
        "report_type": "industry_planning",
        "fiscal_funded": "否",
        "summary": "",
        "proves": "",
        "access_url": "",
    }
    return {**base, **overrides}


def send(client, rows, dry_run: bool, who=FILER, fmt="csv", content=None):
    return client.post(
        "/filings/imports",
        {"format": fmt, "content_base64": content or import_csv(rows), "dry_run": dry_run},
        headers=auth(**who),
    )


def province_filings(client) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get(
            "/filings?province=320000&limit=200" + (f"&cursor={cursor}" if cursor else ""),
            headers=auth(**FILER),
        ).json
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


@pytest.fixture
def flat_store():
    """The local stack's moto adapter: stock moto copies the whole table per transaction item."""
    was = moto_store._installed
    moto_store.install()
    yield
    if not was:
        moto_store.uninstall()


def commit_all(client, rows) -> tuple[list[dict], list[dict], list[float]]:
    """Send the sheet until nothing remains: every row's result, the jobs, each request's seconds."""
    results, jobs, seconds = {}, [], []
    while True:
        started = time.perf_counter()
        answer = send(client, rows, dry_run=False)
        seconds.append(time.perf_counter() - started)
        assert answer.status == 200, answer.json
        results.update(
            {
                r["reference"]: r
                for r in answer.json["filings"]
                if r["created"] or r["reference"] not in results
            }
        )
        jobs.append(answer.json["job"])
        if answer.json["remaining"] == 0:
            return list(results.values()), jobs, seconds


# sheet row numbers: the header is row 1, data row n is sheet row n + 1
BAD = {
    10: ("kind", {"kind": "poster"}),
    20: ("title", {"title": ""}),
    30: ("province", {"province": "110000"}),
    40: ("reference", {"reference": "JS-0001"}),
    50: ("fiscal_funded", {"fiscal_funded": "maybe"}),
    60: ("report_type", {"kind": "tool", "report_type": "industry_planning"}),
    70: ("title", {"title": "\u202eevil"}),
}


def test_a_500_row_sheet_with_errors_dry_runs_with_exactly_those_errors_then_commits_once(
    flat_store, client, store
):
    rows = [row(n) for n in range(1, 501)]
    for n, (_field, change) in BAD.items():
        rows[n - 1] = {**rows[n - 1], **change}
    dry = send(client, rows, dry_run=True)
    assert dry.status == 200 and dry.json["rows"] == 500 and dry.json["valid"] == 500 - len(BAD)
    assert sorted((p["row"], p["field"]) for p in dry.json["problems"]) == sorted(
        (n + 1, field) for n, (field, _change) in BAD.items()
    )
    duplicate = next(p for p in dry.json["problems"] if p["row"] == 41)
    assert duplicate["message"] == "also on row 2"
    assert province_filings(client) == []

    refused = send(client, rows, dry_run=False)
    assert refused.status == 422 and len(refused.json["errors"]) == len(BAD)
    assert {"field": "rows.11.kind", "message": refused.json["errors"][0]["message"]} in refused.json[
        "errors"
    ]
    assert province_filings(client) == []

    good = [r for n, r in enumerate(rows, start=1) if n not in BAD]
    results, jobs, seconds = commit_all(client, good)
    print(f"\n493 filings in {len(seconds)} commits: " + ", ".join(f"{s:.1f}" for s in seconds) + " s")
    assert len(seconds) == 5 and [j["created"] for j in jobs] == [100, 100, 100, 100, 93]
    assert len(results) == 493 and {j["state"] for j in jobs} == {"done"}
    assert results[0]["links"]["files"] == f"/filings/{results[0]['id']}/files"
    stored = province_filings(client)
    assert len(stored) == 493 and {f["status"] for f in stored} == {"pending"}
    assert {f["id"] for f in stored} == {r["id"] for r in results}

    again = send(client, good, dry_run=False)
    assert again.status == 200 and again.json["remaining"] == 0
    assert not any(r["created"] for r in again.json["filings"]) and again.json["job"]["to_file"] == 0
    assert {r["reference"]: r["id"] for r in again.json["filings"]} == {
        r["reference"]: r["id"] for r in results
    }
    assert len(province_filings(client)) == 493

    listed = client.get("/provinces/320000/filing-imports", headers=auth(**FILER)).json["items"]
    assert sorted(j["created"] for j in listed) == [0, 93, 100, 100, 100, 100]


def test_files_follow_a_created_filing_through_the_usual_presigned_flow(client):
    committed = send(client, [row(1)], dry_run=False).json
    filing_id = committed["filings"][0]["id"]
    assert upload(client, "filing", filing_id).status == 200
    files = client.get(f"/filings/{filing_id}/files", headers=auth(**FILER)).json["items"]
    assert len(files) == 1


def test_a_filer_imports_for_their_own_province_only(client):
    answer = send(client, [row(1), row(2)], dry_run=True, who=OTHER)
    assert [(p["row"], p["field"]) for p in answer.json["problems"]] == [(2, "province"), (3, "province")]
    assert send(client, [row(1)], dry_run=False, who=OTHER).status == 422
    assert province_filings(client) == []
    assert client.get("/provinces/320000/filing-imports", headers=auth(**OTHER)).status == 403
    user = dict(sub="u", role="user", side="enterprise")
    assert send(client, [row(1)], dry_run=True, who=user).status == 403


def test_the_templates_are_the_columns_the_import_reads(client):
    text = client.get("/filings/import-template.csv")
    assert text.status == 200 and text.headers["Content-Type"].startswith("text/csv")
    body = text.body.decode("utf-8-sig") if isinstance(text.body, bytes) else text.body.lstrip("\ufeff")
    assert next(csv.reader(io.StringIO(body))) == list(imports.COLUMNS)
    book = client.get("/filings/import-template.xlsx", headers={"Accept": spreadsheets.XLSX_TYPE})
    sheet = load_workbook(io.BytesIO(book.body)).active
    assert [c.value for c in sheet[1]] == list(imports.COLUMNS)
    # the template's own example row imports as it is
    assert (
        send(client, [], dry_run=True, fmt="xlsx", content=base64.b64encode(book.body).decode()).json[
            "problems"
        ]
        == []
    )


def test_an_xlsx_sheet_commits_like_a_csv_one(client):
    book = Workbook()
    sheet = book.active
    sheet.append(list(imports.COLUMNS))
    sheet.append([row(7)[c] for c in imports.COLUMNS])
    sheet.append([row(8, fiscal_funded="是")[c] for c in imports.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    answer = send(client, [], dry_run=False, fmt="xlsx", content=base64.b64encode(out.getvalue()).decode())
    assert answer.status == 200 and [r["reference"] for r in answer.json["filings"]] == ["JS-0007", "JS-0008"]
    assert {f["fiscal_funded"] for f in province_filings(client)} == {False, True}


def test_sheets_that_are_not_the_template_are_refused_naming_the_content(client):
    for content in (
        "not base64!",
        base64.b64encode(b"a,b\n1,2\n").decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        base64.b64encode(b"PK\x03\x04junk").decode(),
    ):
        for fmt in ("csv", "xlsx"):
            answer = send(client, [], dry_run=True, fmt=fmt, content=content)
            assert answer.status == 422 and answer.json["errors"][0]["field"] == "content_base64"
    too_many = [row(n) for n in range(1, imports.MAX_ROWS + 2)]
    assert send(client, too_many, dry_run=True).status == 422


def test_a_proof_row_must_name_an_existing_filing_like_a_single_filing(client):
    proof = row(3, kind="application_proof", report_type="", proves="no-such-filing")
    answer = send(client, [row(1), proof], dry_run=True)
    assert [(p["row"], p["field"]) for p in answer.json["problems"]] == [(3, "proves")]
