"""Results a province can see and contest: the provisional publication (公示), the objection
window (异议期), answers, and the final publication that follows.

A national admin publishes a final run (its cycle closed) provisionally: every province is told,
reads its own explanation and adjustments, and may object (reasons and file references) for the
scheme's `objection_days`. Each objection is answered: upheld records an adjustment with the
reason and a superseding run that becomes the provisional one (the reason kept with it), or
rejected with the reason. The final publication is refused until the window has closed AND every
objection is answered; a cycle never published provisionally publishes as before.

Storage (records table):
- `PROVISIONAL#{cycle}` / `CURRENT`: the provisional publication in force (run, window, history).
- `PROVISIONAL#{cycle}` / `PUBLISHED_RUN:{run id}`: that a run was published provisionally (what lets a
  province read that run's explanation).
- `OBJECTION#{cycle}` / `{id}`: one objection and its answer.
Every step writes an audit entry and the notifications of whom it concerns in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso, parse_instant
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.paging import decode_cursor, scope_of, take_page
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import TransactWriteError, transaction
from chalicelib.core.vocabulary import ObjectionDecision
from chalicelib.documents import notifications
from chalicelib.scoring import adjustments, runs, scheme
from chalicelib.scoring.population_sources import PROVINCES_ID, population_or_404

ENTITY = "objection"
MAX_FILES = 10


class ObjectionIn(Body):
    """A province's objection to the provisional result, while the window is open."""

    reason: Text(1, 4000, multiline=True) = Field(description="what is contested and why")
    indicator: Text(1, 64) | None = Field(None, description="the indicator contested, if one")
    files: list[Text(1, 256)] = Field(
        default_factory=list,
        max_length=MAX_FILES,
        description="references of supporting files (ids or links of uploaded files)",
    )


class AnswerIn(Body):
    """The national admin's answer: upheld (with the points of the adjustment) or rejected."""

    decision: ObjectionDecision
    reason: Text(1, 2000, multiline=True)
    indicator: str = Field(adjustments.TOTAL, description="upheld: the indicator adjusted, or 'total'")
    points: float | None = Field(
        None, ge=-100, le=100, description="upheld: points added (negative: removed)"
    )

    @model_validator(mode="after")
    def _points(self) -> AnswerIn:
        if self.decision == "upheld" and not self.points:
            raise ValueError(Message("an upheld objection names the points of its adjustment (not 0)"))
        if self.decision == "rejected" and self.points is not None:
            raise ValueError(Message("a rejected objection adjusts nothing"))
        return self


def provisional_key(cycle_id: str, run_id: str | None = None) -> tuple[str, str]:
    return f"PROVISIONAL#{cycle_id}", f"PUBLISHED_RUN:{run_id}" if run_id else "CURRENT"


def objections_pk(cycle_id: str) -> str:
    return f"OBJECTION#{cycle_id}"


def _get(key: tuple[str, str]) -> Record | None:
    try:
        return Record.get(*key, consistent_read=True)
    except Record.DoesNotExist:
        return None


def current(cycle_id: str) -> dict[str, Any] | None:
    """The provisional publication in force, None when the cycle has none."""
    found = _get(provisional_key(cycle_id))
    return found.data if found else None


def was_provisional(cycle_id: str, run_id: str) -> bool:
    return _get(provisional_key(cycle_id, run_id)) is not None


def _window_open(state: dict[str, Any], now: datetime) -> bool:
    return now < parse_instant(state["closes_at"])


def _to_every_province(topic: str, data: dict[str, Any], now: datetime) -> list[Record]:
    return [notifications.to_province(code, topic, data, now) for code in PROVINCES]


def publish_provisionally(caller: Caller | None, cycle_id: str, run_id: str, now: datetime) -> dict[str, Any]:
    """公示: open the objection window on a final run; every province is told (national admins)."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    header = runs.stored(cycle_id, run_id)["header"]
    if header["provisional"]:
        raise Conflict(
            Message(
                "Run %(run_id)s was made while cycle %(cycle_id)s was open; run the closed cycle again",
                run_id=run_id,
                cycle_id=cycle_id,
            )
        )
    doc = _get(provisional_key(cycle_id))
    if doc is not None and _window_open(doc.data, now):
        raise Conflict(
            Message(
                "The objection window of cycle %(cycle_id)s is open until %(closes_at)s",
                cycle_id=cycle_id,
                closes_at=doc.data["closes_at"],
            )
        )
    days = scheme.objection_days(header["scheme"])
    state = {
        "cycle": cycle_id,
        "run_id": run_id,
        "opened_at": iso(now),
        "closes_at": iso(now + timedelta(days=days)),
        "objection_days": days,
        "published_by": caller.sub,
        "superseded": [],
    }
    doc = doc or Record(*provisional_key(cycle_id), kind="provisional_publication", created_at=now)
    doc.data, doc.updated_at = state, now
    try:
        with transaction() as tx:
            tx.save(doc)
            tx.save(
                Record(
                    *provisional_key(cycle_id, run_id),
                    kind="provisional_run",
                    created_at=now,
                    data={"run_id": run_id, "at": iso(now)},
                )
            )
            tx.save(audit.entry(ENTITY, cycle_id, "provisionally_published", caller, now, state))
            for note in _to_every_province(
                "results_provisional",
                {
                    "cycle": cycle_id,
                    "run_id": run_id,
                    "closes_at": state["closes_at"],
                    "link": f"/cycles/{cycle_id}/objections",
                },
                now,
            ):
                tx.save(note)
    except TransactWriteError:
        raise Conflict(Message("The provisional publication changed meanwhile; read it and retry")) from None
    return state


def file(caller: Caller | None, cycle_id: str, body: ObjectionIn, now: datetime) -> dict[str, Any]:
    """A province admin objects to its own provisional result while the window is open (409 otherwise)."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    state = current(cycle_id)
    if state is None:
        raise Conflict(
            Message("Cycle %(cycle_id)s has no provisional result to object to", cycle_id=cycle_id)
        )
    if not _window_open(state, now):
        raise Conflict(
            Message(
                "The objection window of cycle %(cycle_id)s closed at %(closes_at)s",
                cycle_id=cycle_id,
                closes_at=state["closes_at"],
            )
        )
    objection_id = uuid.uuid4().hex[:16]
    data = {
        "id": objection_id,
        "cycle": cycle_id,
        "run_id": state["run_id"],
        "province": caller.province,
        "indicator": body.indicator,
        "reason": body.reason,
        "files": body.files,
        "filed_by": caller.sub,
        "filed_at": iso(now),
        "status": "open",
        "answer": None,
    }
    with transaction() as tx:
        tx.save(
            Record(
                objections_pk(cycle_id), objection_id, kind=ENTITY, data=data, created_at=now, updated_at=now
            ),
            condition=Record.pk.does_not_exist(),
        )
        tx.save(audit.entry(ENTITY, f"{cycle_id}/{objection_id}", "filed", caller, now, data))
        tx.save(
            notifications.to_national_admins(
                "objection_filed",
                {
                    "cycle": cycle_id,
                    "objection": objection_id,
                    "province": caller.province,
                    "link": f"/cycles/{cycle_id}/objections",
                },
                now,
            )
        )
    return data


def answer(
    caller: Caller | None, cycle_id: str, objection_id: str, body: AnswerIn, now: datetime
) -> dict[str, Any]:
    """Answer an objection (national admins). Upheld: an adjustment with the reason, then a
    superseding run that becomes the provisional one; rejected: the reason. The province is told."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    doc = _open_objection(cycle_id, objection_id)
    data = doc.data
    outcome: dict[str, Any] = {
        "decision": body.decision,
        "reason": body.reason,
        "by": caller.sub,
        "at": iso(now),
    }
    if body.decision == "upheld":
        outcome.update(_uphold(caller, cycle_id, objection_id, data["province"], body, now))
    doc.data = {**data, "status": body.decision, "answer": outcome}
    doc.updated_at = now
    try:
        with transaction() as tx:
            tx.save(doc)
            tx.save(audit.entry(ENTITY, f"{cycle_id}/{objection_id}", "answered", caller, now, outcome))
            tx.save(
                notifications.to_province(
                    data["province"],
                    "objection_answered",
                    {
                        "cycle": cycle_id,
                        "objection": objection_id,
                        **outcome,
                        "link": f"/cycles/{cycle_id}/objections",
                    },
                    now,
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("The objection changed while it was being answered; read it and retry")
        ) from None
    return doc.data


def _open_objection(cycle_id: str, objection_id: str) -> Record:
    """The objection still waiting for its answer: 404 when there is none, 409 once answered."""
    doc = _get((objections_pk(cycle_id), objection_id))
    if doc is None:
        raise NotFound(
            Message(
                "No objection %(objection_id)s in cycle %(cycle_id)s",
                objection_id=objection_id,
                cycle_id=cycle_id,
            )
        )
    if doc.data["status"] != "open":
        raise Conflict(
            Message(
                "Objection %(objection_id)s was already answered (%(status)s)",
                objection_id=objection_id,
                status=doc.data["status"],
            )
        )
    return doc


def _uphold(
    caller: Caller, cycle_id: str, objection_id: str, province: str, body: AnswerIn, now: datetime
) -> dict[str, str]:
    """An upheld objection's adjustment and the superseding run it makes provisional; their ids."""
    adjusted = adjustments.record_against_current(
        caller,
        cycle_id,
        adjustments.AdjustmentIn(
            province=province,
            indicator=body.indicator,
            points=body.points,
            reason=f"异议 {objection_id} 成立：{body.reason}",
        ),
        now,
    )
    superseding = runs.run(cycle_id, caller, now, trigger="objection")
    _supersede_provisional(caller, cycle_id, superseding["run_id"], body.reason, objection_id, now)
    return {"adjustment": adjusted["id"], "run_id": superseding["run_id"]}


def _supersede_provisional(
    caller: Caller, cycle_id: str, run_id: str, reason: str, objection_id: str, now: datetime
) -> None:
    """The upheld objection's run becomes the provisional one; the window keeps its end."""
    doc = _get(provisional_key(cycle_id))
    state = doc.data
    doc.data = {
        **state,
        "run_id": run_id,
        "superseded": [
            *state["superseded"],
            {
                "run_id": state["run_id"],
                "by_run": run_id,
                "reason": reason,
                "objection": objection_id,
                "at": iso(now),
            },
        ],
    }
    doc.updated_at = now
    with transaction() as tx:
        tx.save(doc)
        tx.save(
            Record(
                *provisional_key(cycle_id, run_id),
                kind="provisional_run",
                created_at=now,
                data={"run_id": run_id, "at": iso(now)},
            )
        )
        tx.save(
            audit.entry(
                ENTITY,
                cycle_id,
                "provisionally_superseded",
                caller,
                now,
                {"run_id": run_id, "reason": reason, "objection": objection_id},
            )
        )


def listing(
    caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """The provisional publication and a page of its objections: national admins all, a province its own."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    province = None if caller.is_national_admin else caller.province
    scope = scope_of("OBJECTIONS", cycle=cycle_id, province=province)
    found = Record.query(
        objections_pk(cycle_id),
        last_evaluated_key=decode_cursor(cursor, scope, secret),
        page_size=min(limit + 1, 200),
    )
    mine = (r for r in found if province is None or r.data["province"] == province)
    page = take_page(mine, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret)
    return {"provisional": current(cycle_id), **page.to_dict(lambda r: r.data)}


def check_final(cycle_id: str, now: datetime) -> None:
    """409 while the cycle's objection window is open or an objection is unanswered (`cycle_id`: the
    scope of a population's runs; only the provinces' cycles ever have a window)."""
    state = current(cycle_id)
    if state is None:
        return
    if _window_open(state, now):
        raise Conflict(
            Message(
                "The objection window of cycle %(cycle_id)s is open until %(closes_at)s; the final publication follows it",
                cycle_id=cycle_id,
                closes_at=state["closes_at"],
            )
        )
    waiting = [r.sk for r in Record.query(objections_pk(cycle_id)) if r.data["status"] == "open"]
    if waiting:
        raise Conflict(
            Message(
                "%(waiting_count)s objections of cycle %(cycle_id)s are not answered yet: %(waiting)s",
                waiting_count=len(waiting),
                cycle_id=cycle_id,
                waiting=", ".join(waiting),
            )
        )


def publish_final(
    caller: Caller | None,
    cycle_id: str,
    run_id: str,
    reason: str | None,
    now: datetime,
    population: str = PROVINCES_ID,
) -> dict:
    """The final publication (runs.publish), once the objection window allows it; provinces are told.
    A population never published provisionally (the bases and institutions do not object) publishes at once."""
    require(caller)
    scope = population_or_404(population).scope(cycle_id)
    cycle_or_404(cycle_id)
    check_final(scope, now)
    published = runs.publish(caller, cycle_id, run_id, reason, now, population)
    if current(scope) is not None:
        with transaction() as tx:
            for note in _to_every_province(
                "results_final",
                {"cycle": cycle_id, "run_id": run_id, "link": f"/cycles/{cycle_id}/announcement"},
                now,
            ):
                tx.save(note)
    return published


def may_read(caller: Caller, scope: str, run_id: str, province: str) -> None:
    """A province admin reads its own province's explanation of a run published provisionally (403
    otherwise); `scope` is the run's (the cycle, for the provinces)."""
    if caller.is_national_admin:
        return
    if not caller.acts_for(province) or caller.role != "province_admin":
        raise Forbidden(Message("A province reads only its own explanation"))
    if not was_provisional(scope, run_id):
        raise Forbidden(
            Message(
                "Run %(run_id)s was not published provisionally; a province reads its explanation from then",
                run_id=run_id,
            )
        )


def visible_adjustments(
    caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the cycle's adjustments: national admins all; a province admin its own once a run of
    the cycle is published provisionally (403 before)."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    if caller.is_national_admin:
        return adjustments.page(cycle_id, limit, cursor, secret)
    if current(cycle_id) is None:
        raise Forbidden(
            Message(
                "A province reads its adjustments once cycle %(cycle_id)s's result is published provisionally",
                cycle_id=cycle_id,
            )
        )
    return adjustments.page(cycle_id, limit, cursor, secret, province=caller.province)
