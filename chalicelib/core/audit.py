"""The audit trail: every state change, with who, when and what, so it can be replayed."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sortable
from chalicelib.core.models import AuditEntry


def entry(entity: str, entity_id: str, action: str, caller: Caller | None, at: datetime,
          data: dict[str, Any] | None = None) -> AuditEntry:
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


def trail(entity: str, entity_id: str) -> list[dict[str, Any]]:
    """Every recorded change of one entity, oldest first."""
    return [
        {"action": e.action, "actor": e.actor, "role": e.role, "at": iso(e.at), "data": e.data}
        for e in AuditEntry.query(f"AUDIT#{entity}#{entity_id}")
    ]
