"""Evaluated populations as the routes see them: the registries of service bases and support
institutions, their schemes, the attribution of filings to their units, and every population's runs,
scores, publications, adjustments, flag resolutions and explanations (`/populations/{p}/...`), each
delegating to the one code path the provinces' `/cycles/...` routes use.

What differs per population is in population_sources.py; the run store is runs.py. A filing counts for
a base or institution once its province (or a national admin) attributes it (`Filing.attributed_to`,
"<population>#<code>") before approval, or through a revision review approves; the counters keep each
unit's approved filings per cycle (counting_rules.unit_cycle_key) and the counted views, downloads and
evaluations of its attributed results (each fact carries the attribution of its time).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import computed_page, decode_cursor, query_page, scope_of, take_page
from chalicelib.core.schemas import Body, ProvinceCode, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.documents import filings
from chalicelib.scoring import (
    adjustments,
    announcements,
    explanations,
    flag_resolutions,
    objections,
    runs,
)
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.scoring.population_sources import (
    POPULATIONS,
    Population,
    registered,
    registry_key,
    registry_pk,
)
from chalicelib.scoring.population_sources import population_or_404 as _population
from chalicelib.usage import counting_rules


class UnitIn(Body):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")] = Field(
        description="the unit's code within its population"
    )
    name: Text(1, 100)
    province: ProvinceCode = Field(
        description="where it is located: that province's staff attribute filings to it"
    )


class UnitAdjustmentIn(Body):
    """A manual-check adjustment of a base's or institution's points, with its reason."""

    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    indicator: str = Field(
        adjustments.TOTAL, description="an indicator id of the population's scheme, or 'total'"
    )
    points: float = Field(ge=-100, le=100, description="points added (negative: removed)")
    reason: Text(1, 2000, multiline=True)

    @field_validator("points", mode="before")
    @classmethod
    def _not_zero(cls, v: Any) -> Any:
        return adjustments.AdjustmentIn._not_zero(v)


class AttributionIn(Body):
    population: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]


# ---- populations and registries ------------------------------------------------------------


def population_or_404(population: str) -> str:
    """The population's id (404 unknown)."""
    return _population(population).id


def _registered(population: str) -> Population:
    """A population with a stored registry (every one but the provinces)."""
    found = _population(population)
    if not found.registered:
        raise Conflict(
            Message("The provincial units are the reference list of /provinces and are scored at /cycles")
        )
    return found


def describe() -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "links": {"units": f"/populations/{p.id}/units", "scheme": f"/populations/{p.id}/scoring-scheme"},
        }
        for p in POPULATIONS.values()
    ]


def units(population: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """One page of the population's units in code order (public)."""
    found = _population(population)
    scope = scope_of("UNITS", population=population)
    if not found.registered:  # reference data, not stored
        listed = list(found.units().values())
        return computed_page(listed, limit, cursor, scope, secret, lambda u: (u["code"],)).to_dict(
            lambda u: u
        )
    query = partial(Record.query, registry_pk(population), Record.sk.startswith(counting_rules.UNIT))
    return query_page(query, limit, cursor, scope, secret).to_dict(lambda r: r.data)


def register_unit(caller: Caller | None, population: str, body: UnitIn, now: datetime) -> dict[str, Any]:
    """Add a base or institution to its population's registry (national admins)."""
    caller = require(caller)
    _registered(population)
    data = {
        **body.model_dump(),
        "population": population,
        "registered_by": caller.sub,
        "registered_at": iso(now),
    }
    try:
        with transaction() as tx:
            tx.save(
                Record(
                    *registry_key(population, body.code),
                    kind="population_unit",
                    data=data,
                    created_at=now,
                    updated_at=now,
                ),
                condition=Record.pk.does_not_exist(),
            )
            tx.save(
                audit.entry("population_unit", f"{population}/{body.code}", "registered", caller, now, data)
            )
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        raise Conflict(
            Message("%(population)s already has a unit %(code)s", population=population, code=body.code)
        ) from None
    return data


# ---- schemes ---------------------------------------------------------------------------------


def current_scheme(population: str) -> dict[str, Any]:
    return _population(population).current_scheme()


def scheme_version(population: str, version: int) -> dict[str, Any]:
    return _population(population).scheme_version(version)


def store_scheme(caller: Caller | None, population: str, body: scheme_mod.SchemeIn, now: datetime) -> dict:
    found = _population(population)
    return scheme_mod.store_new(caller, body, now, found.scheme_pk, found.default_scheme)


def describe_scheme(population: str, raw_version: str | None) -> dict[str, Any]:
    """The population's scheme as published: the version asked for (checked), else its current one."""
    version = scheme_mod.parse_version(raw_version)
    return scheme_mod.describe(
        current_scheme(population) if version is None else scheme_version(population, version)
    )


# ---- attribution -----------------------------------------------------------------------------


def _attributable_unit(caller: Caller, filing: Filing, body: AttributionIn) -> dict[str, Any]:
    """The registered unit the body names, one the caller may attribute the filing to (422 otherwise)."""
    target = POPULATIONS.get(body.population)
    if target is None or not target.registered:
        raise Invalid(
            Message("Unknown population"),
            errors=[{"field": "population", "message": Message("a population other than the provinces")}],
        )
    unit = registered(body.population).get(body.unit)
    if unit is None:
        raise Invalid(
            Message("%(population)s has no unit %(code)s", population=body.population, code=body.unit),
            errors=[{"field": "unit", "message": Message("not in the population's registry")}],
        )
    if not caller.is_national_admin and unit["province"] != filing.province:
        # The caller may attribute this filing, but not to that unit: the body is what is wrong.
        raise Invalid(
            Message(
                "%(unit)s is located in %(province)s, not in the filing's province",
                unit=unit["name"],
                province=unit["province"],
            ),
            errors=[
                {
                    "field": "unit",
                    "message": Message("a unit located in %(province)s", province=filing.province),
                }
            ],
        )
    return unit


def attribute(caller: Caller | None, filing_id: str, body: AttributionIn, now: datetime) -> dict[str, Any]:
    """Attribute a filing to a base or institution: the filing's own province staff (for a unit in
    their province) or a national admin. Before approval (pending or rejected) it applies at once; an
    approved filing's attribution changes through review (a proposed revision); a withdrawn or taken
    down one is attributed to nobody (409)."""
    caller = require(caller)
    try:
        filing = Filing.get(*filings.doc_key(filing_id)) if len(filing_id) <= 64 else None
    except Filing.DoesNotExist:
        filing = None
    if filing is None:
        raise NotFound(Message("No filing %(filing_id)s", filing_id=filing_id))
    if not caller.sees_all_of(filing.province):
        raise Forbidden(
            Message(
                "Filing %(filing_id)s belongs to %(province)s", filing_id=filing_id, province=filing.province
            )
        )
    unit = _attributable_unit(caller, filing, body)
    ref = f"{body.population}#{body.unit}"
    before = filing.attributed_to
    answer = {
        "filing": filing.id,
        "population": body.population,
        "unit": body.unit,
        "unit_name": unit["name"],
        "pending_review": False,
    }
    waiting = (filing.proposed or {}).get("fields", {})
    if before == ref and "attributed_to" not in waiting:
        return answer
    if filing.status == "withdrawn":
        raise Conflict(
            Message(
                "Filing %(filing_id)s was withdrawn; a withdrawn filing cannot be attributed",
                filing_id=filing_id,
            )
        )
    if filing.status in ("approved", "taken_down"):
        # What review accepted changes only through review: the counts move when the revision is approved.
        proposed = filings.propose(filing, caller, {"attributed_to": ref}, now)
        return {**answer, "pending_review": True, "revision": int(proposed.proposed["revision"])}
    try:
        with transaction() as tx:
            tx.update(filing, actions=[Filing.attributed_to.set(ref)])  # versioned: refused if it changed
            tx.save(audit.entry("filing", filing.id, "attributed", caller, now, {"from": before, "to": ref}))
    except TransactWriteError:
        raise Conflict(Message("The filing changed meanwhile; try again")) from None
    return answer


# ---- runs, scores and publications of any population ----------------------------------------


def run(caller: Caller | None, population: str, cycle_id: str, now: datetime) -> dict[str, Any]:
    """Score a population's units for a cycle from their counters (national admins)."""
    caller = require(caller)
    return runs.run(cycle_id, caller, now, "api", population_or_404(population))


def scores(caller: Caller | None, population: str, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The units of a run, best first: the public sees the newest publication, national admins
    the latest run or the one named."""
    return runs.render(runs.load(caller, cycle_id, run_id, population_or_404(population)))


def exportable(caller: Caller | None, population: str, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The run as the scoring exports read it (same visibility as the scores)."""
    return runs.exportable(runs.load(caller, cycle_id, run_id, population_or_404(population)))


def publish(
    caller: Caller | None, population: str, cycle_id: str, run_id: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """Publish a population's run with its notice; a later run with a reason supersedes it."""
    require(caller)
    return objections.publish_final(caller, cycle_id, run_id, reason, now, population_or_404(population))


def record_adjustment(
    caller: Caller | None, population: str, cycle_id: str, body: UnitAdjustmentIn, now: datetime
) -> dict[str, Any]:
    """Keep a manual-check adjustment of one unit (national admins); later runs apply it."""
    caller = require(caller)
    found = _registered(population)
    return adjustments.record_for(
        caller, found, cycle_id, body.unit, body.indicator, body.points, body.reason, now
    )


def unit_adjustments(
    caller: Caller | None, population: str, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """A page of the population's cycle's adjustments, oldest first (national admins)."""
    require(caller)
    found = _registered(population)
    cycle_or_404(cycle_id)
    scope = scope_of("UNIT_ADJUSTMENTS", population=population, cycle=cycle_id)
    stored = adjustments.page_of(found.scope(cycle_id), limit, decode_cursor(cursor, scope, secret))
    return take_page(stored, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret).to_dict(
        lambda r: r.data
    )


def explain(caller: Caller | None, population: str, cycle_id: str, run_id: str, code: str) -> dict[str, Any]:
    """Why a unit scored what it did in a run, down to its counters (national admins)."""
    caller = require(caller)
    return explanations.explain(caller, cycle_id, run_id, code, population_or_404(population))


def resolve_flag(
    caller: Caller | None,
    population: str,
    cycle_id: str,
    run_id: str,
    code: str,
    body: flag_resolutions.ResolutionIn,
    now: datetime,
) -> dict[str, Any]:
    """Close one of a unit's flags with a note, as for provinces (national admins)."""
    caller = require(caller)
    return flag_resolutions.resolve(caller, cycle_id, run_id, code, body, now, population_or_404(population))


def announcements_page(population: str, cycle_id: str, limit: int, cursor: str | None, secret: str) -> dict:
    """Every publication of the population's cycle, newest first (the provinces' are the cycle's own)."""
    found = _population(population)
    cycle_or_404(cycle_id)
    return announcements.history(found.scope(cycle_id), limit, cursor, secret)
