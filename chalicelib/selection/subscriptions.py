"""Push by industry field: subscriptions, the per-user feed and the approval fan-out.

Storage (records table):
- `USER#{sub}` / `SUBSCRIPTIONS`: the user's choice of industries and kinds (kind `subscriptions`).
- `SUBS#{industry}` / `{sub}`: one row per subscriber of a field, kept in step with the
  choice in the same transaction; the fan-out reads these (kind `subscriber`).
- members of invited organisations are pushed their organisation's fields (organisations.py).
- `FEED#{sub}` / `{filing id}`: one feed item per user and filing (kind `feed_item`), listed
  newest first through the `by_group` index (gsi1pk `FEED#{sub}`, gsi1sk `<pushed at>#<filing>`).

Delivery is driven by the facts stream: a filing whose status becomes `approved` is pushed
to every subscriber of its industry. Items are written only if absent, so a redelivered
record or a second approval pushes nothing twice and never resets the read state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator
from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.exceptions import PutError

from chalicelib.core import audit, keys, streams
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, sortable
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Evaluation, Filing, Record
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.reference import INDUSTRIES
from chalicelib.core.schemas import Body, IndustryCodes
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import RESULT_KINDS, ResultKind
from chalicelib.documents import feedback, filings
from chalicelib.selection import organisations

PUSHED_KINDS = RESULT_KINDS  # what the seed pushes; proofs of application are not
SUBSCRIBERS = ("user", "expert")
REASONS = ("approved", "candidate", "assigned")
MAX_ID = 64
FEED_RETRIES = 5  # reads of a feed item that other writes keep changing, before 409


class SubscriptionsIn(Body):
    """The industry fields (codes from /industries) and result kinds a user wants pushed."""

    industries: IndustryCodes = Field(
        max_length=len(INDUSTRIES), description="industry codes from /industries; [] stops every push"
    )
    kinds: list[ResultKind] = Field(
        default_factory=lambda: list(PUSHED_KINDS),
        min_length=1,
        max_length=len(RESULT_KINDS),
        description="result kinds to push; default all three",
    )

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, v: list[str]) -> list[str]:
        return [k for k in PUSHED_KINDS if k in v]


# ---- keys ------------------------------------------------------------------------------


def doc_key(user: str) -> tuple[str, str]:
    return f"USER#{keys.part(user)}", "SUBSCRIPTIONS"


def subscriber_key(industry: str, user: str) -> tuple[str, str]:
    return f"SUBS#{industry}", user


def feed_pk(user: str) -> str:
    return f"FEED#{keys.part(user)}"


# ---- subscriptions ---------------------------------------------------------------------


def _current(user: str) -> Record | None:
    try:
        return Record.get(*doc_key(user), consistent_read=True)
    except Record.DoesNotExist:
        return None


def get(caller: Caller | None) -> dict[str, Any]:
    """The caller's subscriptions (none yet: no industries, every kind)."""
    caller = require(caller)
    doc = _current(caller.sub)
    if doc is None:
        return {"industries": [], "kinds": list(PUSHED_KINDS), "updated_at": None}
    return doc.data


def put(caller: Caller | None, body: SubscriptionsIn, now: datetime) -> dict[str, Any]:
    """Replace the caller's subscriptions; the per-field subscriber rows change in the same transaction."""
    caller = require(caller)
    doc = _current(caller.sub) or Record(*doc_key(caller.sub), kind="subscriptions", created_at=now)
    before = set(doc.data["industries"]) if doc.data else set()
    data = {"industries": body.industries, "kinds": body.kinds, "updated_at": iso(now)}
    doc.data, doc.updated_at = data, now
    row = {"user": caller.sub, "role": caller.role, "kinds": body.kinds}
    try:
        with transaction() as tx:
            tx.save(doc)  # the version makes this conditional on what we read
            for industry in body.industries:
                # Upsert, last write wins: the document above already serialises writers.
                tx.update(
                    Record(*subscriber_key(industry, caller.sub)),
                    add_version_condition=False,
                    actions=[
                        Record.kind.set("subscriber"),
                        Record.data.set({**row, "industry": industry}),
                        Record.updated_at.set(now),
                    ],
                )
            for industry in before - set(body.industries):
                tx.delete(Record(*subscriber_key(industry, caller.sub)), add_version_condition=False)
            tx.save(
                audit.entry(
                    "subscriptions",
                    caller.sub,
                    "replaced",
                    caller,
                    now,
                    {"from": sorted(before, key=int), **data},
                )
            )
    except TransactWriteError:
        raise Conflict(Message("Your subscriptions changed meanwhile; read them again and retry")) from None
    return data


def subscribers(industry: str, kind: str) -> Iterable[str]:
    """Users subscribed to `industry` who want results of `kind`, and the members of invited
    organisations covering `industry` (they get every pushed kind without subscribing)."""
    own = {
        row.sk
        for row in Record.query(f"SUBS#{industry}")
        if kind in (row.data or {}).get("kinds", PUSHED_KINDS)
    }
    return sorted(own | set(organisations.members_of_field(industry)))


# ---- the feed --------------------------------------------------------------------------


def item_data(
    filing: dict[str, Any], approved_at: datetime, reason: str, at: datetime, cycle: str | None = None
) -> dict[str, Any]:
    """What a feed item shows about a filing: enough to list it without reading the filing."""
    return {
        "filing": filing["id"],
        "title": filing["title"],
        "kind": filing["kind"],
        "industry": filing["industry"],
        "province": filing["province"],
        "unit": filing["unit"],
        "cycle": filing["cycle"],
        "approved_at": iso(approved_at),
        "reasons": [reason],
        "pushed_at": iso(at),
        "candidate_cycle": cycle,
        "read_at": None,
    }


def deliver(user: str, data: dict[str, Any], at: datetime) -> bool:
    """Put one filing in one user's feed; True when that pushed something new.

    An approval push writes only if the item is absent (read state survives redeliveries).
    A candidate or assignment push adds its reason once, moves the item to the top and marks
    it unread again: it asks the user for a fresh look.
    """
    reason = data["reasons"][0]
    sk = data["filing"]
    item = Record(
        feed_pk(user),
        sk,
        kind="feed_item",
        data=data,
        created_at=at,
        updated_at=at,
        gsi1pk=feed_pk(user),
        gsi1sk=f"{sortable(at)}#{sk}",
    )
    try:
        item.save(condition=Record.pk.does_not_exist())
        return True
    except PutError as error:
        if not cancelled_by_condition(error):
            raise
    if reason == "approved":
        return False

    def add_reason(current: Record) -> bool:
        if reason in current.data["reasons"]:
            return False
        current.data = {
            **current.data,
            "reasons": [*current.data["reasons"], reason],
            "read_at": None,
            "pushed_at": iso(at),
            "candidate_cycle": data.get("candidate_cycle"),
        }
        current.gsi1sk, current.updated_at = f"{sortable(at)}#{sk}", at
        return True

    return _change(user, sk, add_reason)[1]


def remind(user: str, filing_id: str, at: datetime) -> bool:
    """Bring a feed item back to the top, unread, with the time of the reminder; False when absent."""

    def bring_back(current: Record) -> bool:
        current.data = {**current.data, "read_at": None, "reminded_at": iso(at)}
        current.gsi1sk, current.updated_at = f"{sortable(at)}#{filing_id}", at
        return True

    return _change(user, filing_id, bring_back)[1]


def _change(user: str, filing_id: str, change: Callable[[Record], bool]) -> tuple[Record | None, bool]:
    """Read one feed item, let `change` edit it (False: nothing to write) and save it on the version
    read, reading again after a lost race; (the item, or None when absent; whether it was written)."""
    for _ in range(FEED_RETRIES):
        try:
            current = Record.get(feed_pk(user), filing_id, consistent_read=True)
        except Record.DoesNotExist:
            return None, False
        if not change(current):
            return current, False
        try:
            current.save()
            return current, True
        except PutError as error:
            if not cancelled_by_condition(error):
                raise  # lost a race with another write of the item (a push, a read mark): read again
    raise Conflict(Message("The feed item kept changing; try again"))


def push(filing: dict[str, Any], data: dict[str, Any], at: datetime) -> int:
    """Deliver `data` to every subscriber of the filing's field and kind; returns how many were new."""
    return sum(deliver(user, data, at) for user in subscribers(filing["industry"], filing["kind"]))


def page(caller: Caller | None, unread_only: bool, limit: int, cursor: str | None, secret: str) -> Page:
    """The caller's feed, newest push first; `unread_only` skips items already read."""
    caller = require(caller)
    scope = scope_of("FEED", user=caller.sub, unread=unread_only)
    start = decode_cursor(cursor, scope, secret)
    results = Record.by_group.query(
        feed_pk(caller.sub), scan_index_forward=False, last_evaluated_key=start, page_size=min(limit + 1, 200)
    )
    if unread_only:
        # Read state lives in the JSON document, so it is filtered here, not by DynamoDB.
        results = (r for r in results if r.data.get("read_at") is None)

    def key_of(item: Record) -> dict:
        return {name: {"S": getattr(item, name)} for name in ("pk", "sk", "gsi1pk", "gsi1sk")}

    return take_page(results, limit, key_of, scope, secret)


def render_page(caller: Caller, found: Page) -> dict[str, Any]:
    """Feed items with the filing's current status and whether the caller has evaluated it."""
    ids = [item.sk for item in found.items]
    read = list(Filing.batch_get([filings.doc_key(i) for i in ids])) if ids else []
    status = {f.id: f.status for f in read}
    evaluated = (
        {
            e.filing: int(e.score)
            for e in Evaluation.batch_get([feedback.evaluation_of(f.id, f.cycle, caller.sub) for f in read])
        }
        if read
        else {}
    )
    return found.to_dict(lambda item: render(item, status.get(item.sk), evaluated.get(item.sk)))


def render(item: Record, status: str | None = None, my_score: int | None = None) -> dict[str, Any]:
    data = item.data
    return {
        **data,
        "candidate": "candidate" in data["reasons"],
        "assigned": "assigned" in data["reasons"],
        "read": data["read_at"] is not None,
        "available": status == "approved" if status is not None else None,
        "evaluated": my_score is not None,
        "my_score": my_score,
        "links": {"filing": f"/filings/{item.sk}", "evaluation": f"/filings/{item.sk}/evaluation"},
    }


def mark_read(caller: Caller | None, filing_id: str, now: datetime) -> dict[str, Any]:
    """Mark one feed item read (idempotent: the first read time is kept)."""
    caller = require(caller)

    def read(item: Record) -> bool:
        if item.data.get("read_at") is not None:
            return False
        item.data = {**item.data, "read_at": iso(now)}
        item.updated_at = now
        return True

    # An id longer than any filing id (and than DynamoDB takes as a key) is in no feed.
    item = _change(caller.sub, filing_id, read)[0] if len(filing_id) <= MAX_ID else None
    if item is None:
        raise NotFound(Message("Filing %(filing_id)s is not in your feed", filing_id=filing_id))
    return render(item)


# ---- the stream trigger ----------------------------------------------------------------

_time = UTCDateTimeAttribute()


def newly_approved(old: dict | None, new: dict | None) -> bool:
    """True for a filing image that turned approved in this change (or arrived approved)."""
    if not new or new.get("entity") != "filing" or new.get("status") != "approved":
        return False
    return (old or {}).get("status") != "approved"


def approval_of(new: dict[str, Any], now: datetime) -> tuple[dict[str, Any], datetime]:
    """The filing fields and first approval time carried by a stream image (KeyError when malformed)."""
    filing = {name: new[name] for name in ("id", "title", "kind", "industry", "province", "unit", "cycle")}
    raw = new.get("first_approved_at") or new.get("reviewed_at")
    return filing, (_time.deserialize(raw) if raw else now)


def handle_stream_batch(raw_event: dict, now: datetime) -> dict:
    """Push newly approved filings to their field's subscribers; returns the partial batch response.

    A malformed record is reported as a batch item failure so it cannot block the shard;
    records that succeeded and are delivered again push nothing new.
    """

    def one(record) -> None:
        old, new = record.dynamodb.old_image or None, record.dynamodb.new_image or None
        if not newly_approved(old, new):
            return
        filing, approved_at = approval_of(new, now)
        if filing["kind"] not in PUSHED_KINDS:
            return
        push(filing, item_data(filing, approved_at, "approved", approved_at), approved_at)

    return streams.each_record(raw_event, one)
