"""Interactions on approved filings and publications: usage events, likes, favorites, comments; evaluations
(filings only).

Endpoints store facts only; the stream trigger turns them into counters (running_counters.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field, field_validator, model_validator

from chalicelib.core import audit, config, keys, pseudonyms, quotas
from chalicelib.core import observability as obs
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import china, iso
from chalicelib.core.cycles import cycle_for, cycles_until
from chalicelib.core.errors import Conflict, Forbidden, NotFound, TooManyRequests
from chalicelib.core.messages import Message, noun
from chalicelib.core.models import Comment, Evaluation, Filing, Publication, Reaction, Record, UsageEvent
from chalicelib.core.paging import query_page, scope_of
from chalicelib.core.schemas import Body, FieldErrors, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import RAW_FACTS_GRACE, RAW_FACTS_UNTIL_FINAL
from chalicelib.documents import feedback, filings, publications
from chalicelib.usage import counting_rules, event_chains, metrics
from chalicelib.usage.metrics import ClientEventType
from chalicelib.usage.own_staff import is_own_staff
from chalicelib.usage.robots import Robots

# ---- request bodies ---------------------------------------------------------------------


class EventIn(Body):
    id: str = Field(description="client-generated UUID; a resent id is a duplicate")
    type: ClientEventType = Field(
        description="views only: the platform counts downloads when it serves a file"
    )
    filing: Text(1, 64) | None = Field(default=None, description="the filing viewed (or name a publication)")
    publication: Text(1, 64) | None = Field(default=None, description="the publication viewed")
    user_agent: Text(0, 1000) | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_client_downloads(cls, data: object) -> object:
        """An event kind the platform records itself (a download, when it serves the file) is refused by name."""
        kind = data.get("type") if isinstance(data, dict) else None
        if not isinstance(kind, str):  # any other shape is the field's own 422
            return data
        metric = {m.kind: m for m in metrics.REGISTRY.events if not m.from_client}.get(kind)
        if metric is not None:
            raise FieldErrors(
                [
                    (
                        "type",
                        Message(
                            "%(field)s are counted by the platform when it serves the file (%(recorded_by)s); clients do not send them",
                            field=metric.field,
                            recorded_by=metric.recorded_by,
                        ),
                    )
                ]
            )
        return data

    @model_validator(mode="after")
    def _one_target(self) -> EventIn:
        if (self.filing is None) == (self.publication is None):
            raise FieldErrors([("filing", Message("name exactly one of filing and publication"))])
        return self

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError(Message("must be a UUID")) from None


class EventsIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=config.MAX_EVENTS_PER_REQUEST)


class CommentIn(Body):
    text: Text(1, 2000, multiline=True)


class EvaluationIn(Body):
    score: int = Field(ge=1, le=5)
    feedback: Text(0, 2000, multiline=True) | None = None


# ---- usage events -------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    accepted: int
    duplicates: int
    ignored: int
    robots: int

    def to_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "ignored": self.ignored}


def record_events(
    caller: Caller | None, batch: EventsIn, request_agent: str | None, robots: Robots, now: datetime
) -> Receipt:
    """Store a batch of views; a resent id is a duplicate, a stale filing or publication is ignored.

    Robots (by the event's user agent, else the request's) are stored for the record but
    flagged so they never count. All events of a batch carry the server's receipt time;
    counted ones take their places in their chains in request order (event_chains.py).
    """
    caller = require(caller)
    named = [counting_rules.target_of(event.model_dump()) for event in batch.events]
    approved = _approved_targets(set(named))

    items: list[UsageEvent] = []
    seen_ids: set[str] = set()
    duplicates = ignored = 0
    for event, target in zip(batch.events, named):
        doc = approved.get(target)
        if doc is None:
            ignored += 1
            continue
        if event.id in seen_ids:
            duplicates += 1
            continue
        seen_ids.add(event.id)
        agent = event.user_agent if event.user_agent is not None else request_agent
        items.append(usage_event(caller, event.id, event.type, target[0], doc, agent, robots, now))
    outcome = _store(items, now)
    return Receipt(
        accepted=len(outcome.stored),
        duplicates=duplicates + len(outcome.duplicates),
        ignored=ignored,
        robots=sum(e.robot for e in outcome.stored),
    )


def record_download(
    caller: Caller,
    kind: str,
    doc: Filing | Publication,
    file_id: str,
    agent: str | None,
    robots: Robots,
    now: datetime,
) -> UsageEvent | None:
    """Count one download the platform served (approved records only), by the same rules as views."""
    if doc.status != "approved":
        return None
    event = usage_event(caller, uuid.uuid4().hex, metrics.DOWNLOAD, kind, doc, agent, robots, now, file_id)
    return _store([event], now).stored[0]


def usage_event(
    caller: Caller,
    event_id: str,
    type_: str,
    kind: str,
    doc: Filing | Publication,
    agent: str | None,
    robots: Robots,
    now: datetime,
    file_id: str | None = None,
) -> UsageEvent:
    """A view or download of `doc` (a filing or publication, named by `kind`) before it takes its place.

    It keeps the user's pseudonym in the current cycle and, of the agent, the robot verdict and family."""
    cycle = cycle_for(now)
    user = pseudonyms.of(caller.sub, cycle.id if cycle else None)
    kept_until = (cycle.ends_before if cycle else now) + RAW_FACTS_UNTIL_FINAL + RAW_FACTS_GRACE
    return UsageEvent(
        *event_chains.event_key(user, event_id),
        entity="event",
        id=event_id,
        type=type_,
        user=user,
        at=now,
        province=doc.province,
        agent_family=pseudonyms.agent_family(agent),
        robot=robots.is_robot(agent),
        author=is_own_staff(caller, doc),
        file=file_id,
        expires_at=int(kept_until.timestamp()),
        attributed_to=getattr(doc, "attributed_to", None),
        **{kind: doc.id},
    )


def _store(items: list[UsageEvent], now: datetime) -> event_chains.Outcome:
    return event_chains.store(
        items, [counting_rules.counts({"robot": e.robot, "author": e.author}) for e in items], now
    )


_TARGET_MODELS = {"filing": (Filing, filings.key), "publication": (Publication, publications.key)}


def _approved_targets(named: set[tuple[str, str]]) -> dict[tuple[str, str], Filing | Publication]:
    """The approved filings and publications among `named` ((kind, id) pairs), in one read per kind."""
    found: dict[tuple[str, str], Filing | Publication] = {}
    for kind, (model, key) in _TARGET_MODELS.items():
        ids = {target for named_kind, target in named if named_kind == kind}
        if not ids:
            continue
        wanted = ["pk", "sk", "id", "status", "province", "author"] + (
            ["attributed_to"] if kind == "filing" else []
        )
        for doc in model.batch_get([(key(i), "A") for i in ids], attributes_to_get=wanted):
            if doc.status == "approved":
                found[(kind, doc.id)] = doc
    return found


# ---- likes, favorites and comments (on filings and publications alike) ----------------

# What likes, favorites and comments may be held on (counting_rules.TARGETS): each kind's module reads
# the record (`get`, `get_approved`) and builds its partition (`key`).
_OWNERS = {"filing": filings, "publication": publications}

REACTIONS = {"like": "LIKE", "favorite": "FAVORITE"}


def reaction_sk(kind: str, user: str) -> str:
    """One user's like or favorite of a record, in the record's partition (`user`: as stored)."""
    return f"{REACTIONS[kind]}#{user}"


def actor(sub: str, record_cycle: str, instant: datetime) -> dict[str, str]:
    """Who acts, as a reaction, comment or evaluation stores it: `user`, the pseudonym in the record's
    cycle (one per user and record, whenever they act), and `account`, the pseudonym in the cycle of
    the instant that counts, which the per-account counters name as the user's usage events do."""
    counted_in = cycle_for(instant)
    return {
        "user": pseudonyms.of(sub, record_cycle),
        "account": pseudonyms.of(sub, counted_in.id if counted_in else None),
    }


def set_reaction(
    caller: Caller | None, target_id: str, kind: str, active: bool, now: datetime, owner: str = "filing"
) -> dict[str, Any]:
    """Idempotent toggle: PUT holds a like/favorite, DELETE lets go; repeating changes nothing."""
    caller = require(caller)
    module = _OWNERS[owner]
    doc = module.get_approved(caller, target_id)
    who = actor(caller.sub, doc.cycle, now)
    sk = reaction_sk(kind, who["user"])
    try:
        current = Reaction.get(module.key(target_id), sk, consistent_read=True)
    except Reaction.DoesNotExist:
        current = None
    if (current.active if current else False) != active:
        since = now if active else current.since
        reaction = Reaction(
            module.key(target_id),
            sk,
            entity="reaction",
            kind=kind,
            user=who["user"],
            account=who["account"] if active else current.account,
            province=doc.province,
            active=active,
            since=since,
            changed_at=now,
            author=is_own_staff(caller, doc),
            **{owner: target_id},
        )
        index_by_user(reaction)
        reaction.save()
    return {owner: target_id, kind: active}


def add_comment(
    caller: Caller | None, target_id: str, body: CommentIn, now: datetime, owner: str = "filing"
) -> Comment:
    """Comment on an approved filing or publication."""
    caller = require(caller)
    module = _OWNERS[owner]
    doc = module.get_approved(caller, target_id)
    comment_id = f"{int(now.timestamp() * 1000):013d}{uuid.uuid4().hex[:8]}"
    comment = Comment(
        module.key(target_id),
        f"COMMENT#{comment_id}",
        entity="comment",
        id=comment_id,
        **actor(caller.sub, doc.cycle, now),
        cycle=doc.cycle,
        author_name=pseudonyms.display_name(caller.sub),
        province=doc.province,
        text=body.text,
        created_at=now,
        author=is_own_staff(caller, doc),
        **{owner: target_id},
    )
    index_by_user(comment)
    day = china(now).date().isoformat()
    try:
        with transaction() as tx:
            tx.save(comment, condition=Comment.pk.does_not_exist())
            quotas.count(tx, config.MAX_COMMENTS_PER_DAY, "comments", owner, target_id, caller.sub, day)
    except TransactWriteError as error:
        if quotas.refused(error, 1):
            raise TooManyRequests(
                Message(
                    "At most %(max_comments_per_day)s comments a day on one %(owner)s; try again tomorrow (China time)",
                    max_comments_per_day=config.MAX_COMMENTS_PER_DAY,
                    owner=noun(owner),
                )
            ) from None
        raise
    return comment


def delete_comment(
    caller: Caller | None, target_id: str, comment_id: str, now: datetime, owner: str = "filing"
) -> None:
    """Soft-delete a comment (its author or a national admin); deleting twice is harmless."""
    caller = require(caller)
    doc = _OWNERS[owner].get(caller, target_id)
    comment = _comment(owner, target_id, comment_id)
    deleter = pseudonyms.of(caller.sub, doc.cycle)
    if comment.user != deleter and not caller.is_national_admin:
        raise Forbidden(Message("Only the comment's author or a national admin may delete it"))
    if comment.deleted_at is None:
        comment.update(actions=[Comment.deleted_at.set(now), Comment.deleted_by.set(deleter)])


def _comment(owner: str, target_id: str, comment_id: str) -> Comment:
    try:
        return Comment.get(_OWNERS[owner].key(target_id), f"COMMENT#{comment_id}")
    except Comment.DoesNotExist:
        raise NotFound(
            Message(
                "No comment %(comment_id)s on %(owner)s %(target_id)s",
                comment_id=comment_id,
                owner=noun(owner),
                target_id=target_id,
            )
        ) from None


def comments_page(
    caller: Caller | None, target_id: str, limit: int, cursor: str | None, secret: str, owner: str = "filing"
) -> dict[str, Any]:
    """One page of the comments of a visible filing or publication that are not deleted, oldest first;
    hidden ones only for those who moderate it (may_moderate)."""
    module = _OWNERS[owner]
    doc = module.get(caller, target_id)
    shown = Comment.deleted_at.does_not_exist()
    if not may_moderate(caller, doc.province):
        shown &= Comment.hidden_at.does_not_exist()
    scope = scope_of("COMMENTS", **{owner: target_id})
    page = query_page(
        partial(
            Comment.query, module.key(target_id), Comment.sk.startswith("COMMENT#"), filter_condition=shown
        ),
        limit,
        cursor,
        scope,
        secret,
    )
    return page.to_dict(lambda c: render_comment(c, caller))


# ---- moderation --------------------------------------------------------------------------
# A comment item (facts table, the partition of its filing or publication, sort key COMMENT#<id>)
# holds: id, filing | publication, user and account (pseudonyms, see `actor`), cycle, author_name,
# province, text, created_at, deleted_at/by, hidden_at/by/reason, reports (how many users reported
# it), author (own staff: never counted).
# Each report is one records item per user (comment_report_key), so a user reports a comment once.

MODERATORS = ("national_admin", "province_admin")


class HideIn(Body):
    reason: Text(1, 500, multiline=True) = Field(
        description="why the comment is hidden (kept in the audit trail)"
    )


class UnhideIn(Body):
    reason: Text(1, 500, multiline=True) = Field(
        description="why the comment is shown again (kept in the audit trail)"
    )


class ReportIn(Body):
    reason: Text(0, 500, multiline=True) | None = None


def may_moderate(caller: Caller | None, province: str) -> bool:
    """National admins moderate every comment; a province admin those on its province's records."""
    return caller is not None and (
        caller.is_national_admin or (caller.role == "province_admin" and caller.province == province)
    )


def _moderated(
    caller: Caller | None, owner: str, target_id: str, comment_id: str
) -> tuple[Caller, Filing | Publication, Comment]:
    """The moderator, the record and its comment (not deleted) a moderation acts on; 403 for another
    province's admin, 404 for no such comment."""
    caller = require(caller)
    doc = _OWNERS[owner].get(caller, target_id)
    if not may_moderate(caller, doc.province):
        raise Forbidden(
            Message(
                "A province admin of %(province)s may not moderate comments of %(record_province)s",
                province=caller.province,
                record_province=doc.province,
            )
        )
    comment = _comment(owner, target_id, comment_id)
    if comment.deleted_at is not None:
        raise NotFound(
            Message(
                "No comment %(comment_id)s on %(owner)s %(target_id)s",
                comment_id=comment_id,
                owner=noun(owner),
                target_id=target_id,
            )
        )
    return caller, doc, comment


def hide_comment(
    caller: Caller | None, target_id: str, comment_id: str, body: HideIn, now: datetime, owner: str = "filing"
) -> Comment:
    """Hide a comment with a reason (audited): it leaves the public list and the counts; hiding twice
    keeps the first reason."""
    caller, doc, comment = _moderated(caller, owner, target_id, comment_id)
    if comment.hidden_at is not None:
        return comment
    try:
        with transaction() as tx:
            tx.update(
                comment,
                actions=[
                    Comment.hidden_at.set(now),
                    Comment.hidden_by.set(pseudonyms.of(caller.sub, doc.cycle)),
                    Comment.hidden_reason.set(body.reason),
                ],
                condition=Comment.hidden_at.does_not_exist() & Comment.deleted_at.does_not_exist(),
            )
            tx.save(
                audit.entry(
                    "comment", comment_id, "hidden", caller, now, {owner: target_id, "reason": body.reason}
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("Comment %(comment_id)s changed meanwhile; read it again", comment_id=comment_id)
        ) from None
    comment.hidden_at, comment.hidden_reason = now, body.reason
    comment.hidden_by = pseudonyms.of(caller.sub, doc.cycle)
    return comment


def unhide_comment(
    caller: Caller | None,
    target_id: str,
    comment_id: str,
    body: UnhideIn,
    now: datetime,
    owner: str = "filing",
) -> Comment:
    """Show a hidden comment again with a reason (audited; the moderators who may hide it): it returns to
    the public list and the counts (the delta rule and the recount agree). Unhiding a shown comment
    changes nothing."""
    caller, _, comment = _moderated(caller, owner, target_id, comment_id)
    if comment.hidden_at is None:
        return comment
    hidden = {"hidden_at": iso(comment.hidden_at), "hidden_reason": comment.hidden_reason}
    try:
        with transaction() as tx:
            tx.update(
                comment,
                actions=[
                    Comment.hidden_at.remove(),
                    Comment.hidden_by.remove(),
                    Comment.hidden_reason.remove(),
                ],
                condition=(Comment.hidden_at == comment.hidden_at) & Comment.deleted_at.does_not_exist(),
            )
            tx.save(
                audit.entry(
                    "comment",
                    comment_id,
                    "unhidden",
                    caller,
                    now,
                    {owner: target_id, "reason": body.reason, **hidden},
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("Comment %(comment_id)s changed meanwhile; read it again", comment_id=comment_id)
        ) from None
    comment.hidden_at = comment.hidden_by = comment.hidden_reason = None
    return comment


def comment_report_key(owner: str, target_id: str, comment_id: str, user: str) -> tuple[str, str]:
    """One user's report of one comment (records table)."""
    return f"COMMENT_REPORT#{owner}#{target_id}#{comment_id}", user


def report_comment(
    caller: Caller | None,
    target_id: str,
    comment_id: str,
    body: ReportIn,
    now: datetime,
    owner: str = "filing",
) -> dict[str, Any]:
    """Report a comment to its moderators; a user's second report of the same comment changes nothing."""
    caller = require(caller)
    _OWNERS[owner].get(caller, target_id)
    comment = _comment(owner, target_id, comment_id)
    if comment.deleted_at is not None or (
        comment.hidden_at is not None and not may_moderate(caller, comment.province)
    ):
        raise NotFound(
            Message(
                "No comment %(comment_id)s on %(owner)s %(target_id)s",
                comment_id=comment_id,
                owner=noun(owner),
                target_id=target_id,
            )
        )
    report = Record(
        *comment_report_key(owner, target_id, comment_id, caller.sub),
        kind="comment_report",
        data={"reason": body.reason},
        created_at=now,
    )
    try:
        with transaction() as tx:
            tx.save(report, condition=Record.pk.does_not_exist())
            tx.update(comment, actions=[Comment.reports.add(1)])
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        return {"comment": comment_id, "reported": True, "first": False}
    return {"comment": comment_id, "reported": True, "first": True}


def render_comment(comment: Comment, caller: Caller | None = None) -> dict[str, Any]:
    """A comment as `caller` may see it: its display name for the public, also the stored pseudonym for
    national admins; moderators also see why it was hidden and how many reported it."""
    owner, target = counting_rules.target_of(comment.attribute_values)
    shown = {
        "id": comment.id,
        owner: target,
        "author_name": comment.author_name,
        "text": comment.text,
        "created_at": iso(comment.created_at),
        "mine": caller is not None
        and comment.cycle is not None
        and pseudonyms.of(caller.sub, comment.cycle) == comment.user,
    }
    if caller is not None and caller.is_national_admin:
        shown["user"] = comment.user
    if may_moderate(caller, comment.province):
        shown["reports"] = int(comment.reports or 0)
        shown["hidden"] = (
            None
            if comment.hidden_at is None
            else {"at": iso(comment.hidden_at), "reason": comment.hidden_reason}
        )
    return shown


# ---- evaluations ---------------------------------------------------------------------


def evaluate(caller: Caller | None, filing_id: str, body: EvaluationIn, now: datetime) -> Evaluation:
    """One evaluation per user and filing; a second PUT replaces the first."""
    caller = require(caller)
    if caller.side is None:
        raise Forbidden(Message("Evaluations are counted by side: the token needs a side claim"))
    filing = filings.get_approved(caller, filing_id)
    who = actor(caller.sub, filing.cycle, now)
    evaluation = Evaluation(
        *feedback.evaluation_key(filing_id, who["user"]),
        entity="evaluation",
        filing=filing_id,
        **who,
        side=caller.side,
        province=filing.province,
        score=body.score,
        feedback=body.feedback,
        updated_at=now,
        author=is_own_staff(caller, filing),
        industry=filing.industry,
        attributed_to=filing.attributed_to,
    )
    feedback.index(evaluation)
    index_by_user(evaluation)
    evaluation.save()
    return evaluation


def render_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "filing": evaluation.filing,
        "user": evaluation.user,
        "side": evaluation.side,
        "score": int(evaluation.score),
        "feedback": evaluation.feedback,
        "updated_at": iso(evaluation.updated_at),
    }


def receive_events(
    caller: Caller | None, batch: EventsIn, request_agent: str | None, robots: Robots, now: datetime
) -> Receipt:
    """POST /events: record the batch, then add what was accepted, resent and dropped as robots to the metrics."""
    receipt = record_events(caller, batch, request_agent, robots, now)
    for name, value in (
        (obs.EVENTS_ACCEPTED, receipt.accepted),
        (obs.EVENTS_DUPLICATE, receipt.duplicates),
        (obs.ROBOTS_DROPPED, receipt.robots),
    ):
        obs.metrics.add_metric(name=name, unit=obs.MetricUnit.Count, value=value)
    return receipt


# ---- what a user's own interactions hold (PIPL access and erasure) -------------------------

PERSONAL = ((Reaction, "reaction"), (Comment, "comment"), (Evaluation, "evaluation"))


def by_user_pk(user: str) -> str:
    """The gsi3 partition of one pseudonym's reactions, comments and evaluations."""
    return f"BYUSER#{keys.part(user)}"


def index_by_user(item: Reaction | Comment | Evaluation) -> None:
    item.gsi3pk, item.gsi3sk = by_user_pk(item.user), f"{item.entity}#{item.pk}#{item.sk}"


def held_by(sub: str, now: datetime) -> dict[str, list]:
    """The user's own reactions, comments and evaluations (stored items, every state), found under
    their pseudonym in each cycle so far (a record's cycle names the pseudonym its items carry)."""
    held: dict[str, list] = {entity: [] for _, entity in PERSONAL}
    for cycle in cycles_until(now):
        partition = by_user_pk(pseudonyms.of(sub, cycle.id))
        for model, entity in PERSONAL:
            held[entity] += model.by_user.query(partition, model.gsi3sk.startswith(f"{entity}#"))
    return held


def render_held(held: dict[str, list]) -> dict[str, list[dict[str, Any]]]:
    return {
        "reactions": [
            {
                **dict([counting_rules.target_of(r.attribute_values)]),
                "kind": r.kind,
                "active": r.active,
                "since": iso(r.since),
                "changed_at": iso(r.changed_at),
            }
            for r in held["reaction"]
        ],
        "comments": [
            {**render_comment(c), "mine": True, "deleted_at": iso(c.deleted_at) if c.deleted_at else None}
            for c in held["comment"]
        ],
        "evaluations": [render_evaluation(e) for e in held["evaluation"]],
    }


def erase(held: dict[str, list]) -> dict[str, int]:
    """Remove the user's reactions, comments and evaluations. The counting trigger sees each removal
    as a state change to nothing and takes back exactly what the item counted."""
    for items in held.values():
        for item in items:
            item.delete()
    return {f"{entity}s": len(items) for entity, items in held.items()}


# ---- once, on deploying the PIPL changes (scripts/pipl_backfill.py) -------------------------

_COUNTED_AT = {"reaction": "since", "comment": "created_at", "evaluation": "updated_at"}


def backfill(now: datetime) -> dict[str, int]:
    """Give older reactions, comments and evaluations pseudonyms instead of the user id (and index
    them by it), and older usage events their retention TTL without their raw agent. The counting
    trigger finds no change in any of it: the accounts the counters name stay the same."""
    found = {"pseudonymised": 0, "indexed": 0}
    record_cycles: dict[tuple[str, str], str] = {}
    for model, entity in PERSONAL:
        for item in model.scan(filter_condition=model.entity == entity):
            if not pseudonyms.is_pseudonym(item.user):
                _pseudonymise(item, _record_cycle(item, record_cycles))
                found["pseudonymised"] += 1
            elif item.gsi3pk is None:
                index_by_user(item)
                item.update(actions=[model.gsi3pk.set(item.gsi3pk), model.gsi3sk.set(item.gsi3sk)])
                found["indexed"] += 1
    return {**found, "events_given_ttl": _retain_events(now)}


def _record_cycle(item: Reaction | Comment | Evaluation, known: dict[tuple[str, str], str]) -> str:
    """The cycle of the filing or publication an interaction is held on (read once per record)."""
    target = counting_rules.target_of(item.attribute_values)
    if target not in known:
        model, key = _TARGET_MODELS[target[0]]
        known[target] = model.get(key(target[1]), "A", attributes_to_get=["cycle"]).cycle
    return known[target]


def _pseudonymise(item: Reaction | Comment | Evaluation, cycle: str) -> None:
    """Store an item of the raw-id era under its pseudonyms. A reaction's or evaluation's key names the
    user, so it moves (the old item leaves in the same transaction; one the user stored since under
    the pseudonym is newer and wins); the per-account counters name the same account before and after."""
    raw, old_key = item.user, (item.pk, item.sk)
    for name, value in actor(raw, cycle, getattr(item, _COUNTED_AT[item.entity])).items():
        setattr(item, name, value)
    if isinstance(item, Comment):
        item.cycle, item.author_name = cycle, pseudonyms.display_name(raw)
        for name in ("deleted_by", "hidden_by"):
            if getattr(item, name) and not pseudonyms.is_pseudonym(getattr(item, name)):
                setattr(item, name, pseudonyms.of(getattr(item, name), cycle))
    elif isinstance(item, Reaction):
        item.sk = reaction_sk(item.kind, item.user)
    else:
        item.sk = feedback.evaluation_key(item.filing, item.user)[1]
        feedback.index(item)
    index_by_user(item)
    model, moved = type(item), (item.pk, item.sk) != old_key
    newer = moved and _exists(model, item.pk, item.sk)
    with transaction() as tx:
        if moved:
            tx.delete(model(*old_key))
        if not newer:
            tx.save(item)


def _exists(model: type[Reaction] | type[Evaluation], pk: str, sk: str) -> bool:
    try:
        model.get(pk, sk, consistent_read=True, attributes_to_get=["pk"])
    except model.DoesNotExist:
        return False
    return True


def _retain_events(now: datetime) -> int:
    """Give older usage events their retention TTL and keep only the family of their raw agent."""
    retained = 0
    for event in UsageEvent.scan(
        filter_condition=(UsageEvent.entity == "event") & UsageEvent.expires_at.does_not_exist()
    ):
        cycle = cycle_for(event.at)
        kept_until = (cycle.ends_before if cycle else now) + RAW_FACTS_UNTIL_FINAL + RAW_FACTS_GRACE
        event.update(
            actions=[
                UsageEvent.expires_at.set(int(kept_until.timestamp())),
                UsageEvent.agent_family.set(pseudonyms.agent_family(event.user_agent)),
                UsageEvent.user_agent.remove(),
            ]
        )
        retained += 1
    return retained
