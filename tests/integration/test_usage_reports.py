"""Usage reports in the COUNTER R5.1 tabular shape (TSV, xlsx) and the national activity overview."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from chalicelib.core import spreadsheets
from chalicelib.core.errors import Invalid
from chalicelib.usage import running_counters, usage_reports
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.documents import BROWSER, attached_filing
from tests.support.usage import view

USER = dict(sub="reader-1", role="user", side="enterprise")
FILER = dict(sub="filer-320000", role="filer", province="320000")
XLSX = spreadsheets.XLSX_TYPE


def rows_of(tsv: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(tsv), delimiter="\t"))


def test_a_filings_report_has_the_r51_header_and_a_column_per_month(client, settle, store):
    filing, file = attached_filing(client)
    store.at("2024-04-10T10:00:00+08:00")
    view(client, USER, filing=filing["id"])
    store.at("2024-05-15T10:00:00+08:00")
    view(client, USER, filing=filing["id"])
    client.get(file["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER})
    settle()
    answer = client.get(f"/filings/{filing['id']}/usage-report.tsv?begin=2024-03&end=2024-05")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/tab-separated-values")
    rows = rows_of(answer.body.decode() if isinstance(answer.body, bytes) else answer.body)
    assert (
        rows[0] == ["Report_Name", "Item Report"]
        and rows[1] == ["Report_ID", "IR"]
        and rows[2] == ["Release", "5.1"]
    )
    assert rows[9] == ["Reporting_Period", "Begin_Date=2024-03-01; End_Date=2024-05-31"] and rows[13] == []
    assert rows[14][4:] == ["Metric_Type", "Reporting_Period_Total", "Mar-2024", "Apr-2024", "May-2024"]
    table = {r[4]: r[5:] for r in rows[15:]}
    assert table["Total_Item_Investigations"] == ["2", "0", "1", "1"]
    assert table["Unique_Item_Requests"] == ["1", "0", "0", "1"]
    assert rows[15][3] == "Report"
    assert running_counters.drift() == []


def test_a_provinces_report_opens_in_a_spreadsheet_with_filings_and_publications(client, settle):
    filing = approved_filing(client)
    news = client.post(
        "/publications",
        {"kind": "news", "title": "新闻", "province": "320000", "body": "正文"},
        headers=auth(**FILER),
    ).json
    client.post(
        f"/publications/{news['id']}/review",
        {"decision": "approve"},
        headers=auth(sub="admin", role="national_admin"),
    )
    view(client, USER, filing=filing["id"])
    view(client, USER, publication=news["id"])
    settle()
    path = "/provinces/320000/usage-report.xlsx?begin=2024-01&end=2024-06"
    assert client.get(path, headers={**auth(**USER), "Accept": XLSX}).status == 403
    answer = client.get(path, headers={**auth(**FILER), "Accept": XLSX})
    assert answer.status == 200 and answer.headers["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(answer.body)).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[1][:2] == ["Report_ID", "PR"]
    data = [r for r in rows[15:] if r[4] == "Total_Item_Investigations"]
    assert [(r[3], r[5], r[10]) for r in data] == [("Other", 1, 1), ("News_Item", 1, 1)]  # May is column 10


def test_report_periods_outside_the_rules_are_refused(client):
    now = datetime(2024, 5, 15, tzinfo=UTC)
    assert (
        usage_reports.months(None, None, now)[0] == "2023-06"
        and usage_reports.months(None, None, now)[-1] == "2024-05"
    )
    for begin, end in (("2024-13", None), ("2024-05", "2024-01"), ("2020-01", "2024-01")):
        with pytest.raises(Invalid):
            usage_reports.months(begin, end, now)
    answer = client.get("/provinces/320000/usage-report.tsv?begin=bad", headers=auth(**FILER))
    assert answer.status == 422 and answer.json["errors"][0]["field"] == "begin"


def test_the_national_overview_answers_all_32_units_in_one_call(client, settle):
    filing = approved_filing(client)
    view(client, USER, filing=filing["id"])
    settle()
    overview = client.get("/activity?cycle=2024").json
    assert len(overview["items"]) == 32
    jiangsu = next(i for i in overview["items"] if i["province"] == "320000")
    assert jiangsu["views"]["total"] == 1 and jiangsu["approved"]["filings_approved"] == 1
    assert client.get("/activity?cycle=1999").status == 422
