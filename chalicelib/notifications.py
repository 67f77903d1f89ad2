"""Told, not polling: feed items for the people a decision concerns.

A review decision (with its note) goes to the record's filer, written in the same
transaction as the decision (documents.review), so no decision is recorded untold.
Items live in the records table under `NOTE#<sub>`, sorted by time; GET /me/notifications
lists them newest first.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from .auth import Caller, require
from .clock import iso, sortable
from .models import Record
from .paging import decode_cursor, scope_of, take_page

KIND = "notification"
TOPICS = ("review_decision",)


def pk(user: str) -> str:
    return f"NOTE#{user}"


def item(user: str, topic: str, data: dict[str, Any], now: datetime) -> Record:
    """A notification to save (in the transaction of what it tells about)."""
    return Record(pk(user), f"{sortable(now)}#{uuid.uuid4().hex[:12]}", kind=KIND, created_at=now,
                  data={"topic": topic, "at": iso(now), **data})


def review_decision(doc: Any, entity: str, decision: str, note: str | None, revision: int, now: datetime) -> Record:
    """Tell a record's filer how its review went, with the reviewer's note."""
    return item(doc.author, "review_decision", {
        "entity": entity, "id": doc.id, "title": doc.title, "decision": decision, "note": note,
        "revision": revision, "status": doc.status, "link": f"/{entity}s/{doc.id}"}, now)


def page(caller: Caller | None, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """The caller's notifications, newest first."""
    caller = require(caller)
    scope = scope_of("NOTE", user=caller.sub)
    results = Record.query(pk(caller.sub), scan_index_forward=False,
                           last_evaluated_key=decode_cursor(cursor, scope, secret), page_size=min(limit + 1, 200))
    found = take_page(results, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret)
    return found.to_dict(lambda r: r.data)
