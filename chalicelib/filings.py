"""Filings (备案): reports, thematic databases, tools and proofs of application."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from . import audit, documents
from .auth import Caller, require, require_province
from .clock import iso, sortable
from .documents import FILERS
from .errors import Conflict, Invalid, NotFound
from .models import ApplicationUpdate, Filing
from .paging import Page
from .reference import INDUSTRIES, PROVINCES
from .schemas import FILING_KINDS, ApplicationChangeIn, FilingIn, ReviewIn
from .store import transaction

PREFIX = "FILINGS"


def key(filing_id: str) -> str:
    return f"FILING#{filing_id}"


def create(caller: Caller | None, body: FilingIn, now: datetime) -> Filing:
    """File a result for the caller's own province; it waits for review as `pending`."""
    caller, cycle = documents.filing_cycle(caller, body.province, now)
    if body.proves is not None:
        try:
            Filing.get(key(body.proves), "A")
        except Filing.DoesNotExist:
            raise Invalid("proves names no filing", errors=[{"field": "proves", "message": "no such filing"}]) from None
    filing_id = str(uuid.uuid4())
    filing = Filing(
        key(filing_id), "A", entity="filing", id=filing_id, kind=body.kind, title=body.title,
        province=body.province, unit=body.unit, industry=body.industry, report_type=body.report_type,
        fiscal_funded=body.fiscal_funded, summary=body.summary, proves=body.proves,
        status="pending", filed_at=now, cycle=cycle.id, author=caller.sub,
    )
    documents.index_keys(PREFIX, filing)
    documents.save_new(filing, "filing", caller, now, body.model_dump())
    return filing


def get(caller: Caller | None, filing_id: str) -> Filing:
    """A filing the caller may see (approved, or their own province's, or any for national admins)."""
    return documents.get_visible(Filing, key(filing_id), caller, "filing")


def get_approved(caller: Caller | None, filing_id: str) -> Filing:
    """A visible filing that has been approved: what interactions may target."""
    filing = get(caller, filing_id)
    if filing.status != "approved":
        raise Conflict(f"Filing {filing_id} is {filing.status}; only approved filings take this")
    return filing


def list_page(caller: Caller | None, params: dict[str, str | None], limit: int, cursor: str | None,
              secret: str) -> Page:
    """Filings newest first, filtered by province, kind, status, cycle and industry."""
    filters = documents.checked_filters(params, {"province": PROVINCES, "kind": FILING_KINDS,
                                                 "status": documents.STATUSES, "industry": INDUSTRIES})
    return documents.list_page(Filing, PREFIX, caller, filters, limit, cursor, secret)


def review(caller: Caller | None, filing_id: str, body: ReviewIn, now: datetime) -> Filing:
    """Approve or reject a filing (national admins); only approved filings count anywhere."""
    caller = require(caller, "national_admin")
    filing = get(caller, filing_id)
    return documents.review(filing, PREFIX, "filing", caller, body.decision, body.note, now)


def change_application(caller: Caller | None, filing_id: str, body: ApplicationChangeIn,
                       now: datetime) -> ApplicationUpdate:
    """Record a change of how an approved result is applied; every change is kept."""
    caller = require(caller, *FILERS)
    filing = writable(caller, filing_id)
    if filing.status != "approved":
        raise Conflict(f"Filing {filing_id} is {filing.status}; application changes need an approved filing")
    change_id = uuid.uuid4().hex
    update = ApplicationUpdate(
        key(filing_id), f"APP#{sortable(now)}#{change_id}", entity="application_update", id=change_id,
        filing=filing_id, province=filing.province, status=body.status, note=body.note, by=caller.sub, at=now,
    )
    with transaction() as tx:
        tx.save(update, condition=ApplicationUpdate.pk.does_not_exist())
        tx.update(filing, actions=[Filing.application_status.set(body.status)])
        tx.save(audit.entry("filing", filing_id, "application_change", caller, now, body.model_dump()))
    return update


def writable(caller: Caller | None, filing_id: str) -> Filing:
    """A filing the caller may change: 404 when it does not exist, 403 when it is another province's.

    Writes answer 403 even for another province's unapproved filing (ids are random UUIDs):
    the token's province is what does not allow the action."""
    caller = require(caller, *FILERS)
    try:
        filing = Filing.get(key(filing_id), "A")
    except Filing.DoesNotExist:
        raise NotFound(f"No filing {filing_id}") from None
    require_province(caller, filing.province)
    return filing


def application_history(caller: Caller | None, filing_id: str) -> list[ApplicationUpdate]:
    """Every application change of a visible filing, oldest first."""
    get(caller, filing_id)
    return list(ApplicationUpdate.query(key(filing_id), ApplicationUpdate.sk.startswith("APP#")))


def history(caller: Caller | None, filing_id: str) -> list[dict[str, Any]]:
    """The audit trail of a filing (its province and national admins)."""
    filing = get(caller, filing_id)
    if caller is None or not caller.sees_all_of(filing.province):
        raise NotFound(f"No filing {filing_id}")
    return audit.trail("filing", filing_id)


def render(filing: Filing) -> dict[str, Any]:
    return {
        "id": filing.id, "kind": filing.kind, "title": filing.title, "province": filing.province,
        "unit": filing.unit, "industry": filing.industry, "report_type": filing.report_type,
        "fiscal_funded": filing.fiscal_funded, "summary": filing.summary, "proves": filing.proves,
        "status": filing.status, "filed_at": iso(filing.filed_at), "cycle": filing.cycle,
        "application_status": filing.application_status,
        "reviewed_at": iso(filing.reviewed_at) if filing.reviewed_at else None,
        "review_note": filing.review_note,
    }


def render_application(update: ApplicationUpdate) -> dict[str, Any]:
    return {"id": update.id, "filing": update.filing, "status": update.status, "note": update.note,
            "by": update.by, "at": iso(update.at)}
