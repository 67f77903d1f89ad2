"""The one rule for every CSV, TSV and xlsx cell the platform writes: text never runs as a formula.

OWASP's CSV-injection guidance: a spreadsheet evaluates a cell that begins with `=`, `+`, `-`,
`@`, tab or carriage return, so such text is prefixed with a single quote and shows as typed.
Numbers stay numbers (a negative number is a number, not text). A TSV has no quoting that
every reader honours, so tabs and line breaks inside a cell become spaces. In a workbook every
text cell is stored as a string, never a formula (openpyxl would store any text beginning with
`=` as one); the platform writes no formulas of its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# The media types of what the platform exports (and of the spreadsheets it takes).
CSV_TYPE = "text/csv; charset=utf-8"
TSV_TYPE = "text/tab-separated-values; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
TSV_BREAKS = str.maketrans({"\t": " ", "\r": " ", "\n": " "})


def inert(value: Any) -> Any:
    """The cell as written: text that a spreadsheet would evaluate gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return QUOTE + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV (CRLF lines, RFC 4180 quoting), every cell inert."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([inert(v) for v in row] for row in rows)
    return out.getvalue()


def tsv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as TSV (CRLF lines), every cell inert and on one line of its own column."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\r\n")
    writer.writerows([_tsv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _tsv_cell(value: Any) -> Any:
    # Neutralise first: a leading tab is a trigger, and must not turn into a harmless-looking space
    # that hides what was typed.
    value = inert(value)
    return value.translate(TSV_BREAKS) if isinstance(value, str) else value


def append(sheet: Any, row: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet; each text cell inert and stored as a string."""
    from openpyxl.cell import Cell

    cells = []
    for value in row:
        cell = Cell(sheet, value=inert(value))
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl types any text beginning with "=" as a formula
        cells.append(cell)
    sheet.append(cells)
