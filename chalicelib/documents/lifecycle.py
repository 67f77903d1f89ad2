"""The life cycle filings and publications share: filed pending, reviewed, listed by visibility."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import Field
from pynamodb.exceptions import TransactWriteError

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require, require_province
from chalicelib.core.clock import iso, sortable
from chalicelib.core.cycles import Cycle, cycle_by_id, cycle_for
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message, noun
from chalicelib.core.models import FactBase
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import transaction
from chalicelib.core.vocabulary import PROVINCE_ROLES, ReviewDecision
from chalicelib.documents import notifications

FILERS = PROVINCE_ROLES  # who files and edits a province's documents
DOC_SK = "A"  # the sort key of a filing's or publication's own item in its partition


# A national admin's decision on a pending filing or publication, or on its proposed revision
# (no docstring: pydantic would print it in the OpenAPI document).
class ReviewIn(Body):
    decision: ReviewDecision
    note: Text(0, 2000, multiline=True) | None = None


# A national admin takes an approved record down (no docstring: pydantic would print it in the OpenAPI document).
class TakedownIn(Body):
    reason: Text(1, 2000, multiline=True) = Field(
        description="why it leaves public view (audited, told to the filer)"
    )
    exclude_from_scoring: bool = Field(
        default=False,
        description="also take it out of its cycle's counts of approved records; by default they stay",
    )


def filing_cycle(caller: Caller | None, province: str, now: datetime) -> tuple[Caller, Cycle]:
    """The caller, if it files for `province`, and the cycle a document filed `now` belongs to."""
    caller = require(caller)
    require_province(caller, province)
    cycle = cycle_for(now)
    if cycle is None:
        raise Conflict(Message("No evaluation cycle holds the current time"))
    return caller, cycle


def index_keys(prefix: str, doc: Any) -> None:
    """Set the three list-index keys of a filing or publication from its fields."""
    order = f"{sortable(doc.filed_at)}#{doc.id}"
    doc.gsi1pk, doc.gsi1sk = f"{prefix}#P#{doc.province}", order
    doc.gsi2pk, doc.gsi2sk = f"{prefix}#S#{doc.status}", order
    doc.gsi3pk, doc.gsi3sk = prefix, order


def save_new(
    doc: FactBase,
    entity: str,
    caller: Caller,
    now: datetime,
    data: dict,
    also: tuple[tuple[Any, Any], ...] = (),
) -> None:
    """Store a new document and its audit entry together (with `also`: (item, condition) pairs);
    nothing is stored if any fails."""
    with transaction() as tx:
        tx.save(doc, condition=FactBase.pk.does_not_exist())
        tx.save(audit.entry(entity, doc.id, "filed", caller, now, data))
        for item, condition in also:
            tx.save(item, condition=condition)


def get_visible(model: type[FactBase], key: str, caller: Caller | None, what: str) -> Any:
    """The document if this caller may see it; 404 otherwise (existence is not revealed)."""
    try:
        doc = model.get(key, "A")
    except model.DoesNotExist:
        raise NotFound(Message("No %(what)s %(id)s", what=noun(what), id=key.split("#", 1)[1])) from None
    if doc.status != "approved" and not (caller and caller.sees_all_of(doc.province)):
        raise NotFound(Message("No %(what)s %(id)s", what=noun(what), id=doc.id))
    return doc


def get_writable(model: type[FactBase], key: str, caller: Caller | None, what: str) -> Any:
    """The document if the caller's province may change it: 404 when it does not exist, 403 when it is
    another province's (ids are random UUIDs: the token's province is what does not allow the action)."""
    caller = require(caller)
    try:
        doc = model.get(key, "A")
    except model.DoesNotExist:
        raise NotFound(Message("No %(what)s %(id)s", what=noun(what), id=key.split("#", 1)[1])) from None
    require_province(caller, doc.province)
    return doc


def review(
    doc: Any, prefix: str, entity: str, caller: Caller, decision: str, note: str | None, now: datetime
) -> Any:
    """Apply a national admin's decision; kept in the audit trail and told to the filer.

    An approved record with a proposed change has the change reviewed: approving applies it,
    rejecting drops it; the record stays approved either way.
    """
    if doc.status in ("withdrawn", "taken_down"):
        raise Conflict(
            Message(
                "The %(entity)s was %(status)s; there is nothing to review",
                entity=noun(entity),
                status=doc.status.replace("_", " "),
            )
        )
    before = doc.status
    if doc.status == "approved" and doc.proposed:
        proposal, doc.proposed = doc.proposed, None
        if decision == "approve":
            before_versions = approved_versions(doc)  # read before the revision number moves
            _apply(doc, proposal["fields"])
            doc.revision = proposal["revision"]
            doc.versions = [*before_versions, _version(proposal["revision"], proposal.get("id"), caller, now)]
        action, revision = f"review-revision:{decision}", proposal["revision"]
    else:
        if decision == "approve" and doc.status != "approved":
            doc.versions = [*approved_versions(doc), _version(int(doc.revision or 1), None, caller, now)]
        doc.status = "approved" if decision == "approve" else "rejected"
        if doc.status == "approved" and hasattr(doc, "first_approved_at") and doc.first_approved_at is None:
            doc.first_approved_at = now
        action, revision = f"review:{decision}", int(doc.revision or 1)
    doc.reviewed_at, doc.reviewed_by, doc.review_note = now, caller.sub, note
    index_keys(prefix, doc)
    told = notifications.review_decision(doc, entity, decision, note, revision, now)
    _save(
        doc,
        entity,
        caller,
        now,
        action,
        {"from": before, "to": doc.status, "note": note, "revision": revision},
        told,
    )
    notifications.trim(doc.author)
    return doc


def revise(doc: Any, prefix: str, entity: str, caller: Caller, fields: dict[str, Any], now: datetime) -> Any:
    """Correct and resubmit (the record's province): a new version goes back to review.

    A pending or rejected record changes in place and is pending again. An approved one keeps
    what the public sees; the change waits in `proposed` until reviewed. Counters belong to
    the record, not the version, so none of this touches them.
    """
    if doc.status in ("withdrawn", "taken_down"):
        raise Conflict(
            Message(
                "The %(entity)s was %(status)s; file a new one",
                entity=noun(entity),
                status=doc.status.replace("_", " "),
            )
        )
    before, revision = doc.status, int(doc.revision or 1) + 1
    if doc.status == "approved":
        # A proposal's own id: files added for it (attachments.py) join the record only if it is approved,
        # even when a dropped proposal had the same revision number.
        proposal_id = doc.proposed["id"] if doc.proposed and doc.proposed.get("id") else uuid.uuid4().hex
        doc.proposed = {
            "revision": revision,
            "fields": fields,
            "submitted_at": iso(now),
            "by": caller.sub,
            "id": proposal_id,
        }
    else:
        _apply(doc, fields)
        doc.status, doc.revision, doc.proposed = "pending", revision, None
        index_keys(prefix, doc)
    _save(doc, entity, caller, now, "revised", {"from": before, "revision": revision, "fields": fields})
    return doc


def withdraw(doc: Any, prefix: str, entity: str, caller: Caller, now: datetime) -> Any:
    """Withdraw a record before approval (idempotent); an approved one stays."""
    if doc.status == "withdrawn":
        return doc
    if doc.status in ("approved", "taken_down"):
        raise Conflict(
            Message(
                "The %(entity)s is %(status)s; it cannot be withdrawn",
                entity=noun(entity),
                status=doc.status.replace("_", " "),
            )
        )
    before, doc.status = doc.status, "withdrawn"
    index_keys(prefix, doc)
    _save(doc, entity, caller, now, "withdrawn", {"from": before})
    return doc


def take_down(doc: Any, prefix: str, entity: str, caller: Caller, body: TakedownIn, now: datetime) -> Any:
    """Take an approved record out of public view (national admins): audited and told to its filer.

    Its counters stay for its cycle's scoring unless the takedown excludes it (counting_rules.scored);
    usage already counted stays with the province either way. Taking it down twice changes nothing.
    """
    if doc.status == "taken_down":
        return doc
    if doc.status != "approved":
        raise Conflict(
            Message(
                "The %(entity)s is %(status)s; only an approved record is taken down",
                entity=noun(entity),
                status=doc.status,
            )
        )
    doc.status, doc.proposed = "taken_down", None  # a waiting revision goes with it
    doc.taken_down_at, doc.takedown_reason, doc.excluded_from_scoring = (
        now,
        body.reason,
        body.exclude_from_scoring,
    )
    index_keys(prefix, doc)
    _save(
        doc,
        entity,
        caller,
        now,
        "taken_down",
        {"from": "approved", "reason": body.reason, "exclude_from_scoring": body.exclude_from_scoring},
        notifications.taken_down(doc, entity, now),
    )
    notifications.trim(doc.author)
    return doc


def same_province(asked: str, own: str) -> None:
    """A revision keeps its record's province (422 otherwise)."""
    if asked != own:
        raise Invalid(
            Message("A revision keeps the record's province"),
            errors=[{"field": "province", "message": Message("must stay %(own)s", own=own)}],
        )


def revision_state(doc: Any) -> dict[str, Any]:
    """What every reader may know of a record's versions (the proposed content stays in its history)."""
    return {"revision": int(doc.revision or 1), "revision_pending": bool(doc.proposed)}


def _version(revision: int, proposal: str | None, caller: Caller, now: datetime) -> dict[str, Any]:
    return {"revision": revision, "proposal": proposal, "approved_at": iso(now), "by": caller.sub}


def approved_versions(doc: Any) -> list[dict[str, Any]]:
    """The record's approved versions, oldest first: {revision, proposal (None: as first filed), approved_at, by}.
    A record approved before versions were kept has its current one."""
    if doc.versions:
        return list(doc.versions)
    if doc.status in ("approved", "taken_down"):
        return [
            {
                "revision": int(doc.revision or 1),
                "proposal": None,
                "approved_at": iso(doc.reviewed_at) if doc.reviewed_at else None,
                "by": doc.reviewed_by,
            }
        ]
    return []


def takedown_state(doc: Any) -> dict[str, Any]:
    """Why and when a record was taken down (only its province and national admins still read it)."""
    if doc.taken_down_at is None:
        return {}
    return {
        "takedown": {
            "at": iso(doc.taken_down_at),
            "reason": doc.takedown_reason,
            "exclude_from_scoring": bool(doc.excluded_from_scoring),
        }
    }


def _apply(doc: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(doc, name, value)


def _save(doc: Any, entity: str, caller: Caller, now: datetime, action: str, data: dict, *also: Any) -> None:
    """Save a changed record with its audit entry (and `also`) in one transaction, on the version read."""
    try:
        with transaction() as tx:
            tx.save(doc)  # the version attribute makes this conditional on what we read
            tx.save(audit.entry(entity, doc.id, action, caller, now, data))
            for extra in also:
                tx.save(extra)
    except TransactWriteError:
        raise Conflict(
            Message("The %(entity)s changed meanwhile; read it again and retry", entity=noun(entity))
        ) from None


def list_page(
    model: type[FactBase],
    prefix: str,
    caller: Caller | None,
    filters: dict[str, str | None],
    limit: int,
    cursor: str | None,
    secret: str,
) -> Page:
    """Newest first, filtered, restricted to what the caller may see."""
    filters = {k: v for k, v in filters.items() if v is not None}
    province, status = filters.get("province"), filters.get("status")
    public = caller is None or not (caller.is_national_admin or caller.role in PROVINCE_ROLES)
    if province:
        index, hash_key = model.by_province, f"{prefix}#P#{province}"
    elif status:
        index, hash_key = model.by_status, f"{prefix}#S#{status}"
    elif public:
        index, hash_key = model.by_status, f"{prefix}#S#approved"
    else:
        index, hash_key = model.by_time, prefix

    condition = None
    for name, value in filters.items():
        if (name == "province" and province) or (name == "status" and index is model.by_status):
            continue
        term = getattr(model, name) == value
        condition = term if condition is None else condition & term
    visibility = None
    if public:
        visibility = model.status == "approved"
    elif not caller.is_national_admin:
        visibility = (model.status == "approved") | (model.province == caller.province)
    if visibility is not None:
        condition = visibility if condition is None else condition & visibility

    visibility_scope = "public" if public else ("national" if caller.is_national_admin else caller.province)
    scope = scope_of(prefix, who=visibility_scope, **filters)
    start = decode_cursor(cursor, scope, secret)
    gsi = index.Meta.index_name
    results = index.query(
        hash_key,
        filter_condition=condition,
        scan_index_forward=False,
        last_evaluated_key=start,
        page_size=min(limit + 1, 200),
    )

    def key_of(doc: Any) -> dict:
        return {name: {"S": getattr(doc, name)} for name in ("pk", "sk", f"{gsi}pk", f"{gsi}sk")}

    return take_page(results, limit, key_of, scope, secret)


def checked_filters(
    params: Mapping[str, str | None], choices: Mapping[str, Collection[str]]
) -> dict[str, str | None]:
    """The list filters asked for (`choices` plus `cycle`); 422 for a value that cannot exist."""
    for field, allowed in choices.items():
        _check_choice(field, params.get(field), allowed)
    if params.get("cycle") is not None and cycle_by_id(params["cycle"]) is None:
        _check_choice("cycle", params["cycle"], ())
    return {name: params.get(name) for name in (*choices, "cycle")}


def _check_choice(field: str, value: str | None, allowed: Collection[str]) -> None:
    if value is not None and value not in allowed:
        raise Invalid(
            Message("Unknown %(field)s %(value)r", field=field, value=value),
            errors=[{"field": field, "message": Message("unknown value")}],
        )
