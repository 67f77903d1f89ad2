"""Demands and suggestions (实际需求和意见建议): a user sends one to a province or to the national office,
tagged by industry field; the addressee lists, answers and closes it; the sender is told each step.

An item lives in the records table under `DEMAND#<id>`, indexed on gsi1 by addressee
(`DEMANDS#<province code | national>`, newest first). Each answer and the closing are audited and
written with the sender's notification in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, IndustryCode, Text
from chalicelib.core.store import TransactWriteError, transaction
from chalicelib.core.vocabulary import DEMAND_STATUSES, NATIONAL_OFFICE, DemandKind
from chalicelib.documents import notifications

KIND = "demand"
SENDERS = ("user",)  # government, enterprise, university and research users
ADDRESSEES = (
    "national_admin",
    "province_admin",
)  # who answers: the addressed province's admins, national admins


class DemandIn(Body):
    to: str = Field(
        description="a 6-digit province code from /provinces, or 'national' for the national office"
    )
    kind: DemandKind
    industry: IndustryCode = Field(description="industry code from /industries")
    title: Text(1, 200)
    text: Text(1, 5000, multiline=True)


class AnswerIn(Body):
    text: Text(1, 5000, multiline=True)


class CloseIn(Body):
    note: Text(0, 2000, multiline=True) | None = None


def key(demand_id: str) -> tuple[str, str]:
    return f"DEMAND#{demand_id}", "A"


def addressee_pk(to: str) -> str:
    return f"DEMANDS#{to}"


def send(caller: Caller | None, body: DemandIn, now: datetime) -> dict[str, Any]:
    """Store a user's demand or suggestion for its addressee (open)."""
    caller = require(caller)
    if body.to != NATIONAL_OFFICE and body.to not in PROVINCES:
        raise Invalid(
            Message("Unknown addressee"),
            errors=[{"field": "to", "message": Message("a province code or 'national'")}],
        )
    demand_id = uuid.uuid4().hex
    data = {
        "id": demand_id,
        "to": body.to,
        "kind": body.kind,
        "industry": body.industry,
        "title": body.title,
        "text": body.text,
        "from": caller.sub,
        "side": caller.side,
        "status": "open",
        "sent_at": iso(now),
        "answers": [],
        "closed_at": None,
        "close_note": None,
    }
    record = Record(
        *key(demand_id),
        kind=KIND,
        data=data,
        created_at=now,
        updated_at=now,
        gsi1pk=addressee_pk(body.to),
        gsi1sk=f"{sortable(now)}#{demand_id}",
    )
    record.save(condition=Record.pk.does_not_exist())
    return render(record, caller)


def _may_answer(caller: Caller, to: str) -> bool:
    return caller.is_national_admin or (caller.role == "province_admin" and caller.province == to)


def _may_read(caller: Caller, to: str) -> bool:
    return caller.is_national_admin or (to != NATIONAL_OFFICE and caller.acts_for(to))


def _load(caller: Caller, demand_id: str) -> Record:
    try:
        record = Record.get(*key(demand_id), consistent_read=True)
    except Record.DoesNotExist:
        record = None
    if (
        record is None
        or record.kind != KIND
        or not (record.data["from"] == caller.sub or _may_read(caller, record.data["to"]))
    ):
        raise NotFound(
            Message("No demand %(demand_id)s", demand_id=demand_id)
        )  # another's demand is not revealed
    return record


def get(caller: Caller | None, demand_id: str) -> dict[str, Any]:
    """One demand: its sender, the addressed province's staff, national admins."""
    caller = require(caller)
    return render(_load(caller, demand_id), caller)


def answer(caller: Caller | None, demand_id: str, body: AnswerIn, now: datetime) -> dict[str, Any]:
    """Answer a demand (the addressee); it is `answered` and the sender is told. Answering again adds."""
    caller = require(caller)
    record = _addressed(caller, demand_id)
    data = dict(record.data)
    data["answers"] = [*data["answers"], {"text": body.text, "by": caller.sub, "at": iso(now)}]
    data["status"] = "answered"
    return _change(record, data, caller, now, "answered", {"text": body.text})


def close(caller: Caller | None, demand_id: str, body: CloseIn, now: datetime) -> dict[str, Any]:
    """Close a demand (the addressee); the sender is told. Closing twice changes nothing."""
    caller = require(caller)
    record = _addressed(caller, demand_id)
    if record.data["status"] == "closed":
        return render(record, caller)
    data = {**record.data, "status": "closed", "closed_at": iso(now), "close_note": body.note}
    return _change(record, data, caller, now, "closed", {"note": body.note})


def _addressed(caller: Caller, demand_id: str) -> Record:
    record = _load(caller, demand_id)
    if not _may_answer(caller, record.data["to"]):
        raise Forbidden(
            Message("Only the addressed province's admins or national admins answer and close it")
        )
    return record


def _change(
    record: Record, data: dict, caller: Caller, now: datetime, action: str, extra: dict
) -> dict[str, Any]:
    if record.data["status"] == "closed":
        raise Conflict(Message("Demand %(id)s is closed", id=data["id"]))
    record.data, record.updated_at = data, now
    told = notifications.item(
        data["from"],
        f"demand_{action}",
        {
            "demand": data["id"],
            "title": data["title"],
            "status": data["status"],
            **extra,
            "link": f"/demands/{data['id']}",
        },
        now,
    )
    try:
        with transaction() as tx:
            tx.save(record)  # conditional on the version read
            tx.save(audit.entry(KIND, data["id"], action, caller, now, extra))
            tx.save(told)
    except TransactWriteError:
        raise Conflict(
            Message("Demand %(id)s changed meanwhile; read it again and retry", id=data["id"])
        ) from None
    notifications.trim(data["from"])  # the sender keeps the newest NOTIFICATIONS_KEPT_PER_USER
    return render(record, caller)


def page(
    caller: Caller | None,
    to: str | None,
    status: str | None,
    industry: str | None,
    limit: int,
    cursor: str | None,
    secret: str,
) -> Page:
    """The demands addressed to `to` (a province or the national office), newest first, optionally by status
    and industry: the province's staff, national admins."""
    caller = require(caller)
    if to is None:
        raise Invalid(Message("Name the addressee"), errors=[{"field": "to", "message": Message("required")}])
    if to != NATIONAL_OFFICE and to not in PROVINCES:
        raise Invalid(
            Message("Unknown addressee"),
            errors=[{"field": "to", "message": Message("a province code or 'national'")}],
        )
    if status is not None and status not in DEMAND_STATUSES:
        raise Invalid(
            Message("Unknown status %(status)r", status=status),
            errors=[{"field": "status", "message": Message("unknown value")}],
        )
    if not _may_read(caller, to):
        raise Forbidden(Message("Demands are read by the addressed province's staff and national admins"))
    scope = scope_of("DEMANDS", to=to, status=status, industry=industry)
    start = decode_cursor(cursor, scope, secret)
    results = (
        r
        for r in Record.by_group.query(
            addressee_pk(to),
            scan_index_forward=False,
            last_evaluated_key=start,
            page_size=min(limit + 1, 200),
        )
        if (status is None or r.data["status"] == status)
        and (industry is None or r.data["industry"] == industry)
    )

    def key_of(record: Record) -> dict:
        return {name: {"S": getattr(record, name)} for name in ("pk", "sk", "gsi1pk", "gsi1sk")}

    return take_page(results, limit, key_of, scope, secret)


def render(record: Record, caller: Caller | None = None) -> dict[str, Any]:
    """A demand; who sent it is shown to its sender and national admins only."""
    data = dict(record.data)
    if caller is None or not (caller.is_national_admin or caller.sub == data["from"]):
        data.pop("from", None)
    return data
