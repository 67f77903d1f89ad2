"""Bulk import of filings from the template sheet (CSV or xlsx): the backlog of past cycles.

Each row is judged by the same `FilingIn` model as a single filing. A dry run reports every
row's problems and stores nothing; a commit refuses a sheet with problems, otherwise files row by
row under the province's own reference (`filings.create_once`), at most COMMIT_ROWS new ones per
request, so sending a sheet again files what is left and nothing twice. The job item keeps counts while it runs. Files follow through the usual presigned
flow: each answer row links to its filing's files.

openpyxl is imported only when a workbook is read or built.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import uuid
from datetime import datetime
from functools import partial
from typing import Any, Literal

from pydantic import Field

from chalicelib.core import spreadsheets
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.errors import Forbidden, Invalid
from chalicelib.core.messages import LANGUAGES, Message, localized, text
from chalicelib.core.models import Record
from chalicelib.core.paging import query_page, scope_of
from chalicelib.core.schemas import Body, parse
from chalicelib.core.vocabulary import ACCESSIBLE_KINDS, FILING_KINDS, FUNDING_SOURCES, REPORT_TYPES
from chalicelib.documents import filings
from chalicelib.documents.filings import FilingIn

REFERENCE = "reference"
COLUMNS = (REFERENCE, *FilingIn.model_fields)  # the template's header row, in this order
MAX_ROWS = 1000
MAX_SHEET_BYTES = 180_000  # base64 of it stays under the 256 KB body limit
REFERENCE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./"
REFERENCE_RULE = Message("1–64 characters of A–Z a–z 0–9 - _ . /")
PROGRESS_EVERY = 25  # rows between two updates of the job's counts
# New filings per commit request: each is one transaction (~10-20 ms on DynamoDB), so a request stays
# seconds under the API's 25 s; the answer's `remaining` says to send the same sheet again.
COMMIT_ROWS = 100
TRUE, FALSE = ("true", "yes", "1", "是"), ("false", "no", "0", "否", "")
EXAMPLE = {
    REFERENCE: "JS-2021-001",
    "kind": "report",
    "title": "新能源汽车产业专利导航",
    "province": "320000",
    "unit": "江苏省知识产权局",
    "industry": "5",
    "report_type": "industry_planning",
    "fiscal_funded": "true",
    "summary": "",
    "proves": "",
    "access_url": "",
    "completed_on": "2023-06-30",
    "project_start": "2021-03-01",
    "project_end": "2023-06-30",
    "funding_source": "local_fiscal",
    "funding_amount": "500000",
    "funded_project": "",
}


# The template's help row under the header, in the reader's language: what each column takes. The
# header stays the column names the parser requires; a help row left in the sheet is skipped.
HELP = {
    REFERENCE: Message(
        "required: your own reference of the row (%(rule)s); a reference is filed once", rule=REFERENCE_RULE
    ),
    "kind": Message("required: one of %(kinds)s", kinds=", ".join(FILING_KINDS)),
    "title": Message("required: the result's title, 1–200 characters"),
    "province": Message("required: your 6-digit province code from /provinces"),
    "unit": Message("required: the unit that made the result, 1–100 characters"),
    "industry": Message("required: an industry code from /industries"),
    "report_type": Message("reports only: one of %(report_types)s", report_types=", ".join(REPORT_TYPES)),
    "fiscal_funded": Message("fiscally funded: true or false (是 or 否); empty is false"),
    "summary": Message("optional: a summary of at most 2000 characters"),
    "proves": Message("application_proof only: the id of the filing it proves"),
    "access_url": Message(
        "for a %(kinds)s: where it is used (http or https URL)", kinds=" or ".join(ACCESSIBLE_KINDS)
    ),
    "completed_on": Message("optional: when the result was completed, YYYY-MM-DD (China date)"),
    "project_start": Message("optional: the project's start, YYYY-MM-DD"),
    "project_end": Message("optional: the project's end, YYYY-MM-DD"),
    "funding_source": Message("optional: one of %(sources)s", sources=", ".join(FUNDING_SOURCES)),
    "funding_amount": Message(
        "optional: funding in yuan, digits only; attach its proof as a funding_proof file"
    ),
    "funded_project": Message(
        "optional: the project's number in the province's list of fiscally funded projects"
    ),
}


def _help_row(language: str) -> list[str]:
    return [HELP[c].render(language) for c in COLUMNS]


class ImportIn(Body):
    format: Literal["csv", "xlsx"]
    content_base64: str = Field(
        max_length=MAX_SHEET_BYTES * 4 // 3 + 4,
        description="the filled-in template (GET /filings/import-template.csv or .xlsx)",
    )
    dry_run: bool = Field(default=True, description="true: report every row's problems, store nothing")


def template_csv() -> str:
    rows = [list(COLUMNS), [text(HELP[c]) for c in COLUMNS], [EXAMPLE[c] for c in COLUMNS]]
    return "\ufeff" + spreadsheets.csv_text(rows)  # the BOM makes Excel read UTF-8


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = text(Message("filings"))
    spreadsheets.append(sheet, list(COLUMNS))
    spreadsheets.append(sheet, [text(HELP[c]) for c in COLUMNS])
    spreadsheets.append(sheet, [EXAMPLE[c] for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_rows(fmt: str, content: str) -> list[tuple[int, dict[str, str]]]:
    """The sheet's data rows as (row number, {column: text}), blank and help rows left out; 422 for what
    is not the template."""
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            Message("content_base64 is not base64"),
            errors=[{"field": "content_base64", "message": Message("not base64")}],
        ) from None
    if len(data) > MAX_SHEET_BYTES:
        raise Invalid(
            Message("A sheet holds at most %(max_sheet_bytes)s bytes", max_sheet_bytes=MAX_SHEET_BYTES),
            errors=[
                {
                    "field": "content_base64",
                    "message": Message("at most %(max_sheet_bytes)s bytes", max_sheet_bytes=MAX_SHEET_BYTES),
                }
            ],
        )
    table = _csv_table(data) if fmt == "csv" else _xlsx_table(data)
    if not table:
        raise Invalid(
            Message("The sheet is empty"),
            errors=[{"field": "content_base64", "message": Message("no header row")}],
        )
    header = [str(c or "").strip() for c in table[0]]
    while header and not header[-1]:
        header.pop()
    if header != list(COLUMNS):
        raise Invalid(
            Message("The header row is not the template's"),
            errors=[
                {
                    "field": "content_base64",
                    "message": Message("header must be: %(header)s", header=",".join(COLUMNS)),
                }
            ],
        )
    helps = [_help_row(language) for language in LANGUAGES]
    rows = [
        (number, cells)
        for number, cells in enumerate(([str(c or "").strip() for c in r] for r in table[1:]), start=2)
        if any(cells) and (cells + [""] * len(COLUMNS))[: len(COLUMNS)] not in helps
    ]
    if len(rows) > MAX_ROWS:
        raise Invalid(
            Message("A sheet holds at most %(max_rows)s rows", max_rows=MAX_ROWS),
            errors=[
                {
                    "field": "content_base64",
                    "message": Message("at most %(max_rows)s rows", max_rows=MAX_ROWS),
                }
            ],
        )
    return [(number, dict(zip(COLUMNS, [*cells, *[""] * len(COLUMNS)]))) for number, cells in rows]


def _csv_table(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(
            Message("The CSV is not UTF-8"),
            errors=[{"field": "content_base64", "message": Message("not UTF-8")}],
        ) from None
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise Invalid(
            Message("The CSV cannot be read"), errors=[{"field": "content_base64", "message": str(error)}]
        ) from None


def _xlsx_table(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    except Exception:  # openpyxl raises many types for a file that is not a workbook
        raise Invalid(
            Message("The xlsx cannot be read"),
            errors=[{"field": "content_base64", "message": Message("not an xlsx")}],
        ) from None


def _body_of(row: dict[str, str]) -> dict[str, Any]:
    """The FilingIn fields of a row: empty cells absent, fiscal_funded a boolean when it reads as one, a
    funding amount of digits a number (a cell is text; the model takes JSON's types strictly)."""
    body: dict[str, Any] = {c: row[c] for c in FilingIn.model_fields if row[c] != ""}
    flag = row["fiscal_funded"].lower()
    if flag in TRUE or flag in FALSE:
        body["fiscal_funded"] = flag in TRUE
    amount = body.get("funding_amount")
    if amount is not None and amount.isascii() and amount.isdigit():
        body["funding_amount"] = int(amount)
    return body


def check(
    caller: Caller, rows: list[tuple[int, dict[str, str]]]
) -> tuple[list[tuple[int, str, FilingIn]], list[dict]]:
    """Each row judged as a single filing would be: (row number, reference, body) and the problems."""
    good, problems, seen = [], [], {}
    for number, row in rows:  # numbered as the spreadsheet numbers them: row 1 is the header
        found = []
        reference = row[REFERENCE]
        if not reference or len(reference) > 64 or any(ch not in REFERENCE_CHARS for ch in reference):
            found.append((REFERENCE, REFERENCE_RULE))
        elif reference in seen:
            found.append((REFERENCE, Message("also on row %(row)s", row=seen[reference])))
        else:
            seen[reference] = number
        body = None
        try:
            body = parse(FilingIn, _body_of(row))
        except Invalid as invalid:
            found.extend((e["field"], e["message"]) for e in invalid.errors or [])
        if body is not None:
            if not caller.acts_for(body.province):
                found.append(("province", Message("you file for your own province only")))
            elif body.proves is not None:
                try:
                    filings.check_proves(body)
                except Invalid as invalid:
                    found.extend((e["field"], e["message"]) for e in invalid.errors or [])
        problems.extend({"row": number, "field": f, "message": m} for f, m in found)
        if not found:
            good.append((number, reference, body))
    return good, problems


def job_pk(province: str) -> str:
    """The partition of a province's import jobs, oldest first."""
    return f"FILINGIMPORT#{province}"


def job_key(province: str, started: datetime, job_id: str) -> tuple[str, str]:
    """An import job: its counts while it runs."""
    return job_pk(province), f"{sortable(started)}#{job_id}"


def run(caller: Caller | None, body: ImportIn, now: datetime) -> dict[str, Any]:
    """Dry-run or commit one sheet for the caller's own province."""
    caller = require(caller)
    rows = _sheet_rows(body.format, body.content_base64)
    good, problems = check(caller, rows)
    summary = {"dry_run": body.dry_run, "rows": len(rows), "valid": len(good), "problems": problems}
    if body.dry_run:
        return localized(summary)  # the problems in the caller's language
    if problems:
        raise Invalid(
            Message(
                "%(problems_count)s problems in the sheet; nothing was filed (send it with dry_run for the list)",
                problems_count=len(problems),
            ),
            errors=[{"field": f"rows.{p['row']}.{p['field']}", "message": p["message"]} for p in problems],
        )
    job_id = str(uuid.uuid4())
    taken = _taken(caller.province, [reference for _n, reference, _b in good])
    todo = [g for g in good if g[1] not in taken][:COMMIT_ROWS]
    job = Record(
        *job_key(caller.province, now, job_id),
        kind="filing_import",
        created_at=now,
        updated_at=now,
        data={
            "id": job_id,
            "state": "running",
            "rows": len(good),
            "to_file": len(todo),
            "created": 0,
            "existing": 0,
            "by": caller.sub,
        },
    )
    job.save()
    results, created = [], 0
    for done, (number, reference, filing_body) in enumerate(todo, start=1):
        filing, new = filings.create_once(caller, filing_body, reference, now)
        created += new
        results.append(_result(number, reference, filing.id, new))
        if done % PROGRESS_EVERY == 0:
            _progress(job, created, done - created, "running", now)
    _progress(job, created, len(todo) - created, "done", now)
    filed = {r["reference"] for r in results}
    results += [
        _result(n, reference, taken[reference], False) for n, reference, _b in good if reference in taken
    ]
    remaining = len([g for g in good if g[1] not in taken and g[1] not in filed])
    return {
        **summary,
        "job": job.data,
        "remaining": remaining,
        "filings": sorted(results, key=lambda r: r["row"]),
    }


def _result(row: int, reference: str, filing_id: str, created: bool) -> dict[str, Any]:
    return {
        "row": row,
        "reference": reference,
        "id": filing_id,
        "created": created,
        "links": {"self": f"/filings/{filing_id}", "files": f"/filings/{filing_id}/files"},
    }


def _taken(province: str, references: list[str]) -> dict[str, str]:
    """reference -> filing id of the references the province has already filed (BatchGet)."""
    keys = [filings.reference_key(province, r) for r in references]
    return {item.sk: item.data["filing"] for item in Record.batch_get(keys)}


def _progress(job: Record, created: int, existing: int, state: str, now: datetime) -> None:
    job.data = {**job.data, "created": created, "existing": existing, "state": state}
    job.updated_at = now
    job.save()


def jobs_page(
    caller: Caller | None, province: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of a province's import jobs, newest first, with their counts (its staff and national admins)."""
    caller = require(caller)
    if not caller.sees_all_of(province):
        raise Forbidden(Message("Only the province's own staff and national admins read its imports"))
    page = query_page(
        partial(Record.query, job_pk(province), scan_index_forward=False),
        limit,
        cursor,
        scope_of("FILINGIMPORTS", province=province),
        secret,
    )
    return page.to_dict(
        lambda j: {**j.data, "started_at": iso(j.created_at), "updated_at": iso(j.updated_at)}
    )
