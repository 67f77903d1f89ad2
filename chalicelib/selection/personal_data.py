"""A person's rights over their data (PIPL arts. 45 and 47): a copy of what the platform holds
about the caller, and its erasure. Both are audited with counts only, never the content.

Facts hold per-cycle pseudonyms, never the user id (core/pseudonyms.py): the caller's reactions,
comments and evaluations are found under their pseudonym in each cycle. Usage events are not listed
or erased here: they expire by the retention rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.models import Record
from chalicelib.core.reference import INDUSTRIES
from chalicelib.documents import notifications
from chalicelib.selection import organisations, subscriptions
from chalicelib.usage import interactions

ENTITY = "personal_data"


def _records(pk: str) -> list[Record]:
    return list(Record.query(pk))


def _membership_records(sub: str) -> list[Record]:
    """The membership and its per-field rows (what `organisations.accept` wrote for the user)."""
    found = Record.get(*organisations.member_key(sub)) if organisations.membership(sub) else None
    if found is None:
        return []
    rows = [organisations.field_row_key(industry, sub) for industry in found.data.get("industries", [])]
    return [found, *Record.batch_get(rows)]


def export(caller: Caller | None, now: datetime) -> dict[str, Any]:
    """Everything held about the caller, as JSON."""
    caller = require(caller)
    held = interactions.held_by(caller.sub, now)
    subscription = (
        Record.get(*subscriptions.doc_key(caller.sub)) if _exists(subscriptions.doc_key(caller.sub)) else None
    )
    answer = {
        "subject": {"sub": caller.sub, "role": caller.role, "province": caller.province, "side": caller.side},
        **interactions.render_held(held),
        "organisation": organisations.membership(caller.sub),
        "subscriptions": subscription.data if subscription else None,
        "notifications": [r.data for r in _records(notifications.pk(caller.sub))],
        "feed": [r.data for r in _records(subscriptions.feed_pk(caller.sub))],
        "usage_events": "stored under a per-cycle pseudonym (a keyed hash), not your id; they expire by the "
        "retention rule and cannot be listed by id",
    }
    audit.entry(
        ENTITY,
        caller.sub,
        "exported",
        caller,
        now,
        {k: len(v) for k, v in answer.items() if isinstance(v, list)},
    ).save()
    return answer


def erase(caller: Caller | None, now: datetime) -> dict[str, Any]:
    """Erase the caller's reactions, comments, evaluations, membership, subscriptions, feed and
    notifications; counters follow through the stream. Repeating it erases what is left."""
    caller = require(caller)
    counts = interactions.erase(interactions.held_by(caller.sub, now))
    groups = {
        "memberships": _membership_records(caller.sub),
        "subscriptions": (
            [Record.get(*subscriptions.doc_key(caller.sub))]
            if _exists(subscriptions.doc_key(caller.sub))
            else []
        ),
        "notifications": _records(notifications.pk(caller.sub)),
        "feed": _records(subscriptions.feed_pk(caller.sub)),
    }
    # the push fan-out rows of the user's subscribed fields go with the subscription
    rows = [subscriptions.subscriber_key(industry, caller.sub) for industry in INDUSTRIES]
    groups["subscriptions"] += list(Record.batch_get(rows))
    for name, records in groups.items():
        for record in records:
            record.delete(add_version_condition=False)
        counts[name] = len(records)
    audit.entry(ENTITY, caller.sub, "erased", caller, now, counts).save()
    return {"erased": counts}


def _exists(key: tuple[str, str]) -> bool:
    try:
        Record.get(*key)
    except Record.DoesNotExist:
        return False
    return True
