"""Checks that close: a national admin resolves each anomaly flag of a unit with a note.

`confirmed` (the anomaly is real; what follows is an adjustment or nothing), `adjusted` (with
the adjustment, recorded with the note as its reason) or `dismissed`. A flag is named by its
place in a run's list for the unit; the resolution is kept by the flag's kind and detail, so a
later run of the cycle that finds the same flag shows it resolved too.

Storage (records table): `FLAGRES#{scope}` / `{unit}#{digest of kind and detail}`, the scope a
cycle (provinces) or "<population>#<cycle>" (service bases, institutions), written once (a second
resolution is 409) with its audit entry in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.schemas import Body, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import FlagResolution
from chalicelib.scoring import adjustments, runs
from chalicelib.scoring.population_sources import PROVINCES_ID, population_or_404

ENTITY = "flag_resolution"


class ResolutionIn(Body):
    flag: int = Field(ge=0, le=1000, description="the flag's place (from 0) in the unit's flags of the run")
    resolution: FlagResolution
    note: Text(1, 2000, multiline=True)
    indicator: str = Field(adjustments.TOTAL, description="adjusted: the indicator, or 'total'")
    points: float | None = Field(
        None, ge=-100, le=100, description="adjusted: points added (negative: removed)"
    )

    @model_validator(mode="after")
    def _points(self) -> ResolutionIn:
        if self.resolution == "adjusted" and not self.points:
            raise ValueError(Message("an adjusted flag names the points of its adjustment (not 0)"))
        if self.resolution != "adjusted" and self.points is not None:
            raise ValueError(Message("only an adjusted flag carries points"))
        return self


def key(scope: str, unit: str, flag: Mapping[str, Any]) -> tuple[str, str]:
    digest = hashlib.sha256(f"{flag['kind']}\n{flag['detail']}".encode()).hexdigest()[:20]
    return f"FLAGRES#{scope}", f"{unit}#{digest}"


def of_unit(scope: str, unit: str) -> dict[str, dict[str, Any]]:
    """sort key → resolution, for one unit of the scope."""
    return {r.sk: r.data for r in Record.query(f"FLAGRES#{scope}", Record.sk.startswith(f"{unit}#"))}


def with_resolutions(scope: str, unit: str, flags: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The unit's flags, each with its resolution (None while open)."""
    known = of_unit(scope, unit)
    return [{**f, "resolution": known.get(key(scope, unit, f)[1])} for f in flags]


def resolve(
    caller: Caller | None,
    cycle_id: str,
    run_id: str,
    code: str,
    body: ResolutionIn,
    now: datetime,
    population: str = PROVINCES_ID,
) -> dict[str, Any]:
    """Close one flag of the unit in the run with a note (national admins); adjusted records the adjustment."""
    caller = require(caller)
    found = population_or_404(population)
    results = {r[found.key]: r for r in runs.stored(cycle_id, run_id, found.id)["results"]}
    if code not in results:
        raise NotFound(Message("No unit %(code)s in run %(run_id)s", code=code, run_id=run_id))

    def adjust(reason: str) -> str:
        return adjustments.record_for(
            caller, found, cycle_id, code, body.indicator, body.points, reason, now
        )["id"]

    return close(caller, found.scope(cycle_id), run_id, code, results[code]["flags"], body, adjust, now)


def close(
    caller: Caller,
    scope: str,
    run_id: str,
    unit: str,
    flags: list[Mapping[str, Any]],
    body: ResolutionIn,
    adjust: Callable[[str], str],
    now: datetime,
) -> dict[str, Any]:
    """Close one of a unit's flags in a run; `adjust(reason)` records an adjusted flag's adjustment (its id)."""
    if body.flag >= len(flags):
        raise Invalid(
            Message(
                "The unit has %(flags_count)s flags in run %(run_id)s", flags_count=len(flags), run_id=run_id
            ),
            errors=[
                {
                    "field": "flag",
                    "message": Message("at most %(last)s", last=len(flags) - 1)
                    if flags
                    else Message("no flags"),
                }
            ],
        )
    flag = flags[body.flag]
    record_key = key(scope, unit, flag)
    if Record.count(record_key[0], Record.sk == record_key[1]):
        raise Conflict(Message("This flag is already resolved"))
    adjustment = adjust(f"异常核查（{flag['kind']}）：{body.note}") if body.resolution == "adjusted" else None
    data = {
        "scope": scope,
        "run_id": run_id,
        "unit": unit,
        "kind": flag["kind"],
        "detail": flag["detail"],
        "resolution": body.resolution,
        "note": body.note,
        "adjustment": adjustment,
        "by": caller.sub,
        "at": iso(now),
    }
    try:
        with transaction() as tx:
            tx.save(
                Record(*record_key, kind=ENTITY, data=data, created_at=now, updated_at=now),
                condition=Record.pk.does_not_exist(),
            )
            tx.save(audit.entry(ENTITY, f"{scope}/{record_key[1]}", body.resolution, caller, now, data))
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        raise Conflict(Message("This flag was resolved meanwhile")) from None
    return data
