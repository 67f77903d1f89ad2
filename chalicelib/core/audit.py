"""The audit trail: every state change, with who, when and what, so it can be replayed."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sortable
from chalicelib.core.errors import Conflict
from chalicelib.core.messages import Message
from chalicelib.core.models import AuditEntry, RecordBase
from chalicelib.core.paging import query_page, scope_of
from chalicelib.core.store import TransactWriteError, transaction


def entry(
    entity: str,
    entity_id: str,
    action: str,
    caller: Caller | None,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """An audit entry to save in the same transaction as the change it records."""
    return AuditEntry(
        pk=f"AUDIT#{entity}#{entity_id}",
        sk=f"{sortable(at)}#{uuid.uuid4().hex[:12]}",
        gsi1pk=f"AUDIT#{at.date().isoformat()[:7]}",
        gsi1sk=f"{sortable(at)}#{entity}#{entity_id}",
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor=caller.sub if caller else "system",
        role=caller.role if caller else "system",
        at=at,
        data=data,
    )


def replace(doc: RecordBase, entry_: AuditEntry, conflict: Message) -> None:
    """Save a replaced record and its audit entry in one transaction; 409 (`conflict`) when the
    record changed since it was read (its version attribute makes the save conditional)."""
    try:
        with transaction() as tx:
            tx.save(doc)
            tx.save(entry_)
    except TransactWriteError:
        raise Conflict(conflict) from None


def _render(e: AuditEntry) -> dict[str, Any]:
    return {"action": e.action, "actor": e.actor, "role": e.role, "at": iso(e.at), "data": e.data}


def trail(entity: str, entity_id: str) -> list[dict[str, Any]]:
    """Every recorded change of one entity, oldest first."""
    return [_render(e) for e in AuditEntry.query(f"AUDIT#{entity}#{entity_id}")]


def trail_page(entity: str, entity_id: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """One page of the recorded changes of one entity, oldest first."""
    page = query_page(
        partial(AuditEntry.query, f"AUDIT#{entity}#{entity_id}"),
        limit,
        cursor,
        scope_of("AUDIT", entity=entity, id=entity_id),
        secret,
    )
    return page.to_dict(_render)
