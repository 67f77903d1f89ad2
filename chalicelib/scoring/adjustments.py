"""Manual checks (人工校验): national admins' point adjustments, each with its reason.

An adjustment adds (or, negative, removes) points on one indicator or on the total of one unit
(a province, or a unit of another population) in one cycle. Adjustments are never edited or
deleted: a correction is another adjustment. Every later run applies all of them and lists them
with the unit. Stored under pk `ADJUST#{scope}` (the cycle, or "<population>#<cycle>"), sk
`<ISO time>#<id>` (so they read back in order).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field, field_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import Invalid
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.paging import computed_page, query_page, scope_of
from chalicelib.core.schemas import Body, ProvinceCode, Text
from chalicelib.core.store import transaction
from chalicelib.scoring import scheme
from chalicelib.scoring.population_sources import PROVINCIAL, Population
from chalicelib.scoring.scoring_math import TOTAL


class AdjustmentIn(Body):
    province: ProvinceCode
    indicator: str = Field(TOTAL, description="an indicator id of the current scheme, or 'total'")
    points: float = Field(ge=-100, le=100, description="points added (negative: removed)")
    reason: Text(1, 2000, multiline=True)

    @field_validator("points", mode="before")
    @classmethod
    def _not_zero(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0:
            raise ValueError(Message("an adjustment of 0 points changes nothing"))
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def key(cycle_id: str) -> str:
    return f"ADJUST#{cycle_id}"


def store(caller: Caller, scope: str, cycle_id: str, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Keep one checked adjustment of `scope` (a cycle, or "<population>#<cycle>" for another
    population, whose unit code stands in `province`: what scoring_math.compute reads) with its audit entry."""
    adjustment_id = uuid.uuid4().hex[:16]
    data = {"id": adjustment_id, "cycle": cycle_id, **fields, "by": caller.sub, "at": iso(now)}
    item = Record(
        key(scope),
        f"{now.isoformat()}#{adjustment_id}",
        kind="adjustment",
        data=data,
        created_at=now,
        updated_at=now,
    )
    with transaction() as tx:
        tx.save(item, condition=Record.pk.does_not_exist())
        tx.save(audit.entry("adjustment", f"{scope}/{adjustment_id}", "recorded", caller, now, data))
    return data


def of_cycle(cycle_id: str) -> list[dict[str, Any]]:
    """Every adjustment of the cycle (or of a population's scope), oldest first."""
    return [r.data for r in Record.query(key(cycle_id))]


def page_of(scope: str, limit: int, start: dict | None):
    """The stored adjustments of a scope from `start`, oldest first (the records, for paging)."""
    return Record.query(key(scope), last_evaluated_key=start, page_size=min(limit + 1, 200))


def page(
    cycle_id: str, limit: int, cursor: str | None, secret: str, province: str | None = None
) -> dict[str, Any]:
    """One page of the cycle's adjustments, oldest first; only `province`'s when named."""
    scope = scope_of("ADJUST", cycle=cycle_id, province=province)
    if province is None:
        return query_page(partial(Record.query, key(cycle_id)), limit, cursor, scope, secret).to_dict(
            lambda r: r.data
        )
    # Computed: the province is in the data, which a Query cannot filter on; a cycle's manual-check
    # adjustments are a handful per province.
    mine = [r.data for r in Record.query(key(cycle_id)) if r.data["province"] == province]
    return computed_page(mine, limit, cursor, scope, secret, order=lambda a: (a["at"], a["id"])).to_dict(
        lambda a: a
    )


def record_for(
    caller: Caller | None,
    population: Population,
    cycle_id: str,
    code: str,
    indicator: str,
    points: float,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Keep one adjustment of a unit of `population` (national admins): the unit must be one of its
    units, the indicator one of its scheme in force (or 'total')."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    if code not in population.units():
        raise Invalid(
            Message("%(population)s has no unit %(code)s", population=population.id, code=code),
            errors=[{"field": population.key, "message": Message("not in the population's registry")}],
        )
    ids = {ind["id"] for _, ind in scheme.indicators(population.current_scheme())}
    if indicator != TOTAL and indicator not in ids:
        raise Invalid(
            Message("Unknown indicator %(indicator)r", indicator=indicator),
            errors=[
                {
                    "field": "indicator",
                    "message": Message("not an indicator of the current scheme, nor 'total'"),
                }
            ],
        )
    unit = {"province": code, population.key: code, **population.tag()}
    fields = {**unit, "indicator": indicator, "points": points, "reason": reason}
    return store(caller, population.scope(cycle_id), cycle_id, fields, now)


def record_against_current(
    caller: Caller | None, cycle_id: str, body: AdjustmentIn, now: datetime
) -> dict[str, Any]:
    """Keep one adjustment of a province whose indicator must be one of the scheme in force (or 'total')."""
    return record_for(
        caller, PROVINCIAL, cycle_id, body.province, body.indicator, body.points, body.reason, now
    )
