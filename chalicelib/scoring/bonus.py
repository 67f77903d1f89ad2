"""Excellent projects (优秀项目) of a cycle and the capped bonus points they add to their unit.

The expert panel's decision records a project with `record_excellent(..., source="selection")`;
the only other way is a national admin's override with a written reason
(`POST /cycles/{cycle}/excellent-projects`), audited and shown as such in the announcement. Stored
in the records table under pk `EXCELLENT#{cycle}`, sk `<filing id>`: one record per project, so
confirming it twice changes nothing. A revoked project keeps its record (with who, when, why) and
adds nothing to later runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import computed_page, scope_of
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import EXCELLENT_SOURCES
from chalicelib.documents import filings
from chalicelib.scoring import announcements

SOURCES = EXCELLENT_SOURCES


class ExcellentIn(Body):
    """A national admin's override: an excellent project without the expert panel, with the reason."""

    filing: Text(1, 64)
    reason: Text(1, 2000, multiline=True) = Field(
        description="why this project is made excellent outside the expert panel (audited, announced)"
    )
    note: Text(0, 2000, multiline=True) | None = None


def key(cycle_id: str) -> str:
    return f"EXCELLENT#{cycle_id}"


def _filing(filing: Filing | str) -> Filing:
    if isinstance(filing, Filing):
        return filing
    try:
        return Filing.get(*filings.doc_key(filing))
    except Filing.DoesNotExist:
        raise Invalid(
            Message("No filing %(filing)s", filing=filing),
            errors=[{"field": "filing", "message": Message("no such filing")}],
        ) from None


def _check_eligible(found: Filing, cycle_id: str) -> None:
    """Only an approved filing of the cycle itself can be one of its excellent projects."""
    if found.status != "approved":
        raise Conflict(
            Message(
                "Filing %(id)s is %(status)s; only approved filings can be excellent projects",
                id=found.id,
                status=found.status,
            )
        )
    if found.cycle != cycle_id:
        raise Conflict(
            Message(
                "Filing %(id)s belongs to cycle %(cycle)s, not %(cycle_id)s",
                id=found.id,
                cycle=found.cycle,
                cycle_id=cycle_id,
            )
        )


def record_excellent(
    cycle_id: str,
    filing: Filing | str,
    caller: Caller | None,
    now: datetime,
    source: str = "selection",
    note: str | None = None,
    reason: str | None = None,
    panel: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Confirm `filing` as an excellent project of `cycle_id`; (record, newly recorded?).

    The filing must be approved and belong to that cycle. `caller` is who confirmed it (None
    for an automated step); the selection workflow authorizes its own callers, the override
    route requires a national admin before calling this. Idempotent per filing and cycle. `panel`: the
    expert panel's size, how many of it scored and its score (a selection's; shown where it is announced).
    """
    if source not in SOURCES:
        raise ValueError(Message("source must be one of %(sources)s", sources=SOURCES))
    cycle_or_404(cycle_id)
    found = _filing(filing)
    _check_eligible(found, cycle_id)
    data = {
        "filing": found.id,
        "province": found.province,
        "kind": found.kind,
        "industry": found.industry,
        "title": found.title,
        "unit": found.unit,
        "note": note,
        "source": source,
        "reason": reason,
        "panel": panel,
        "by": caller.sub if caller else "system",
        "at": iso(now),
    }
    record = Record(
        key(cycle_id), found.id, kind="excellent_project", data=data, created_at=now, updated_at=now
    )
    try:
        with transaction() as tx:
            tx.save(record, condition=Record.pk.does_not_exist())
            tx.save(audit.entry("excellent_project", f"{cycle_id}/{found.id}", "recorded", caller, now, data))
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        return Record.get(key(cycle_id), found.id).data, False
    return data, True


def record_override(
    caller: Caller | None, cycle_id: str, body: ExcellentIn, now: datetime
) -> tuple[dict, bool]:
    """The national admin's override: an excellent project outside the expert panel, with its reason."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    return record_excellent(
        cycle_id, body.filing, caller, now, source="override", note=body.note, reason=body.reason
    )


def find(cycle_id: str, filing_id: str) -> Record | None:
    """The filing's excellent-project record of the cycle (revoked or not), None when there is none."""
    try:
        return Record.get(key(cycle_id), filing_id, consistent_read=True)
    except Record.DoesNotExist:
        return None


def excellent_projects(cycle_id: str, include_revoked: bool = False) -> list[dict[str, Any]]:
    """The excellent projects of the cycle that stand (revoked ones too when asked), in filing-id order."""
    return [r.data for r in Record.query(key(cycle_id)) if include_revoked or not r.data.get("revoked_at")]


def bonus_points(projects: list[dict[str, Any]], rules: dict[str, float]) -> dict[str, dict[str, Any]]:
    """province → {"count", "points"}: points per project, capped per unit."""
    counts: dict[str, int] = {}
    for project in projects:
        counts[project["province"]] = counts.get(project["province"], 0) + 1
    return {
        code: {"count": n, "points": round(min(rules["cap"], n * rules["points_per_excellent_project"]), 4)}
        for code, n in counts.items()
    }


def list_for(
    caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the cycle's excellent projects, by filing. National admins always; everyone else
    once the cycle has published scores (the selection is announced with them). 404 for an unknown
    cycle or before publication."""
    cycle_or_404(cycle_id)
    if not (caller and caller.is_national_admin):
        try:
            Record.get(*announcements.published_key(cycle_id))
        except Record.DoesNotExist:
            raise NotFound(
                Message(
                    "Excellent projects of cycle %(cycle_id)s are announced with its published scores",
                    cycle_id=cycle_id,
                )
            ) from None
    admin = bool(caller and caller.is_national_admin)
    # Computed: whether a project stands (not revoked) is in its data, which a Query cannot filter on;
    # a cycle's excellent projects are a few per province.
    page = computed_page(
        excellent_projects(cycle_id, include_revoked=admin),
        limit,
        cursor,
        scope_of("EXCELLENT", cycle=cycle_id, admin=admin),
        secret,
        order=lambda p: (p["filing"],),
    )
    if admin:
        return page.to_dict(lambda p: p)
    return page.to_dict(lambda p: {k: v for k, v in p.items() if k not in ("by", "note")})
