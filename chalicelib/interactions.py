"""Interactions on approved filings: usage events, likes, favorites, comments, evaluations.

Endpoints store facts only; the stream trigger turns them into counters (counters.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import counting, filings, usage_order
from .auth import Caller, require
from .clock import iso
from .errors import Forbidden, NotFound
from .models import Comment, Evaluation, Filing, Reaction, UsageEvent
from .robots import Robots
from .schemas import CommentIn, EvaluationIn, EventsIn

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
    """Store a batch of views/downloads; a resent id is a duplicate, a stale filing is ignored.

    Robots (by the event's user agent, else the request's) are stored for the record but
    flagged so they never count. All events of a batch carry the server's receipt time;
    counted ones take their places in their chains in request order (usage_order.py).
    """
    caller = require(caller)
    wanted = {e.filing for e in batch.events}
    found = {f.id: f for f in Filing.batch_get([(filings.key(fid), "A") for fid in wanted])}
    approved = {fid: f for fid, f in found.items() if f.status == "approved"}

    items: list[UsageEvent] = []
    seen_ids: set[str] = set()
    duplicates = ignored = 0
    for event in batch.events:
        filing = approved.get(event.filing)
        if filing is None:
            ignored += 1
            continue
        if event.id in seen_ids:
            duplicates += 1
            continue
        seen_ids.add(event.id)
        agent = event.user_agent if event.user_agent is not None else request_agent
        items.append(UsageEvent(
            *usage_order.event_key(caller.sub, event.id), entity="event", id=event.id, type=event.type,
            filing=filing.id, user=caller.sub, at=now, province=filing.province, user_agent=agent,
            robot=robots.is_robot(agent), author=filing.author == caller.sub,
        ))
    outcome = usage_order.store(items, [counting.counts({"robot": e.robot, "author": e.author}) for e in items], now)
    return Receipt(accepted=len(outcome.stored), duplicates=duplicates + len(outcome.duplicates),
                   ignored=ignored, robots=sum(e.robot for e in outcome.stored))


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
                 author=filing.author == caller.sub).save()
    return {"filing": filing_id, kind: active}


# ---- comments ------------------------------------------------------------------------

def add_comment(caller: Caller | None, filing_id: str, body: CommentIn, now: datetime) -> Comment:
    """Comment on an approved filing."""
    caller = require(caller)
    filing = filings.get_approved(caller, filing_id)
    comment_id = f"{int(now.timestamp() * 1000):013d}{uuid.uuid4().hex[:8]}"
    comment = Comment(filings.key(filing_id), f"COMMENT#{comment_id}", entity="comment", id=comment_id,
                      filing=filing_id, user=caller.sub, province=filing.province, text=body.text,
                      created_at=now, author=filing.author == caller.sub)
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
    evaluation = Evaluation(filings.key(filing_id), f"EVAL#{caller.sub}", entity="evaluation", filing=filing_id,
                            user=caller.sub, side=caller.side, province=filing.province, score=body.score,
                            feedback=body.feedback, updated_at=now, author=filing.author == caller.sub)
    evaluation.save()
    return evaluation


def render_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    return {"filing": evaluation.filing, "user": evaluation.user, "side": evaluation.side,
            "score": int(evaluation.score), "feedback": evaluation.feedback,
            "updated_at": iso(evaluation.updated_at)}
