"""Interactions on approved filings (views also on publications): usage events, likes, favorites, comments, evaluations.

Endpoints store facts only; the stream trigger turns them into counters (counters.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from pydantic import Field, field_validator, model_validator

from chalicelib.usage import counting, usage_order
from chalicelib.documents import feedback, filings, publications
from chalicelib.core import observability as obs
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.errors import Forbidden, NotFound
from chalicelib.core.models import Comment, Evaluation, Filing, Publication, Reaction, UsageEvent
from chalicelib.usage.own_staff import is_own_staff
from chalicelib.usage.robots import Robots
from chalicelib.core.schemas import Body, FieldErrors, Text
from chalicelib.core.vocabulary import ClientEventType


# ---- request bodies ---------------------------------------------------------------------

class EventIn(Body):
    id: str = Field(description="client-generated UUID; a resent id is a duplicate")
    type: ClientEventType = Field(description="views only: the platform counts downloads when it serves a file")
    filing: Optional[Text(1, 64)] = Field(default=None, description="the filing viewed (or name a publication)")
    publication: Optional[Text(1, 64)] = Field(default=None, description="the publication viewed")
    user_agent: Optional[Text(0, 1000)] = None

    @model_validator(mode="before")
    @classmethod
    def _no_client_downloads(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("type") == "download":
            raise FieldErrors([("type", "downloads are counted by the platform when it serves the file "
                                        "(GET /filings/{id}/files/{file_id}); clients do not send them")])
        return data

    @model_validator(mode="after")
    def _one_target(self) -> "EventIn":
        if (self.filing is None) == (self.publication is None):
            raise FieldErrors([("filing", "name exactly one of filing and publication")])
        return self

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("must be a UUID") from None


class EventsIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=100)


class CommentIn(Body):
    text: Text(1, 2000, multiline=True)


class EvaluationIn(Body):
    score: int = Field(ge=1, le=5)
    feedback: Optional[Text(0, 2000, multiline=True)] = None


# ---- usage events -------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    accepted: int
    duplicates: int
    ignored: int
    robots: int

    def to_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "ignored": self.ignored}


def record_events(caller: Caller | None, batch: EventsIn, request_agent: str | None, robots: Robots,
                  now: datetime) -> Receipt:
    """Store a batch of views; a resent id is a duplicate, a stale filing or publication is ignored.

    Robots (by the event's user agent, else the request's) are stored for the record but
    flagged so they never count. All events of a batch carry the server's receipt time;
    counted ones take their places in their chains in request order (usage_order.py).
    """
    caller = require(caller)
    named = [counting.target_of(event.model_dump()) for event in batch.events]
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
    return Receipt(accepted=len(outcome.stored), duplicates=duplicates + len(outcome.duplicates),
                   ignored=ignored, robots=sum(e.robot for e in outcome.stored))


def record_download(caller: Caller, kind: str, doc: Filing | Publication, file_id: str, agent: str | None,
                    robots: Robots, now: datetime) -> UsageEvent | None:
    """Count one download the platform served (approved records only), by the same rules as views."""
    if doc.status != "approved":
        return None
    event = usage_event(caller, uuid.uuid4().hex, "download", kind, doc, agent, robots, now, file_id)
    return _store([event], now).stored[0]


def usage_event(caller: Caller, event_id: str, type_: str, kind: str, doc: Filing | Publication,
                agent: str | None, robots: Robots, now: datetime, file_id: str | None = None) -> UsageEvent:
    """A view or download of `doc` (a filing or publication, named by `kind`) before it takes its place."""
    return UsageEvent(
        *usage_order.event_key(caller.sub, event_id), entity="event", id=event_id, type=type_, user=caller.sub,
        at=now, province=doc.province, user_agent=agent, robot=robots.is_robot(agent),
        author=is_own_staff(caller, doc), file=file_id, attributed_to=getattr(doc, "attributed_to", None),
        **{kind: doc.id})


def _store(items: list[UsageEvent], now: datetime) -> usage_order.Outcome:
    return usage_order.store(items, [counting.counts({"robot": e.robot, "author": e.author}) for e in items], now)


_TARGET_MODELS = {"filing": (Filing, filings.key), "publication": (Publication, publications.key)}


def _approved_targets(named: set[tuple[str, str]]) -> dict[tuple[str, str], Filing | Publication]:
    """The approved filings and publications among `named` ((kind, id) pairs), in one read per kind."""
    found: dict[tuple[str, str], Filing | Publication] = {}
    for kind, (model, key) in _TARGET_MODELS.items():
        ids = {target for named_kind, target in named if named_kind == kind}
        if not ids:
            continue
        wanted = ["pk", "sk", "id", "status", "province", "author"] + (["attributed_to"] if kind == "filing" else [])
        for doc in model.batch_get([(key(i), "A") for i in ids], attributes_to_get=wanted):
            if doc.status == "approved":
                found[(kind, doc.id)] = doc
    return found


# ---- likes and favorites ------------------------------------------------------------

REACTIONS = {"like": "LIKE", "favorite": "FAVORITE"}


def set_reaction(caller: Caller | None, filing_id: str, kind: str, active: bool, now: datetime) -> dict[str, Any]:
    """Idempotent toggle: PUT holds a like/favorite, DELETE lets go; repeating changes nothing."""
    caller = require(caller)
    filing = filings.get_approved(caller, filing_id)
    sk = f"{REACTIONS[kind]}#{caller.sub}"
    try:
        current = Reaction.get(filings.key(filing_id), sk, consistent_read=True)
    except Reaction.DoesNotExist:
        current = None
    if (current.active if current else False) != active:
        since = now if active else current.since
        Reaction(filings.key(filing_id), sk, entity="reaction", kind=kind, filing=filing_id, user=caller.sub,
                 province=filing.province, active=active, since=since, changed_at=now,
                 author=is_own_staff(caller, filing)).save()
    return {"filing": filing_id, kind: active}


# ---- comments ------------------------------------------------------------------------

def add_comment(caller: Caller | None, filing_id: str, body: CommentIn, now: datetime) -> Comment:
    """Comment on an approved filing."""
    caller = require(caller)
    filing = filings.get_approved(caller, filing_id)
    comment_id = f"{int(now.timestamp() * 1000):013d}{uuid.uuid4().hex[:8]}"
    comment = Comment(filings.key(filing_id), f"COMMENT#{comment_id}", entity="comment", id=comment_id,
                      filing=filing_id, user=caller.sub, province=filing.province, text=body.text,
                      created_at=now, author=is_own_staff(caller, filing))
    comment.save(condition=Comment.pk.does_not_exist())
    return comment


def delete_comment(caller: Caller | None, filing_id: str, comment_id: str, now: datetime) -> None:
    """Soft-delete a comment (its author or a national admin); deleting twice is harmless."""
    caller = require(caller)
    filings.get(caller, filing_id)
    try:
        comment = Comment.get(filings.key(filing_id), f"COMMENT#{comment_id}")
    except Comment.DoesNotExist:
        raise NotFound(f"No comment {comment_id} on filing {filing_id}") from None
    if comment.user != caller.sub and not caller.is_national_admin:
        raise Forbidden("Only the comment's author or a national admin may delete it")
    if comment.deleted_at is None:
        comment.update(actions=[Comment.deleted_at.set(now), Comment.deleted_by.set(caller.sub)])


def list_comments(caller: Caller | None, filing_id: str) -> list[Comment]:
    """The comments of a visible filing that are not deleted, oldest first."""
    filings.get(caller, filing_id)
    return [c for c in Comment.query(filings.key(filing_id), Comment.sk.startswith("COMMENT#"))
            if c.deleted_at is None]


def render_comment(comment: Comment) -> dict[str, Any]:
    return {"id": comment.id, "filing": comment.filing, "user": comment.user, "text": comment.text,
            "created_at": iso(comment.created_at)}


# ---- evaluations ---------------------------------------------------------------------

def evaluate(caller: Caller | None, filing_id: str, body: EvaluationIn, now: datetime) -> Evaluation:
    """One evaluation per user and filing; a second PUT replaces the first."""
    caller = require(caller, "user")
    if caller.side is None:
        raise Forbidden("Evaluations are counted by side: the token needs a side claim")
    filing = filings.get_approved(caller, filing_id)
    evaluation = Evaluation(*feedback.evaluation_key(filing_id, caller.sub), entity="evaluation", filing=filing_id,
                            user=caller.sub, side=caller.side, province=filing.province, score=body.score,
                            feedback=body.feedback, updated_at=now, author=is_own_staff(caller, filing),
                            industry=filing.industry, attributed_to=filing.attributed_to)
    feedback.index(evaluation)
    evaluation.save()
    return evaluation


def render_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    return {"filing": evaluation.filing, "user": evaluation.user, "side": evaluation.side,
            "score": int(evaluation.score), "feedback": evaluation.feedback,
            "updated_at": iso(evaluation.updated_at)}


def receive_events(caller: Caller | None, batch: EventsIn, request_agent: str | None, robots: Robots,
                   now: datetime) -> Receipt:
    """POST /events: record the batch, then add what was accepted, resent and dropped as robots to the metrics."""
    receipt = record_events(caller, batch, request_agent, robots, now)
    for name, value in ((obs.EVENTS_ACCEPTED, receipt.accepted), (obs.EVENTS_DUPLICATE, receipt.duplicates),
                        (obs.ROBOTS_DROPPED, receipt.robots)):
        obs.metrics.add_metric(name=name, unit=obs.MetricUnit.Count, value=value)
    return receipt
