"""A province's list of fiscally funded projects of a cycle, checked against its filings.

The notice wants every fiscally funded project filed; the province uploads the list (JSON, or CSV with the
header `number,title,funding_source,amount`) and the platform shows which projects no filing names (a
filing names its project in `funded_project`). One list per province and cycle; a new upload replaces it
(audited).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require, require_province
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import BadRequest, Forbidden, Invalid, NotFound, PayloadTooLarge
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import DEFAULT_LIMIT, computed_page, scope_of
from chalicelib.core.reference import PROVINCES
from chalicelib.core.request_parsing import MAX_BODY_BYTES
from chalicelib.core.schemas import Body, FieldErrors, Text, parse
from chalicelib.core.vocabulary import FundingSource
from chalicelib.documents import filings

KIND = "funded_projects"
MAX_PROJECTS = 1000  # a province's funded navigation projects of one cycle, with room; keeps the item small
CSV_HEADER = ("number", "title", "funding_source", "amount")


class FundedProject(Body):
    number: Text(1, 64) = Field(description="the project's number: filings name it in funded_project")
    title: Text(1, 200)
    funding_source: FundingSource | None = None
    amount: int | None = Field(default=None, ge=0, le=filings.MAX_FUNDING, description="yuan")


class FundedProjectsIn(Body):
    projects: list[FundedProject] = Field(max_length=MAX_PROJECTS)

    @model_validator(mode="after")
    def _numbers_unique(self) -> FundedProjectsIn:
        seen: set[str] = set()
        for n, project in enumerate(self.projects):
            if project.number in seen:
                raise FieldErrors([(f"projects.{n}.number", Message("listed twice"))])
            seen.add(project.number)
        return self


def key(province: str, cycle_id: str) -> tuple[str, str]:
    return f"FUNDED#{province}", cycle_id


def from_csv(raw: bytes | None) -> FundedProjectsIn:
    """The list from a CSV body (UTF-8, header `number,title,funding_source,amount`; empty cells are absent)."""
    if not raw:
        raise BadRequest(
            Message("A CSV body is required"), errors=[{"field": "", "message": Message("missing body")}]
        )
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            Message("The body is larger than %(max_body_bytes)s bytes", max_body_bytes=MAX_BODY_BYTES)
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(
            Message("The CSV is not UTF-8"), errors=[{"field": "", "message": Message("not UTF-8")}]
        ) from None
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or tuple(cell.strip() for cell in rows[0]) != CSV_HEADER:
        raise Invalid(
            Message("The CSV needs the header %(header)s", header=",".join(CSV_HEADER)),
            errors=[
                {
                    "field": "body",
                    "message": Message("first row must be %(header)s", header=",".join(CSV_HEADER)),
                }
            ],
        )
    projects = []
    for n, row in enumerate(rows[1:]):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(CSV_HEADER, (cell.strip() for cell in row)))
        amount = cells.get("amount")
        if amount and not (amount.isascii() and amount.isdigit()):
            raise Invalid(
                Message("amount must be whole yuan"),
                errors=[{"field": f"projects.{n}.amount", "message": Message("must be ASCII digits (yuan)")}],
            )
        projects.append(
            {
                k: v
                for k, v in {**cells, "amount": int(amount) if amount else None}.items()
                if v not in ("", None)
            }
        )
    return parse(FundedProjectsIn, {"projects": projects})


def put(
    caller: Caller | None, province: str, cycle_id: str, body: FundedProjectsIn, now: datetime, secret: str
) -> dict[str, Any]:
    """Store the province's list for the cycle (its province admin), replacing any before; audited. Answers
    the first page of the checked list."""
    caller = require(caller)
    _known(province)
    require_province(caller, province)
    cycle = cycle_or_404(cycle_id)
    try:
        doc = Record.get(*key(province, cycle.id), consistent_read=True)
    except Record.DoesNotExist:
        doc = Record(*key(province, cycle.id), kind=KIND, created_at=now)
    doc.data = {"projects": [p.model_dump() for p in body.projects], "uploaded_by": caller.sub}
    doc.updated_at = now
    audit.replace(
        doc,
        audit.entry(
            KIND, f"{province}/{cycle.id}", "uploaded", caller, now, {"projects": len(body.projects)}
        ),
        Message("The list changed meanwhile; read it again and retry"),
    )
    return checked(caller, province, cycle.id, DEFAULT_LIMIT, None, secret)


def checked(
    caller: Caller | None, province: str, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the list with, for each project, the filing that names it (or None), and the count of
    unfiled ones over the whole list: its staff and national admins."""
    caller = require(caller)
    _known(province)
    if not caller.sees_all_of(province):
        raise Forbidden(Message("Only the province's own staff and national admins read its funded projects"))
    cycle = cycle_or_404(cycle_id)
    try:
        doc = Record.get(*key(province, cycle.id))
    except Record.DoesNotExist:
        raise NotFound(
            Message("%(province)s has uploaded no funded projects for %(id)s", province=province, id=cycle.id)
        ) from None
    named = _filings_naming(province)
    items = [{**project, "filing": named.get(project["number"])} for project in doc.data["projects"]]
    # Computed: the list is one stored item of at most MAX_PROJECTS, paged in its uploaded order.
    order = {project["number"]: n for n, project in enumerate(doc.data["projects"])}
    page = computed_page(
        items,
        limit,
        cursor,
        scope_of("FUNDED", province=province, cycle=cycle.id),
        secret,
        order=lambda item: (order[item["number"]],),
    )
    return {
        "province": province,
        "cycle": cycle.id,
        "uploaded_at": iso(doc.updated_at) if doc.updated_at else None,
        "unfiled": sum(item["filing"] is None for item in items),
        **page.to_dict(lambda item: item),
    }


def _filings_naming(province: str) -> dict[str, dict[str, str]]:
    """project number -> the province's filing that names it (withdrawn ones do not count)."""
    found: dict[str, dict[str, str]] = {}
    for filing in Filing.by_province.query(
        f"{filings.PREFIX}#P#{province}", filter_condition=Filing.funded_project.exists()
    ):
        if filing.status != "withdrawn" and filing.funded_project not in found:
            found[filing.funded_project] = {"id": filing.id, "status": filing.status}
    return found


def _known(province: str) -> None:
    if province not in PROVINCES:
        raise NotFound(Message("No provincial unit %(province)s", province=province))
