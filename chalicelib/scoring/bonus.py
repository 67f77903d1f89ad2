"""Excellent projects (优秀项目) of a cycle and the capped bonus points they add to their unit.

The excellence selection workflow confirms a project with `record_excellent(..., source="selection")`;
national admins can record one directly (`POST /cycles/{cycle}/excellent-projects`). Stored in
the records table under pk `EXCELLENT#{cycle}`, sk `<filing id>`: one record per project, so
confirming it twice changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Optional

from chalicelib.core import audit
from chalicelib.documents import filings
from chalicelib.scoring import announcements
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import query_page, scope_of
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.schemas import Body, Text

SOURCES = ("selection", "direct")


class ExcellentIn(Body):
    filing: Text(1, 64)
    note: Optional[Text(0, 2000, multiline=True)] = None


def key(cycle_id: str) -> str:
    return f"EXCELLENT#{cycle_id}"


def _filing(filing: Filing | str) -> Filing:
    if isinstance(filing, Filing):
        return filing
    try:
        return Filing.get(*filings.doc_key(filing))
    except Filing.DoesNotExist:
        raise Invalid(f"No filing {filing}", errors=[{"field": "filing", "message": "no such filing"}]) from None


def record_excellent(cycle_id: str, filing: Filing | str, caller: Caller | None, now: datetime,
                     source: str = "selection", note: str | None = None) -> tuple[dict[str, Any], bool]:
    """Confirm `filing` as an excellent project of `cycle_id`; (record, newly recorded?).

    The filing must be approved and belong to that cycle. `caller` is who confirmed it (None
    for an automated step); the selection workflow authorizes its own callers, the direct
    route requires a national admin before calling this. Idempotent per filing and cycle.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    cycle_or_404(cycle_id)
    found = _filing(filing)
    if found.status != "approved":
        raise Conflict(f"Filing {found.id} is {found.status}; only approved filings can be excellent projects")
    if found.cycle != cycle_id:
        raise Conflict(f"Filing {found.id} belongs to cycle {found.cycle}, not {cycle_id}")
    data = {"filing": found.id, "province": found.province, "kind": found.kind, "industry": found.industry,
            "title": found.title, "unit": found.unit, "note": note, "source": source,
            "by": caller.sub if caller else "system", "at": iso(now)}
    record = Record(key(cycle_id), found.id, kind="excellent_project", data=data, created_at=now, updated_at=now)
    try:
        with transaction() as tx:
            tx.save(record, condition=Record.pk.does_not_exist())
            tx.save(audit.entry("excellent_project", f"{cycle_id}/{found.id}", "recorded", caller, now, data))
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        return Record.get(key(cycle_id), found.id).data, False
    return data, True


def record_direct(caller: Caller | None, cycle_id: str, body: ExcellentIn, now: datetime) -> tuple[dict, bool]:
    """The national-admin route: record an excellent project without the selection workflow."""
    caller = require(caller, "national_admin")
    cycle_or_404(cycle_id)
    return record_excellent(cycle_id, body.filing, caller, now, source="direct", note=body.note)


def excellent_projects(cycle_id: str) -> list[dict[str, Any]]:
    """Every excellent project of the cycle, in filing-id order."""
    return [r.data for r in Record.query(key(cycle_id))]


def bonus_points(projects: list[dict[str, Any]], rules: dict[str, float]) -> dict[str, dict[str, Any]]:
    """province → {"count", "points"}: points per project, capped per unit."""
    counts: dict[str, int] = {}
    for project in projects:
        counts[project["province"]] = counts.get(project["province"], 0) + 1
    return {code: {"count": n, "points": round(min(rules["cap"], n * rules["points_per_excellent_project"]), 4)}
            for code, n in counts.items()}


def list_for(caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """One page of the cycle's excellent projects, by filing. National admins always; everyone else
    once the cycle has published scores (the selection is announced with them). 404 for an unknown
    cycle or before publication."""
    cycle_or_404(cycle_id)
    if not (caller and caller.is_national_admin):
        try:
            Record.get(*announcements.published_key(cycle_id))
        except Record.DoesNotExist:
            raise NotFound(f"Excellent projects of cycle {cycle_id} are announced with its published scores") from None
    admin = bool(caller and caller.is_national_admin)
    page = query_page(partial(Record.query, key(cycle_id)), limit, cursor,
                      scope_of("EXCELLENT", cycle=cycle_id, admin=admin), secret)
    if admin:
        return page.to_dict(lambda r: r.data)
    return page.to_dict(lambda r: {k: v for k, v in r.data.items() if k not in ("by", "note")})
