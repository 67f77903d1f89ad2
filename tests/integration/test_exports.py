"""Exports of a run: CSV and an .xlsx workbook with ranking, indicator breakdown and a bar chart."""

from __future__ import annotations

import csv
import io
import zipfile

from chalicelib.core import spreadsheets
from tests.support.scoring import ADMIN, CLOSED, seed_counters

XLSX_ACCEPT = {**ADMIN, "Accept": spreadsheets.XLSX_TYPE}


def scored(store, client) -> str:
    store.at(CLOSED)
    seed_counters()
    return client.post("/cycles/2024/scoring-runs", headers=ADMIN).json["run_id"]


def test_the_csv_has_one_row_per_unit_best_first_with_every_indicator(store, client):
    run_id = scored(store, client)
    answer = client.get("/cycles/2024/scores.csv", headers=ADMIN)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert run_id in answer.headers["Content-Disposition"]
    text = answer.body.decode("utf-8") if isinstance(answer.body, bytes) else answer.body
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["rank", "province", "name", "total"]
    assert len(rows) == 33 and [int(r[0]) for r in rows[1:]] == list(range(1, 33))
    assert any("项目实施" in h for h in rows[0]) and any("(views)" in h for h in rows[0])
    scores = client.get("/cycles/2024/scores", headers=ADMIN).json
    assert rows[1][1] == scores["provinces"][0]["province"]
    assert float(rows[1][3]) == scores["provinces"][0]["total"]


def test_the_xlsx_has_a_ranking_an_indicator_breakdown_and_a_native_bar_chart(store, client):
    from openpyxl import load_workbook

    scored(store, client)
    answer = client.get("/cycles/2024/scores.xlsx", headers=XLSX_ACCEPT)
    assert answer.status == 200 and answer.headers["Content-Type"] == spreadsheets.XLSX_TYPE
    book = load_workbook(io.BytesIO(answer.body))
    assert book.sheetnames == ["排名", "指标明细", "待核查", "说明"]
    ranking = book["排名"]
    assert ranking.max_row == 33 and ranking["A2"].value == 1
    detail = book["指标明细"]
    assert detail.max_row == 1 + 32 * 19
    # openpyxl does not read charts back, so look at the chart part of the package itself
    package = zipfile.ZipFile(io.BytesIO(answer.body))
    chart_xml = package.read(next(p for p in package.namelist() if p.startswith("xl/charts/chart"))).decode()
    assert "<barChart>" in chart_xml and "'排名'!$D$2:$D$33" in chart_xml


def test_the_xlsx_needs_an_accept_header_naming_it(store, client):
    scored(store, client)
    answer = client.get("/cycles/2024/scores.xlsx", headers=ADMIN)
    assert answer.status == 400 and answer.headers["Content-Type"].startswith("application/problem+json")


def test_exports_have_the_same_visibility_as_scores(store, client):
    run_id = scored(store, client)
    assert client.get("/cycles/2024/scores.csv").status == 404
    assert client.get("/cycles/2024/scores.xlsx", headers={"Accept": spreadsheets.XLSX_TYPE}).status == 404
    client.post(f"/cycles/2024/scoring-runs/{run_id}/publish", headers=ADMIN)
    assert client.get("/cycles/2024/scores.csv").status == 200
    assert client.get("/cycles/2024/scores.xlsx", headers={"Accept": spreadsheets.XLSX_TYPE}).status == 200
