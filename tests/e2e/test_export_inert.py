"""The fuzz test's export check: whatever a user typed (a title, a scheme's names) comes back from
every export route of the OpenAPI document as an inert cell, never a formula (OWASP CSV
injection: a cell beginning with = + - @, tab or CR). A new export route must be added here."""

from __future__ import annotations

import copy
import csv
import io
import re
import uuid

from chalicelib.scoring import scheme
from tests.support import report_body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TYPED = "=1+1"  # what a filer or an admin typed; the marker below finds it in any cell
MARKER = "1+1"


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _text_cells(body: bytes, extension: str) -> list[tuple[str, bool]]:
    """(cell text, is it a formula) for every non-empty cell of a CSV, TSV or xlsx export."""
    if extension == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body))
        return [
            (str(c.value), c.data_type == "f")
            for sheet in book.worksheets
            for row in sheet.iter_rows()
            for c in row
            if c.value not in (None, "")
        ]
    text = body.decode("utf-8-sig")
    rows = csv.reader(io.StringIO(text), delimiter="\t" if extension == "tsv" else ",")
    return [(cell, False) for row in rows for cell in row if cell != ""]


def _live(text: str, formula: bool, extension: str) -> bool:
    """Would a spreadsheet run this cell? In a workbook a formula cell (a string cell is inert, and the
    platform writes no formulas of its own); in CSV or TSV, text starting with a trigger that is no number."""
    if extension == "xlsx":
        return formula
    return text.startswith(TRIGGERS) and not _number(text)


def test_every_export_route_answers_inert_cells(api):
    run = uuid.uuid4().hex[:6]
    filer = api.token("filer", province="320000", sub=f"inert-filer-{run}")
    admin = api.token("national_admin", sub=f"inert-admin-{run}")
    reader = api.token("user", side="enterprise", sub=f"inert-reader-{run}")
    filing = api.post("/filings", report_body(title=TYPED), token=filer).json
    publication = api.post(
        "/publications", {"kind": "news", "title": TYPED, "province": "320000", "body": TYPED}, token=filer
    ).json
    for owner, doc in (("filing", filing), ("publication", publication)):
        assert api.post(f"/{owner}s/{doc['id']}/review", {"decision": "approve"}, token=admin).status == 200
        events = [{"id": str(uuid.uuid4()), "type": "view", owner: doc["id"]}]
        assert api.post("/events", {"events": events}, token=reader).status == 202
    named = copy.deepcopy(scheme.DEFAULT_SCHEME)
    named = {k: named[k] for k in ("name", "areas", "bonus", "flags")}
    named["name"] = TYPED
    named["areas"][0]["name"] = TYPED
    named["areas"][0]["indicators"][0]["name"] = TYPED
    assert api.put("/scoring-scheme", named, token=admin).status == 201
    cycle = next(c["id"] for c in api.get("/cycles").json["items"] if c["status"] == "open")
    assert api.post(f"/cycles/{cycle}/scoring-runs", token=admin).status in (201, 202)
    api.drain()

    # A service base named as typed, scored in the same cycle.
    unit = f"SB-{run}"
    assert (
        api.post(
            "/populations/service_bases/units",
            {"code": unit, "name": TYPED, "province": "320000"},
            token=admin,
        ).status
        == 201
    )
    assert api.post(f"/populations/service_bases/cycles/{cycle}/scoring-runs", token=admin).status in (
        201,
        202,
    )
    api.drain()

    targets = {
        "cycle": cycle,
        "code": "320000",
        "filing_id": filing["id"],
        "publication_id": publication["id"],
        "population": "service_bases",
        "year": cycle,
    }
    routes = [
        p
        for p, ops in api.get("/openapi.json").json["paths"].items()
        if "get" in ops and re.search(r"\.(csv|tsv|xlsx)$", p)
    ]
    # Routes where the typed text must appear; the others name no user's text but are checked all the same.
    carries_typed = {
        "/cycles/{cycle}/scores",
        "/filings/{filing_id}/usage-report",
        "/publications/{publication_id}/usage-report",
        "/populations/{population}/cycles/{cycle}/scores",
    }
    others = {"/provinces/{code}/usage-report", "/filings/import-template", "/annual-forms/{year}/overview"}
    assert {p.rsplit(".", 1)[0] for p in routes} == carries_typed | others, routes
    live = []
    for template in routes:
        extension = template.rsplit(".", 1)[1]
        answer = api.get(
            template.format(**targets), token=admin, headers={"Accept": XLSX} if extension == "xlsx" else {}
        )
        assert answer.status == 200, (template, answer.text[:300])
        cells = _text_cells(answer.body, extension)
        if template.rsplit(".", 1)[0] in carries_typed:
            assert any(MARKER in text for text, _ in cells), f"{template}: the typed text is not exported"
        live += [f"{template}: {text!r}" for text, formula in cells if _live(text, formula, extension)]
    assert live == [], "cells a spreadsheet would run:\n" + "\n".join(live)
