"""Evaluated populations: who a scoring run ranks. The 32 provincial units (the reference list,
scored by runs.py as the contract describes) and, under the same notice, the national patent
navigation service bases (国家级专利导航服务基地) and support institutions (专利导航支撑服务机构),
each with its own registry, its own scheme (versioned data) and its own runs and publications.

A filing counts for a base or institution once its province (or a national admin) attributes
it (`Filing.attributed_to`, "<population>#<code>") before approval, or through a revision review
approves; the counters keep each unit's approved filings per cycle (counting_rules.unit_cycle_key) and the
counted views, downloads and evaluations of its attributed results (each fact carries the attribution
of its time). Like the provinces' runs, these runs read only counters: one BatchGet for all units of
the population.

Storage (records table):
- `POPULATION#{population}` / `UNIT#{code}`: a registered unit (kind `population_unit`).
- `SCHEME#{population}` / `V#{version}`: the population's stored scheme versions.
- `RUNS#{population}#{cycle}` / `<run id>` and `RUN#{run id}` / `<code>`: runs and results.
- Publications through announcements.py under the scope "<population>#<cycle>".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from pynamodb.exceptions import PutError

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import china, iso
from chalicelib.core.cycles import cycle_or_404, cycles_closing_in
from chalicelib.core.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import computed_page, decode_cursor, query_page, scope_of, take_page
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, ProvinceCode, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.documents import filings
from chalicelib.scoring import (
    adjustments,
    announcements,
    bonus,
    explanations,
    flag_resolutions,
    flags,
    objections,
    runs,
)
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.usage import counting_rules, running_counters

PROVINCES_ID = "provinces"
# A run's results are stored in transactions of this many (DynamoDB takes 100 items per
# transaction): the header claims the run id first and is marked complete last, so a registry has
# no fixed cap and nobody reads a run half stored.
RESULTS_PER_TRANSACTION = 90


def _ind(id, name, inputs, weight, normalise="log_best", **kw) -> dict:
    body = {"id": id, "name": name, "inputs": inputs, "weight": weight, "normalise": normalise, **kw}
    if normalise == "log_best":
        body.setdefault("cap_median_multiple", 3.0)
    return body


_REPORTS = {
    "reports_approved_regional_planning": 1.0,
    "reports_approved_industry_planning": 1.5,
    "reports_approved_enterprise_operation": 1.5,
    "reports_approved_rd_activity": 1.2,
    "reports_approved_talent_management": 1.0,
    "reports_approved_other": 0.8,
    "reports_approved_none": 0.8,
}


def _default_scheme(name: str, note: str, own_area: dict[str, Any], proof_weight: float) -> dict[str, Any]:
    """A population's built-in scheme: its own area first, then the application (with the usage of
    its attributed results) and conduct areas every population shares; excellent projects attributed
    to a unit add its bonus, as for provinces."""
    return {
        "name": name,
        "note": note,
        "areas": [
            own_area,
            {
                "id": "application",
                "name": "应用成效",
                "indicators": [
                    _ind(
                        "application_proofs",
                        "成果应用证明",
                        {"filings_approved_application_proof": 1},
                        proof_weight,
                    ),
                    _ind("views", "浏览（COUNTER 唯一调查）", {"views_unique": 1}, 10),
                    _ind("downloads", "下载（COUNTER 唯一请求）", {"downloads_unique": 1}, 5),
                    _ind(
                        "evaluation_mean",
                        "在线评价均分",
                        {"evaluation_score_sum": 1},
                        10,
                        "mean",
                        measure="mean",
                        count="evaluations",
                        prior=3.0,
                        prior_weight=10.0,
                    ),
                ],
            },
            {
                "id": "conduct",
                "name": "规范运行",
                "indicators": [
                    _ind(
                        "timeliness",
                        "备案及时性",
                        {"filings_on_time": 1},
                        10,
                        "ratio",
                        measure="ratio",
                        denominator="filings_approved",
                    )
                ],
            },
        ],
        "bonus": {"points_per_excellent_project": 2.0, "cap": 6.0},
    }


# The built-in version 1 of each population's scheme (platform proposals; national admins store others).
DEFAULT_SCHEMES: dict[str, dict[str, Any]] = {
    "service_bases": _default_scheme(
        "国家级专利导航服务基地评价指标（平台建议稿）",
        "Service bases are judged on the navigation services they deliver and how they are applied.",
        {
            "id": "services",
            "name": "导航服务成果",
            "indicators": [
                _ind("reports", "导航报告（按类型加权）", _REPORTS, 25),
                _ind("databases", "专题数据库", {"filings_approved_database": 1}, 10),
                _ind("tools", "导航工具", {"filings_approved_tool": 1}, 5),
            ],
        },
        proof_weight=25,
    ),
    "support_institutions": _default_scheme(
        "专利导航支撑服务机构评价指标（平台建议稿）",
        "Support institutions are judged on the databases and tools they build and their use.",
        {
            "id": "support",
            "name": "支撑能力",
            "indicators": [
                _ind("databases", "专题数据库", {"filings_approved_database": 1}, 25),
                _ind("tools", "导航工具", {"filings_approved_tool": 1}, 15),
                _ind("reports", "导航报告", _REPORTS, 10),
            ],
        },
        proof_weight=15,
    ),
}
NAMES = {
    PROVINCES_ID: "省级专利导航工作（32个省级单位）",
    "service_bases": "国家级专利导航服务基地",
    "support_institutions": "专利导航支撑服务机构",
}


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
    if population not in NAMES:
        raise NotFound(f"No evaluated population {population}; see /populations")
    return population


def _custom(population: str) -> str:
    """A population with a stored registry (every one but the provinces)."""
    population_or_404(population)
    if population == PROVINCES_ID:
        raise Conflict("The provincial units are the reference list of /provinces and are scored at /cycles")
    return population


def describe() -> list[dict[str, Any]]:
    return [
        {
            "id": p,
            "name": n,
            "links": {"units": f"/populations/{p}/units", "scheme": f"/populations/{p}/scoring-scheme"},
        }
        for p, n in NAMES.items()
    ]


def registry_pk(population: str) -> str:
    return f"POPULATION#{population}"


def registry_key(population: str, code: str) -> tuple[str, str]:
    """A unit's entry in its population's registry (the prefix is the one its counters use)."""
    return registry_pk(population), f"{counting_rules.UNIT}{code}"


def _units(population: str) -> dict[str, dict[str, Any]]:
    return {
        r.data["code"]: r.data
        for r in Record.query(registry_pk(population), Record.sk.startswith(counting_rules.UNIT))
    }


def units(population: str, limit: int, cursor: str | None, secret: str) -> dict[str, Any]:
    """One page of the population's registry in code order (public)."""
    population_or_404(population)
    scope = scope_of("UNITS", population=population)
    if population == PROVINCES_ID:  # reference data, not stored
        provinces = [{"code": c, "name": n, "province": c} for c, n in PROVINCES.items()]
        return computed_page(provinces, limit, cursor, scope, secret, lambda u: (u["code"],)).to_dict(
            lambda u: u
        )
    query = partial(Record.query, registry_pk(population), Record.sk.startswith(counting_rules.UNIT))
    return query_page(query, limit, cursor, scope, secret).to_dict(lambda r: r.data)


def register_unit(caller: Caller | None, population: str, body: UnitIn, now: datetime) -> dict[str, Any]:
    """Add a base or institution to its population's registry (national admins)."""
    caller = require(caller)
    _custom(population)
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
        raise Conflict(f"{population} already has a unit {body.code}") from None
    return data


# ---- schemes ---------------------------------------------------------------------------------


def _scheme_pk(population: str) -> str:
    return scheme_mod.PK if population == PROVINCES_ID else f"{scheme_mod.PK}#{population}"


def default_scheme(population: str) -> Callable[[], dict[str, Any]]:
    if population == PROVINCES_ID:
        return scheme_mod.default_scheme

    def built_in() -> dict[str, Any]:
        body = scheme_mod.SchemeIn.model_validate(copy.deepcopy(DEFAULT_SCHEMES[population])).model_dump()
        return {"version": scheme_mod.DEFAULT_VERSION, "created_at": None, "created_by": "built-in", **body}

    return built_in


def current_scheme(population: str) -> dict[str, Any]:
    population_or_404(population)
    return scheme_mod.current(_scheme_pk(population), default_scheme(population))


def scheme_version(population: str, version: int) -> dict[str, Any]:
    population_or_404(population)
    return scheme_mod.get_version(version, _scheme_pk(population), default_scheme(population))


def store_scheme(caller: Caller | None, population: str, body: scheme_mod.SchemeIn, now: datetime) -> dict:
    population_or_404(population)
    return scheme_mod.store_new(caller, body, now, _scheme_pk(population), default_scheme(population))


# ---- attribution -----------------------------------------------------------------------------


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
        raise NotFound(f"No filing {filing_id}")
    if not caller.sees_all_of(filing.province):
        raise Forbidden(f"Filing {filing_id} belongs to {filing.province}")
    if body.population not in NAMES or body.population == PROVINCES_ID:
        raise Invalid(
            "Unknown population",
            errors=[{"field": "population", "message": "a population other than the provinces"}],
        )
    unit = _units(body.population).get(body.unit)
    if unit is None:
        raise Invalid(
            f"{body.population} has no unit {body.unit}",
            errors=[{"field": "unit", "message": "not in the population's registry"}],
        )
    if not caller.is_national_admin and unit["province"] != filing.province:
        # The caller may attribute this filing, but not to that unit: the body is what is wrong.
        raise Invalid(
            f"{unit['name']} is located in {unit['province']}, not in the filing's province",
            errors=[{"field": "unit", "message": f"a unit located in {filing.province}"}],
        )
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
        raise Conflict(f"Filing {filing_id} was withdrawn; a withdrawn filing cannot be attributed")
    if filing.status in ("approved", "taken_down"):
        # What review accepted changes only through review: the counts move when the revision is approved.
        proposed = filings.propose(filing, caller, {"attributed_to": ref}, now)
        return {**answer, "pending_review": True, "revision": int(proposed.proposed["revision"])}
    try:
        with transaction() as tx:
            tx.update(filing, actions=[Filing.attributed_to.set(ref)])  # versioned: refused if it changed
            tx.save(audit.entry("filing", filing.id, "attributed", caller, now, {"from": before, "to": ref}))
    except TransactWriteError:
        raise Conflict("The filing changed meanwhile; try again") from None
    return answer


# ---- runs ------------------------------------------------------------------------------------


def _runs_pk(population: str, cycle_id: str) -> str:
    return runs.runs_pk(f"{population}#{cycle_id}")


def run(caller: Caller | None, population: str, cycle_id: str, now: datetime) -> dict[str, Any]:
    """Score a population's units for a cycle from their counters (national admins)."""
    caller = require(caller)
    if population_or_404(population) == PROVINCES_ID:
        return runs.run(cycle_id, caller, now)
    return _run(caller, population, cycle_id, now, "api")


def year_end(now: datetime) -> list[dict[str, Any]]:
    """The scheduled run of every population beyond the provinces that has units, for each cycle
    that closed in this China-time year (the provinces' year-end run is runs.year_end)."""
    year = china(now).year
    return [
        _run(None, population, c.id, now, "schedule")
        for population in NAMES
        if population != PROVINCES_ID and _units(population)
        for c in cycles_closing_in(year)
        if c.is_closed(now)
    ]


def _run(
    caller: Caller | None, population: str, cycle_id: str, now: datetime, trigger: str
) -> dict[str, Any]:
    """Score the population and keep the run whole (header + results + audit in one transaction)."""
    cycle = cycle_or_404(cycle_id)
    if now < cycle.starts_at:
        raise Conflict(f"Cycle {cycle.id} has not started; it opens at {iso(cycle.starts_at)}")
    registry = _units(population)
    if not registry:
        raise Conflict(f"{population} has no registered units to score")
    scheme = current_scheme(population)
    rules = scheme_mod.flag_rules(scheme)
    found = running_counters.read_many(
        {code: counting_rules.unit_cycle_key(f"{population}#{code}", cycle.id) for code in sorted(registry)}
    )
    numbers = {code: found.get(code, {}) for code in registry}
    gathered = {
        code: {
            "counters": dict(sorted(n.items())),
            "derived": runs.derived_inputs(n, None),
            "flags": flags.cutoff_bulk(n, rules),
        }
        for code, n in numbers.items()
    }
    excellent = excellent_of(population, cycle.id, registry)
    ranked = runs.compute(
        scheme,
        gathered,
        excellent,
        adjustments.of_cycle(f"{population}#{cycle.id}"),
        {c: u["name"] for c, u in registry.items()},
        key="unit",
    )
    for r in ranked:
        r["inputs"] = {"counters": gathered[r["unit"]]["counters"], "derived": gathered[r["unit"]]["derived"]}
    provisional = not cycle.is_closed(now)
    header = {
        "population": population,
        "cycle": cycle.id,
        "scheme_version": scheme["version"],
        "provisional": provisional,
        "trigger": trigger,
        "created_at": iso(now),
        "created_by": caller.sub if caller else "schedule",
        "window": {"start": cycle.first_day.isoformat(), "end": cycle.last_day.isoformat()},
        "scheme": scheme,
        "excellent_projects": excellent,
        "flagged_units": sum(1 for r in ranked if r["flags"]),
    }
    run_id = _claim_run_id(population, cycle.id, header, now)
    for start in range(0, len(ranked), RESULTS_PER_TRANSACTION):
        with transaction() as tx:
            for r in ranked[start : start + RESULTS_PER_TRANSACTION]:
                tx.save(
                    Record(
                        runs.results_pk(run_id),
                        r["unit"],
                        kind="scoring_result",
                        data={"run_id": run_id, **r},
                        created_at=now,
                        updated_at=now,
                    ),
                    condition=Record.pk.does_not_exist(),
                )
    done = Record.get(_runs_pk(population, cycle.id), run_id, consistent_read=True)
    done.data = {**done.data, "complete": True}
    done.updated_at = now
    with transaction() as tx:
        tx.save(done)
        tx.save(
            audit.entry(
                "scoring_run",
                run_id,
                "scored",
                caller,
                now,
                {
                    "population": population,
                    "cycle": cycle.id,
                    "provisional": provisional,
                    "scheme_version": scheme["version"],
                    "units": len(ranked),
                },
            )
        )
    return _summary(done.data, None)


def excellent_of(population: str, cycle_id: str, registry: dict[str, Any]) -> list[dict[str, Any]]:
    """The cycle's standing excellent projects whose filing is attributed to a unit of the population,
    each named by that unit (what the bonus counts), in one BatchGet of their filings."""
    projects = bonus.excellent_projects(cycle_id)
    if not projects:
        return []
    attributed = {
        f.id: f.attributed_to
        for f in Filing.batch_get(
            [filings.doc_key(p["filing"]) for p in projects],
            attributes_to_get=["pk", "sk", "id", "attributed_to"],
        )
    }
    out = []
    for p in projects:
        population_of, _, code = (attributed.get(p["filing"]) or "").partition("#")
        if population_of == population and code in registry:
            out.append({**p, "province": code, "filing_province": p["province"]})
    return out


def _claim_run_id(population: str, cycle_id: str, header: dict[str, Any], now: datetime) -> str:
    """Store the run's header, incomplete, under the next run id (two runs started at once: the
    loser takes the next sequence number)."""
    for _ in range(3):
        latest = next(
            iter(Record.query(_runs_pk(population, cycle_id), scan_index_forward=False, limit=1)), None
        )
        run_id = (
            f"run-{population}-{cycle_id}-{(announcements.run_sequence(latest.sk) + 1 if latest else 1):04d}"
        )
        try:
            Record(
                _runs_pk(population, cycle_id),
                run_id,
                kind="scoring_run",
                data={"run_id": run_id, **header, "complete": False},
                created_at=now,
                updated_at=now,
            ).save(condition=Record.pk.does_not_exist())
            return run_id
        except PutError as error:
            if not cancelled_by_condition(error):
                raise
    raise Conflict("Other runs of this population and cycle were being stored at the same time; try again")


def _summary(header: dict[str, Any], published: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: v for k, v in header.items() if k not in ("scheme", "excellent_projects")}
    out["published"] = bool(published and published["run_id"] == header["run_id"])
    out["links"] = {
        "scores": f"/populations/{header['population']}/cycles/{header['cycle']}/scores"
        f"?run_id={header['run_id']}"
    }
    return out


def _header(population: str, cycle_id: str, run_id: str) -> dict[str, Any]:
    try:
        if len(run_id) > 128:
            raise Record.DoesNotExist()
        header = Record.get(_runs_pk(population, cycle_id), run_id).data
    except Record.DoesNotExist:
        raise NotFound(f"No scoring run {run_id} of {population} in cycle {cycle_id}") from None
    if not header.get("complete", True):
        raise Conflict(f"Run {run_id} is still being stored (or was interrupted); read it again or run again")
    return header


def scores(caller: Caller | None, population: str, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The units of a run, best first: the public sees the newest publication, national admins
    the latest run or the one named."""
    if population_or_404(population) == PROVINCES_ID:
        return runs.render(runs.load(caller, cycle_id, run_id))
    loaded = load(caller, population, cycle_id, run_id)
    header, rows, published, run_id = (
        loaded["header"],
        loaded["results"],
        loaded["published"],
        loaded["run_id"],
    )
    shown = ("unit", "name", "rank", "total", "areas", "indicators", "flags") + (
        ("inputs",) if loaded["admin"] else ()
    )
    return {
        "run_id": run_id,
        "population": population,
        "cycle": cycle_id,
        "scheme_version": header["scheme_version"],
        "scheme_name": header["scheme"]["name"],
        "provisional": header["provisional"],
        "published": bool(published and published["run_id"] == run_id),
        "created_at": header["created_at"],
        "units": [{k: r[k] for k in shown} for r in rows],
    }


def exportable(caller: Caller | None, population: str, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The run as the scoring exports read it (same visibility as the scores); each row names its
    unit in the column the provinces' exports call `province`."""
    if population_or_404(population) == PROVINCES_ID:
        return runs.load(caller, cycle_id, run_id)
    loaded = load(caller, population, cycle_id, run_id)
    return {
        **loaded,
        "header": {"run_id": loaded["run_id"], **loaded["header"]},
        "results": [{**r, "province": r["unit"]} for r in loaded["results"]],
    }


def load(caller: Caller | None, population: str, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The run of a base or institution population the caller may see, with its results best first."""
    cycle_or_404(cycle_id)
    pointer = announcements.current(announcements.scope_key(cycle_id, population))
    published = pointer.data if pointer else None
    admin = caller is not None and caller.is_national_admin
    if not admin:
        if published is None or (run_id is not None and run_id != published["run_id"]):
            raise NotFound(f"{population} has no published scores for cycle {cycle_id} yet")
        run_id = published["run_id"]
    elif run_id is None:
        latest = next(
            (
                r
                for r in Record.query(_runs_pk(population, cycle_id), scan_index_forward=False)
                if r.data.get("complete", True)
            ),
            None,
        )
        if latest is None:
            raise NotFound(f"{population} has not been scored for cycle {cycle_id} yet")
        run_id = latest.sk
    return {
        "run_id": run_id,
        "header": _header(population, cycle_id, run_id),
        "results": runs.ranked_results(run_id),
        "published": published,
        "admin": admin,
    }


def publish(
    caller: Caller | None, population: str, cycle_id: str, run_id: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """Publish a population's run with its notice; a later run with a reason supersedes it."""
    require(caller)
    if population_or_404(population) == PROVINCES_ID:
        return objections.publish_final(caller, cycle_id, run_id, reason, now)
    cycle_or_404(cycle_id)
    header = _header(population, cycle_id, run_id)
    ranking = runs.ranked_results(run_id)
    record, _ = announcements.publish(
        caller, cycle_id, header, ranking, reason, now, subject=NAMES[population]
    )
    return _summary(header, record)


def record_adjustment(
    caller: Caller | None, population: str, cycle_id: str, body: UnitAdjustmentIn, now: datetime
) -> dict[str, Any]:
    """Keep a manual-check adjustment of one unit (national admins); later runs apply it."""
    caller = require(caller)
    _custom(population)
    cycle_or_404(cycle_id)
    if body.unit not in _units(population):
        raise Invalid(
            f"{population} has no unit {body.unit}",
            errors=[{"field": "unit", "message": "not in the population's registry"}],
        )
    ids = {ind["id"] for _, ind in scheme_mod.indicators(current_scheme(population))}
    if body.indicator != adjustments.TOTAL and body.indicator not in ids:
        raise Invalid(
            f"Unknown indicator {body.indicator!r}",
            errors=[
                {
                    "field": "indicator",
                    "message": "not an indicator of the population's current scheme, nor 'total'",
                }
            ],
        )
    return adjustments.store(
        caller,
        f"{population}#{cycle_id}",
        cycle_id,
        {
            "province": body.unit,
            "unit": body.unit,
            "population": population,
            "indicator": body.indicator,
            "points": body.points,
            "reason": body.reason,
        },
        now,
    )


def unit_adjustments(
    caller: Caller | None, population: str, cycle_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """A page of the population's cycle's adjustments, oldest first (national admins)."""
    require(caller)
    _custom(population)
    cycle_or_404(cycle_id)
    scope = scope_of("UNIT_ADJUSTMENTS", population=population, cycle=cycle_id)
    found = adjustments.page_of(f"{population}#{cycle_id}", limit, decode_cursor(cursor, scope, secret))
    return take_page(found, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret).to_dict(
        lambda r: r.data
    )


def explain(caller: Caller | None, population: str, cycle_id: str, run_id: str, code: str) -> dict[str, Any]:
    """Why a base or institution scored what it did in a run, down to its unit counters (national admins)."""
    caller = require(caller)
    if population_or_404(population) == PROVINCES_ID:
        return explanations.explain(caller, cycle_id, run_id, code)
    cycle_or_404(cycle_id)
    header = _header(population, cycle_id, run_id)
    return explanations.unit_explanation(
        {"run_id": run_id, **header},
        runs.ranked_results(run_id),
        code,
        "unit",
        counting_rules.unit_cycle_key(f"{population}#{code}", cycle_id),
        f"{population}#{cycle_id}",
    )


def resolve_flag(
    caller: Caller | None,
    population: str,
    cycle_id: str,
    run_id: str,
    code: str,
    body: flag_resolutions.ResolutionIn,
    now: datetime,
) -> dict[str, Any]:
    """Close one of a base's or institution's flags with a note, as for provinces (national admins)."""
    caller = require(caller)
    if population_or_404(population) == PROVINCES_ID:
        return flag_resolutions.resolve(caller, cycle_id, run_id, code, body, now)
    cycle_or_404(cycle_id)
    _header(population, cycle_id, run_id)
    rows = {r["unit"]: r for r in runs.ranked_results(run_id)}
    if code not in rows:
        raise NotFound(f"No unit {code} in run {run_id}")

    def adjust(reason: str) -> str:
        return record_adjustment(
            caller,
            population,
            cycle_id,
            UnitAdjustmentIn(unit=code, indicator=body.indicator, points=body.points, reason=reason),
            now,
        )["id"]

    return flag_resolutions.close(
        caller, f"{population}#{cycle_id}", run_id, code, rows[code]["flags"], body, adjust, now
    )


def describe_scheme(population: str, raw_version: str | None) -> dict[str, Any]:
    """The population's scheme as published: the version asked for (checked), else its current one."""
    version = scheme_mod.parse_version(raw_version)
    return scheme_mod.describe(
        current_scheme(population) if version is None else scheme_version(population, version)
    )


def announcements_page(population: str, cycle_id: str, limit: int, cursor: str | None, secret: str) -> dict:
    """Every publication of the population's cycle, newest first (the provinces' are the cycle's own)."""
    population_or_404(population)
    runs.cycle_or_404(cycle_id)
    scope = announcements.scope_key(cycle_id, None if population == PROVINCES_ID else population)
    return announcements.history(scope, limit, cursor, secret)


def year_end_all(now: datetime) -> list[dict[str, Any]]:
    """The 31 December schedule: the provinces' year-end runs, then every other population's."""
    return runs.year_end(now) + year_end(now)
