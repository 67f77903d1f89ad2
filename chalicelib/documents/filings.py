"""Filings (备案): reports, thematic databases, tools and proofs of application."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.cycles import Cycle, cycle_by_id
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import ApplicationUpdate, Filing, Record
from chalicelib.core.paging import Page, query_page, scope_of
from chalicelib.core.reference import INDUSTRIES, PROVINCES
from chalicelib.core.schemas import Body, FieldErrors, IndustryCode, ProvinceCode, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import (
    ACCESSIBLE_KINDS,
    APPLICATION_PROGRESSION,
    FILING_KINDS,
    REVIEW_STATUSES,
    ApplicationState,
    FilingKind,
    FundingSource,
    ReportType,
)
from chalicelib.documents import lifecycle
from chalicelib.documents.lifecycle import ReviewIn

PREFIX = "FILINGS"


# ---- request bodies ---------------------------------------------------------------------

MAX_FUNDING = 10**12  # yuan: far above any one project


def _china_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(Message("must be a date YYYY-MM-DD")) from None
    return value


ChinaDate = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_china_date)
]


class FilingIn(Body):
    kind: FilingKind
    title: Text(1, 200)
    province: ProvinceCode = Field(description="6-digit province code from /provinces")
    unit: Text(1, 100)
    industry: IndustryCode = Field(description="industry code from /industries")
    report_type: ReportType | None = None
    fiscal_funded: bool = False
    summary: Text(0, 2000, multiline=True) | None = None
    proves: str | None = Field(
        default=None, description="for application_proof: the id of the filing it proves"
    )
    access_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s]+$")] | None = (
        Field(
            default=None,
            description=f"for a {' or '.join(ACCESSIBLE_KINDS)}: where it is used (http or https URL)",
        )
    )
    completed_on: ChinaDate | None = Field(
        default=None,
        description="when the result was completed (China date); outside its cycle's window it is "
        "out of scope",
    )
    project_start: ChinaDate | None = None
    project_end: ChinaDate | None = None
    funding_source: FundingSource | None = None
    funding_amount: int | None = Field(
        default=None,
        ge=0,
        le=MAX_FUNDING,
        description="funding (投入) in yuan; attach its proof as a funding_proof file",
    )
    funded_project: Text(1, 64) | None = Field(
        default=None, description="the project's number in its province's list of fiscally funded projects"
    )

    @model_validator(mode="after")
    def _kind_rules(self) -> FilingIn:
        problems = []
        if self.kind != "report" and self.report_type is not None:
            problems.append(("report_type", Message("only reports have a report_type")))
        if self.kind == "application_proof" and not self.proves:
            problems.append(("proves", Message("an application_proof names the filing it proves")))
        if self.kind != "application_proof" and self.proves is not None:
            problems.append(("proves", Message("only an application_proof proves another filing")))
        if self.access_url is not None and self.kind not in ACCESSIBLE_KINDS:
            problems.append(
                (
                    "access_url",
                    Message(
                        "only a %(accessible_kinds)s has an access URL",
                        accessible_kinds=" or a ".join(ACCESSIBLE_KINDS),
                    ),
                )
            )
        if self.project_start and self.project_end and self.project_end < self.project_start:
            problems.append(("project_end", Message("must not be before project_start")))
        if self.funding_amount is not None and self.funding_source is None:
            problems.append(("funding_source", Message("name where the funding_amount came from")))
        if problems:
            raise FieldErrors(problems)
        return self


class ApplicationChangeIn(Body):
    status: ApplicationState
    note: Text(0, 2000, multiline=True) | None = None
    proof: Text(1, 64) | None = Field(
        default=None,
        description="id of an approved application_proof filing of the same province that "
        "proves this result; a change earns points only with its proof attached",
    )


# ---- keys ---------------------------------------------------------------------------------


def key(filing_id: str) -> str:
    """The partition of a filing: its own item, its counters, its evaluations and comments."""
    return f"FILING#{filing_id}"


def doc_key(filing_id: str) -> tuple[str, str]:
    """The filing's own item."""
    return key(filing_id), lifecycle.DOC_SK


def reference_key(province: str, reference: str) -> tuple[str, str]:
    """A province's own reference of a filing (bulk imports): taken once, so a sheet sent twice files once."""
    return f"FILINGREF#{province}", reference


def create_once(caller: Caller | None, body: FilingIn, reference: str, now: datetime) -> tuple[Filing, bool]:
    """File under the province's own `reference` unless a filing already holds it: (filing, created)."""
    pk, sk = reference_key(body.province, reference)
    taken = Record(pk, sk, kind="filing_reference", data={}, created_at=now)
    try:
        return create(caller, body, now, reference=taken), True
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
    try:
        existing = Record.get(pk, sk)
    except Record.DoesNotExist:  # the filing itself collided: a retry of the same row files it
        raise Conflict(
            Message("Reference %(reference)s could not be filed; send the sheet again", reference=reference)
        ) from None
    return Filing.get(key(existing.data["filing"]), lifecycle.DOC_SK), False


def create(caller: Caller | None, body: FilingIn, now: datetime, reference: Record | None = None) -> Filing:
    """File a result for the caller's own province; it waits for review as `pending`."""
    caller, cycle = lifecycle.filing_cycle(caller, body.province, now)
    _check_proves(body)
    filing_id = str(uuid.uuid4())
    filing = Filing(
        key(filing_id),
        "A",
        entity="filing",
        id=filing_id,
        kind=body.kind,
        title=body.title,
        province=body.province,
        unit=body.unit,
        industry=body.industry,
        report_type=body.report_type,
        fiscal_funded=body.fiscal_funded,
        summary=body.summary,
        proves=body.proves,
        access_url=body.access_url,
        status="pending",
        filed_at=now,
        cycle=cycle.id,
        author=caller.sub,
        **body.model_dump(include=set(SCOPE_FIELDS)),
    )
    lifecycle.index_keys(PREFIX, filing)
    also = ()
    if reference is not None:
        reference.data = {"filing": filing_id}
        also = ((reference, Record.pk.does_not_exist()),)
    lifecycle.save_new(filing, "filing", caller, now, body.model_dump(), also)
    return filing


def check_proves(body: FilingIn) -> None:
    """422 unless an application_proof names an existing filing (bulk imports judge rows with it)."""
    _check_proves(body)


def _check_proves(body: FilingIn) -> None:
    if body.proves is not None:
        try:
            Filing.get(key(body.proves), "A")
        except Filing.DoesNotExist:
            raise Invalid(
                Message("proves names no filing"),
                errors=[{"field": "proves", "message": Message("no such filing")}],
            ) from None


def revise(caller: Caller | None, filing_id: str, body: FilingIn, now: datetime) -> Filing:
    """Correct and resubmit a filing of the caller's province (lifecycle.revise)."""
    filing = writable(caller, filing_id)
    lifecycle.same_province(body.province, filing.province)
    _check_proves(body)
    fields = body.model_dump(exclude={"province"})
    # A new revision replaces the content waiting for review, not what other routes proposed (the attribution).
    kept = {k: v for k, v in (filing.proposed or {}).get("fields", {}).items() if k not in fields}
    return lifecycle.revise(filing, PREFIX, "filing", caller, {**kept, **fields}, now)


def propose(filing: Filing, caller: Caller, fields: dict[str, Any], now: datetime) -> Filing:
    """Add `fields` to the revision of an approved filing waiting for review (a new one if none waits):
    they apply when a national admin approves it (lifecycle.review)."""
    waiting = (filing.proposed or {}).get("fields", {})
    return lifecycle.revise(filing, PREFIX, "filing", caller, {**waiting, **fields}, now)


def withdraw(caller: Caller | None, filing_id: str, now: datetime) -> Filing:
    """Withdraw a filing of the caller's province before approval."""
    filing = writable(caller, filing_id)
    return lifecycle.withdraw(filing, PREFIX, "filing", caller, now)


def get(caller: Caller | None, filing_id: str) -> Filing:
    """A filing the caller may see (approved, or their own province's, or any for national admins)."""
    return lifecycle.get_visible(Filing, key(filing_id), caller, "filing")


def get_approved(caller: Caller | None, filing_id: str) -> Filing:
    """A visible filing that has been approved: what interactions may target."""
    filing = get(caller, filing_id)
    if filing.status != "approved":
        raise Conflict(
            Message(
                "Filing %(filing_id)s is %(status)s; only approved filings take this",
                filing_id=filing_id,
                status=filing.status,
            )
        )
    return filing


def list_page(
    caller: Caller | None, params: dict[str, str | None], limit: int, cursor: str | None, secret: str
) -> Page:
    """Filings newest first, filtered by province, kind, status, cycle and industry."""
    filters = lifecycle.checked_filters(
        params,
        {"province": PROVINCES, "kind": FILING_KINDS, "status": REVIEW_STATUSES, "industry": INDUSTRIES},
    )
    return lifecycle.list_page(Filing, PREFIX, caller, filters, limit, cursor, secret)


def review(caller: Caller | None, filing_id: str, body: ReviewIn, now: datetime) -> Filing:
    """Approve or reject a filing (national admins); only approved filings count anywhere."""
    caller = require(caller)
    filing = get(caller, filing_id)
    return lifecycle.review(filing, PREFIX, "filing", caller, body.decision, body.note, now)


def change_application(
    caller: Caller | None, filing_id: str, body: ApplicationChangeIn, now: datetime
) -> ApplicationUpdate:
    """Record a change of how an approved result is applied; every change is kept.

    The change earns points when it reaches a state of the progression further than any the
    result earned before, with its proof attached. That is decided here, against the
    filing's `application_reached` under its version condition, and stored with the change:
    the counters then depend on this one fact alone, so redelivery cannot change them.
    """
    caller = require(caller)
    filing = writable(caller, filing_id)
    if filing.status != "approved":
        raise Conflict(
            Message(
                "Filing %(filing_id)s is %(status)s; application changes need an approved filing",
                filing_id=filing_id,
                status=filing.status,
            )
        )
    if body.proof is not None:
        _check_proof(body.proof, filing)
    rank = APPLICATION_PROGRESSION.index(body.status) if body.status in APPLICATION_PROGRESSION else 0
    earned = body.proof is not None and rank > (filing.application_reached or 0)
    update = _application_update(caller, filing, body, earned, now)
    actions = [Filing.application_status.set(body.status)]
    if earned:
        actions.append(Filing.application_reached.set(rank))
    try:
        with transaction() as tx:
            tx.save(update, condition=ApplicationUpdate.pk.does_not_exist())
            tx.update(filing, actions=actions)  # conditional on the version read above
            tx.save(
                audit.entry(
                    "filing",
                    filing_id,
                    "application_change",
                    caller,
                    now,
                    {**body.model_dump(), "earned": earned},
                )
            )
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        raise Conflict(
            Message(
                "Filing %(filing_id)s changed meanwhile; read its application history and retry",
                filing_id=filing_id,
            )
        ) from None
    return update


def _application_update(
    caller: Caller, filing: Filing, body: ApplicationChangeIn, earned: bool, now: datetime
) -> ApplicationUpdate:
    """One change of the filing's application history, kept under the filing in time order."""
    change_id = uuid.uuid4().hex
    return ApplicationUpdate(
        key(filing.id),
        f"APP#{sortable(now)}#{change_id}",
        entity="application_update",
        id=change_id,
        filing=filing.id,
        province=filing.province,
        status=body.status,
        note=body.note,
        by=caller.sub,
        at=now,
        proof=body.proof,
        earned=earned,
    )


def _check_proof(proof_id: str, filing: Filing) -> None:
    """The proof must be an approved application_proof of the same province proving this result."""
    try:
        proof = Filing.get(key(proof_id), "A")
    except Filing.DoesNotExist:
        proof = None
    problem = (
        Message("names no filing")
        if proof is None or proof.province != filing.province
        else Message("is not an application_proof")
        if proof.kind != "application_proof"
        else Message("proves another result")
        if proof.proves != filing.id
        else Message("is %(status)s; only an approved proof counts", status=proof.status)
        if proof.status != "approved"
        else None
    )
    if problem:
        raise Invalid(
            Message("proof %(problem)s", problem=problem), errors=[{"field": "proof", "message": problem}]
        )


def writable(caller: Caller | None, filing_id: str) -> Filing:
    """A filing the caller may change: 404 when it does not exist, 403 when it is another province's."""
    return lifecycle.get_writable(Filing, key(filing_id), caller, "filing")


def application_history(
    caller: Caller | None, filing_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the application changes of a visible filing, oldest first."""
    get(caller, filing_id)
    query = partial(ApplicationUpdate.query, key(filing_id), ApplicationUpdate.sk.startswith("APP#"))
    return query_page(query, limit, cursor, scope_of("APP", filing=filing_id), secret).to_dict(
        render_application
    )


def history(
    caller: Caller | None, filing_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the audit trail of a filing (its province and national admins)."""
    filing = get(caller, filing_id)
    if caller is None or not caller.sees_all_of(filing.province):
        raise NotFound(Message("No filing %(filing_id)s", filing_id=filing_id))
    return audit.trail_page("filing", filing_id, limit, cursor, secret)


def take_down(caller: Caller | None, filing_id: str, body: lifecycle.TakedownIn, now: datetime) -> Filing:
    """Take an approved filing out of public view with a reason (national admins; lifecycle.take_down)."""
    caller = require(caller)
    return lifecycle.take_down(get(caller, filing_id), PREFIX, "filing", caller, body, now)


# ---- scope ----------------------------------------------------------------------------------

SCOPE_FIELDS = (
    "completed_on",
    "project_start",
    "project_end",
    "funding_source",
    "funding_amount",
    "funded_project",
)


def scope_reason(completed_on: str | None, cycle: Cycle | None) -> str | None:
    """Why a result completed on `completed_on` (China date) is out of `cycle`'s scope; None when in scope
    (a result without a completion date cannot be judged and stays in)."""
    if not completed_on or cycle is None:
        return None
    done = date.fromisoformat(completed_on)
    window = f"{cycle.first_day.isoformat()} to {cycle.last_day.isoformat()}"
    if done < cycle.first_day:
        return f"completed {completed_on}, before the cycle {cycle.id} window ({window})"
    if done > cycle.last_day:
        return f"completed {completed_on}, after the cycle {cycle.id} window ({window})"
    return None


def in_scope(filing: Filing, cycle: Cycle | None = None) -> str | None:
    """The one scope rule screening and statistics apply: the reason `filing` is out of `cycle`'s scope (its
    own cycle by default), or None when it is in scope."""
    return scope_reason(filing.completed_on, cycle or cycle_by_id(filing.cycle))


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def render(filing: Filing) -> dict[str, Any]:
    return {
        "id": filing.id,
        "kind": filing.kind,
        "title": filing.title,
        "province": filing.province,
        "unit": filing.unit,
        "industry": filing.industry,
        "report_type": filing.report_type,
        "fiscal_funded": filing.fiscal_funded,
        "summary": filing.summary,
        "proves": filing.proves,
        "access_url": filing.access_url,
        "status": filing.status,
        "filed_at": iso(filing.filed_at),
        "cycle": filing.cycle,
        "application_status": filing.application_status,
        **{name: _number(getattr(filing, name)) for name in SCOPE_FIELDS},
        "out_of_scope": in_scope(filing),
        "reviewed_at": iso(filing.reviewed_at) if filing.reviewed_at else None,
        "review_note": filing.review_note,
        **lifecycle.revision_state(filing),
        **lifecycle.takedown_state(filing),
    }


def render_application(update: ApplicationUpdate) -> dict[str, Any]:
    return {
        "id": update.id,
        "filing": update.filing,
        "status": update.status,
        "note": update.note,
        "proof": update.proof,
        "earned": bool(update.earned),
        "by": update.by,
        "at": iso(update.at),
    }
