"""Told, not polling: feed items for the people something concerns.

- A review decision (with its note) goes to the record's filer, written in the same
  transaction as the decision (documents.review), so no decision is recorded untold.
- Each province's admins are told of its selection decisions, revocations and results to
  contest (scoring, selection), through `to_province`, in the transaction of the decision.
- Each province's admins are reminded of the annual-form window and the filing cutoff by a daily
  schedule (scoring/reminders.py), written to their role's audience `NOTE#ROLE#<role>#<province>`.
  The platform keeps no list of admins; every token of the role reads it.

Items live in the records table, sorted by time; GET /me/notifications merges the caller's
own items with its role's, newest first, each with a `message` (title and text) rendered from its
topic in the caller's language when read: the stored item stays the data it was written with. A user keeps the newest NOTIFICATIONS_KEPT_PER_USER of
its own (core/config.py): each write drops the oldest beyond them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.core import config, keys, quotas
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.messages import Message, current, noun
from chalicelib.core.models import Record
from chalicelib.core.paging import decode_cursor, encode_cursor, scope_of
from chalicelib.core.store import cancelled_by_condition

KIND = "notification"
PROVINCE_AUDIENCE_ROLE = "province_admin"  # the role told of its own province's matters
TOPICS = (
    "review_decision",
    "taken_down",
    "annual_form_window_opens",
    "annual_form_window_closing",
    "filing_cutoff",
    "demand_answered",
    "demand_closed",
    "excellent_project_selected",
    "excellent_project_not_selected",
    "excellent_project_revoked",
    "results_provisional",
    "objection_filed",
    "objection_answered",
    "results_final",
)

# Each topic's title and text; the parameters are the item's data fields (absent or null: empty).
TOPIC_MESSAGES = {
    "review_decision": (
        Message("Your %(entity)s was reviewed"),
        Message("%(title)s: %(decision)s (now %(status)s). %(note)s"),
    ),
    "taken_down": (
        Message("Your %(entity)s was taken down"),
        Message("%(title)s was taken down: %(reason)s"),
    ),
    "annual_form_window_opens": (
        Message("The annual form window opens"),
        Message("The %(year)s annual information form is accepted from %(opens_at)s until %(closes_at)s."),
    ),
    "annual_form_window_closing": (
        Message("The annual form window is closing"),
        Message("The %(year)s annual information form is accepted until %(closes_at)s."),
    ),
    "filing_cutoff": (
        Message("The filing cutoff is near"),
        Message("Filings count for cycle %(cycle)s until %(cutoff)s: %(days_left)s days left."),
    ),
    "demand_answered": (Message("Your demand was answered"), Message("%(title)s was answered.")),
    "demand_closed": (Message("Your demand was closed"), Message("%(title)s was closed.")),
    "excellent_project_selected": (
        Message("An excellent project was selected"),
        Message("%(title)s is an excellent project of cycle %(cycle)s (panel score %(panel_score)s)."),
    ),
    "excellent_project_not_selected": (
        Message("An excellent project was not selected"),
        Message("%(title)s was not selected in cycle %(cycle)s (panel score %(panel_score)s)."),
    ),
    "excellent_project_revoked": (
        Message("An excellent project was revoked"),
        Message("%(title)s is no longer an excellent project of cycle %(cycle)s: %(reason)s"),
    ),
    "results_provisional": (
        Message("Provisional results are published"),
        Message(
            "Run %(run_id)s of cycle %(cycle)s is published provisionally; objections until %(closes_at)s."
        ),
    ),
    "objection_filed": (
        Message("An objection was filed"),
        Message("%(province)s filed objection %(objection)s to cycle %(cycle)s."),
    ),
    "objection_answered": (
        Message("Your objection was answered"),
        Message("Objection %(objection)s to cycle %(cycle)s: %(decision)s. %(reason)s"),
    ),
    "results_final": (
        Message("Final results are published"),
        Message("Run %(run_id)s of cycle %(cycle)s is the final result."),
    ),
}
_FIELD = re.compile(r"%\((\w+)\)")


def _field(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    return "" if value is None else noun(value) if name == "entity" else value


def rendered(data: dict[str, Any], language: str) -> dict[str, Any]:
    """A stored notification with its topic's `message` (title and text) in `language`."""
    templates = TOPIC_MESSAGES.get(data.get("topic", ""))
    if templates is None:
        return data
    title, text = (
        Message(t.msgid, **{f: _field(data, f) for f in _FIELD.findall(t.msgid)}) for t in templates
    )
    return {**data, "message": {"title": title.render(language), "text": text.render(language).strip()}}


def pk(user: str) -> str:
    return f"NOTE#{keys.part(user)}"


def role_pk(role: str, province: str) -> str:
    return f"NOTE#ROLE#{role}#{province}"


NATIONAL = "national"  # the national admins' audience has no province


def audiences(caller: Caller) -> list[str]:
    """Where the caller's notifications live: its own, and its role's in its province (national
    admins: the national office's)."""
    own = [pk(caller.sub)]
    if caller.is_national_admin:
        return own + [role_pk(caller.role, NATIONAL)]
    return own + [role_pk(caller.role, caller.province)] if caller.role == PROVINCE_AUDIENCE_ROLE else own


def to_national_admins(topic: str, data: dict[str, Any], now: datetime) -> Record:
    """A notification to every national admin (save it in the transaction of what it tells about)."""
    return Record(
        role_pk("national_admin", NATIONAL),
        f"{sortable(now)}#{uuid.uuid4().hex[:12]}",
        kind=KIND,
        created_at=now,
        data={"topic": topic, "at": iso(now), **data},
    )


def item(user: str, topic: str, data: dict[str, Any], now: datetime) -> Record:
    """A notification to save (in the transaction of what it tells about)."""
    return Record(
        pk(user),
        f"{sortable(now)}#{uuid.uuid4().hex[:12]}",
        kind=KIND,
        created_at=now,
        data={"topic": topic, "at": iso(now), **data},
    )


def trim(user: str) -> int:
    """Count the notification just written to `user` and drop the oldest beyond the newest
    NOTIFICATIONS_KEPT_PER_USER; returns how many were dropped. Its cost does not grow with the data:
    one counter update, and a query and deletes only of the few over the bound."""
    over = quotas.add(1, "notifications", user) - config.NOTIFICATIONS_KEPT_PER_USER
    dropped = 0
    if over > 0:
        for old in Record.query(pk(user), scan_index_forward=True, limit=over):
            try:
                old.delete()  # versioned: only the item read
                dropped += 1
            except DeleteError as error:
                if not cancelled_by_condition(error):  # another writer dropped it first
                    raise
        if dropped:
            quotas.add(-dropped, "notifications", user)
    return dropped


def to_province(province: str, topic: str, data: dict[str, Any], now: datetime) -> Record:
    """A notification to every admin of `province` (save it in the transaction of what it tells about)."""
    return Record(
        role_pk(PROVINCE_AUDIENCE_ROLE, province),
        f"{sortable(now)}#{uuid.uuid4().hex[:12]}",
        kind=KIND,
        created_at=now,
        data={"topic": topic, "at": iso(now), "province": province, **data},
    )


def review_decision(
    doc: Any, entity: str, decision: str, note: str | None, revision: int, now: datetime
) -> Record:
    """Tell a record's filer how its review went, with the reviewer's note."""
    return item(
        doc.author,
        "review_decision",
        {
            "entity": entity,
            "id": doc.id,
            "title": doc.title,
            "decision": decision,
            "note": note,
            "revision": revision,
            "status": doc.status,
            "link": f"/{entity}s/{doc.id}",
        },
        now,
    )


def taken_down(doc: Any, entity: str, now: datetime) -> Record:
    """Tell a record's filer that a national admin took it down, and why."""
    return item(
        doc.author,
        "taken_down",
        {
            "entity": entity,
            "id": doc.id,
            "title": doc.title,
            "reason": doc.takedown_reason,
            "excluded_from_scoring": bool(doc.excluded_from_scoring),
            "link": f"/{entity}s/{doc.id}",
        },
        now,
    )


def page(caller: Caller | None, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """The caller's notifications, newest first (its own and its role's, merged by time)."""
    caller = require(caller)
    scope = scope_of("NOTE", user=caller.sub, role=caller.role, province=caller.province)
    start = decode_cursor(cursor, scope, secret)
    before = start.get("sk") if start else None
    found: list[Record] = []
    for audience in audiences(caller):
        condition = (Record.sk < before) if isinstance(before, str) else None
        found.extend(Record.query(audience, condition, scan_index_forward=False, limit=limit + 1))
    found.sort(key=lambda r: r.sk, reverse=True)
    items = found[:limit]
    more = len(found) > limit
    return {
        "items": [rendered(r.data, current()) for r in items],
        "next_cursor": encode_cursor({"sk": items[-1].sk}, scope, secret) if more else None,
    }
