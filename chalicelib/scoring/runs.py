"""Year-end scoring runs: read the running counters, score all 32 units, keep the run immutably.

A run reads a number of items that does not grow with the interaction events: the 32
province×cycle counter items (one BatchGet), each unit's month counters and per-account
counters (for the anomaly flags), the own counters of the few accounts that could be puppets
(one BatchGet per 100; see flags.swarm_candidates), the annual forms, excellent projects,
adjustments and the scheme. It stores the scheme it used, every input value, every indicator score, bonus,
adjustments, total and rank of all 32 units in one transaction (header + 32 results +
audit), so a run is either whole or absent and is never changed afterwards.
Same facts, same numbers: everything is computed in a fixed order; ties go to the lower
province code.

Keys (records table): run header pk `RUNS#{cycle}` sk `<run id>`; results pk `RUN#{run id}`
sk `<province>`; the published run of a cycle pk `PUBLISHED` sk `<cycle>` (announcements.py keeps
every publication and its notice).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter as Tally
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import china, iso
from chalicelib.core.cycles import Cycle, cycle_or_404, cycles_closing_in
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.models import Record
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.reference import PROVINCES
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import SIDES
from chalicelib.scoring import adjustments as adjustments_mod
from chalicelib.scoring import announcements, annual_forms, bonus, flags
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.usage import counting_rules, running_counters

RUNS = "RUNS#"


def runs_pk(scope: str) -> str:
    """The partition of a scope's run headers (a cycle, or "<population>#<cycle>"), sort key the run id."""
    return f"{RUNS}{scope}"


def results_pk(run_id: str) -> str:
    """The partition of one run's results, one item per unit."""
    return f"RUN#{run_id}"


def ranked_results(run_id: str) -> list[dict[str, Any]]:
    """The run's results, best rank first."""
    return sorted((r.data for r in Record.query(results_pk(run_id))), key=lambda r: r["rank"])


# ---- inputs --------------------------------------------------------------------------


def derived_inputs(numbers: Mapping[str, int], form: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inputs computed from counters and the annual form (None: not known without a form)."""
    funding = form["funding"] if form else None
    return {
        "form_filed": 1 if form else 0,
        "form_completeness": round(annual_forms.completeness(form), 6),
        "form_funding": round(funding["provincial_funds"] + funding["other_funds"], 6) if funding else 0,
        "form_fiscal_projects": form["projects"]["fiscal_funded"] if form else None,
        "filings_on_time": max(
            0, numbers.get("filings_approved", 0) - numbers.get("filings_approved_near_cutoff", 0)
        ),
        "evaluation_sides": sum(1 for s in SIDES if numbers.get(f"evaluations_{s}", 0) > 0),
    }


# How each derived input is made, and the province×cycle counters it is made from (the
# annual-form inputs come from the form of the run's `form_year`).
DERIVED_FROM: dict[str, tuple[str, tuple[str, ...]]] = {
    "form_filed": ("1 when the province's annual form is on file, else 0", ()),
    "form_completeness": ("share of the annual form's sections with substance", ()),
    "form_funding": ("provincial_funds + other_funds declared on the annual form (10k yuan)", ()),
    "form_fiscal_projects": ("fiscal-funded projects declared on the annual form (none without a form)", ()),
    "filings_on_time": (
        "max(0, filings_approved - filings_approved_near_cutoff)",
        ("filings_approved", "filings_approved_near_cutoff"),
    ),
    "evaluation_sides": (
        "number of sides whose evaluations_<side> > 0",
        tuple(f"evaluations_{s}" for s in SIDES),
    ),
}


def _forms(cycle: Cycle, provisional: bool) -> dict[str, tuple[int, dict]]:
    """province → (form year, form). A provisional run falls back to the year before, since the
    cycle's own form is only due after it closes."""
    year = cycle.closing_year
    found = {code: (year, form) for code, form in annual_forms.forms_of(year).items()}
    if provisional and len(found) < len(PROVINCES):
        for code, form in annual_forms.forms_of(year - 1).items():
            found.setdefault(code, (year - 1, form))
    return found


def gather(cycle: Cycle, provisional: bool) -> dict[str, Any]:
    """Everything a run reads, per unit: counters, derived inputs, flag evidence, bonus, adjustments."""
    scheme = scheme_mod.current()
    rules = scheme_mod.flag_rules(scheme)
    numbers = running_counters.province_cycle_all(cycle.id)
    forms = _forms(cycle, provisional)
    month_counters = _months(cycle)
    accounts_of = {code: running_counters.accounts(code, cycle.id) for code in PROVINCES}
    # An account acting on two units is no puppet of either: only single-unit candidates are read.
    seen_on = Tally(account for accounts in accounts_of.values() for account in accounts)
    units_of = _units_of(
        {
            account
            for accounts in accounts_of.values()
            for account in flags.swarm_candidates(accounts, rules)
            if seen_on[account] == 1
        }
    )
    units: dict[str, Any] = {}
    for code in PROVINCES:
        unit_numbers = {k: int(v) for k, v in sorted(numbers.get(code, {}).items())}
        form_year, form = forms.get(code, (None, None))
        months = month_counters.get(code, {})
        accounts = accounts_of[code]
        unit_flags = (
            flags.usage_spikes(months, cycle.first_day, cycle.last_day, rules)
            + flags.concentrated_bursts(accounts, rules)
            + flags.puppet_swarms(accounts, units_of, code, cycle, rules)
            + flags.cutoff_bulk(unit_numbers, rules)
            + flags.form_checks(form, unit_numbers)
        )
        units[code] = {
            "counters": unit_numbers,
            "derived": derived_inputs(unit_numbers, form),
            "form_year": form_year,
            "flags": unit_flags,
            "evidence": _evidence(months, accounts, cycle, rules),
        }
    return {
        "scheme": scheme,
        "units": units,
        "excellent": bonus.excellent_projects(cycle.id),
        "adjustments": adjustments_mod.of_cycle(cycle.id),
    }


def spike_months(cycle: Cycle) -> list[str]:
    """ "YYYY-MM" of the cycle's months and the 12 before them: all the spike check can look at."""
    year, month = cycle.first_day.year - 1, cycle.first_day.month
    out = []
    while (year, month) <= (cycle.last_day.year, cycle.last_day.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _months(cycle: Cycle) -> dict[str, dict[str, dict[str, int]]]:
    """province → month → usage counters, read by exact key (BatchGet: 32 × 24 keys for a one-year
    cycle). A Query per unit would read the same items but cost a request per unit."""
    found = running_counters.read_many(
        {
            (code, m): counting_rules.province_month_key(code, m)
            for code in PROVINCES
            for m in spike_months(cycle)
        }
    )
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (code, month), numbers in found.items():
        out.setdefault(code, {})[month] = numbers
    return out


def _units_of(users: set[str]) -> dict[str, dict[str, int]]:
    """account → counted activity per "<cycle>#<province>", for the swarm candidates only
    (BatchGet by exact key: one request per 100 candidates, none when there are none)."""
    return running_counters.read_many({u: counting_rules.account_units_key(u) for u in sorted(users)})


def _evidence(
    months: Mapping[str, Mapping[str, int]],
    accounts: Mapping[str, Mapping[str, int]],
    cycle: Cycle,
    rules: Mapping[str, Any],
) -> dict[str, Any]:
    """The values the flag checks looked at, kept with the run (months of the window and the
    year before; for accounts the totals and top shares rather than every account)."""
    start = f"{cycle.first_day.year - 1:04d}-{cycle.first_day.month:02d}"
    end = f"{cycle.last_day.year:04d}-{cycle.last_day.month:02d}"
    kept_months = {
        m: {n: int(v.get(n, 0)) for n in rules["spike_counters"]}
        for m, v in sorted(months.items())
        if start <= m <= end
    }
    kept_accounts = {}
    for name in rules["burst_counters"]:
        values = sorted((int(c.get(name, 0)) for c in accounts.values()), reverse=True)
        kept_accounts[name] = {
            "accounts": sum(1 for v in values if v),
            "total": sum(values),
            "top": values[: rules["burst_top_accounts"]],
        }
    return {"months": kept_months, "accounts": kept_accounts}


# ---- computation (pure) --------------------------------------------------------------


def indicator_value(ind: Mapping[str, Any], inputs: Mapping[str, Any]) -> float | None:
    """The raw value of one indicator for one unit (before normalisation)."""
    total = sum(factor * (inputs.get(name) or 0) for name, factor in ind["inputs"].items())
    if ind["measure"] == "ratio":
        denominator = inputs.get(ind["denominator"])
        if denominator is None:
            return 0.0
        return ind["if_denominator_zero"] if denominator == 0 else total / denominator
    if ind["measure"] == "mean":
        count = inputs.get(ind["count"]) or 0
        if count <= 0:
            return None  # no evaluation: no mean, and no points
        return (total + ind["prior"] * ind["prior_weight"]) / (count + ind["prior_weight"])
    return float(total)


def log_reference(ind: Mapping[str, Any], values: Mapping[str, float | None]) -> tuple[float | None, float]:
    """(cap, best) of a log_best indicator: cap = k × median of the non-zero values, best = the
    highest capped value."""
    positive = sorted(v for v in values.values() if v and v > 0)
    cap = (
        ind["cap_median_multiple"] * statistics.median(positive)
        if positive and ind.get("cap_median_multiple")
        else None
    )
    best = max((min(v or 0.0, cap) if cap is not None else (v or 0.0) for v in values.values()), default=0.0)
    return cap, best


def normalise(ind: Mapping[str, Any], values: Mapping[str, float | None]) -> dict[str, dict[str, Any]]:
    """code → {"value", "score" in [0, 1]} for one indicator across all units."""
    kind = ind["normalise"]
    out: dict[str, dict[str, Any]] = {}
    if kind == "log_best":
        cap, best = log_reference(ind, values)
        capped = {c: min(v or 0.0, cap) if cap is not None else (v or 0.0) for c, v in values.items()}
        for code, v in values.items():
            score = math.log1p(max(capped[code], 0)) / math.log1p(best) if best > 0 else 0.0
            out[code] = {
                "value": v,
                "capped_at": cap if cap is not None and (v or 0) > cap else None,
                "score": score,
            }
        return out
    for code, v in values.items():
        if kind == "ratio":
            score = min(max(v or 0.0, 0.0), 1.0)
        elif kind == "mean":
            score = 0.0 if v is None else min(max((v - 1) / 4, 0.0), 1.0)
        else:  # flag
            score = 1.0 if (v or 0) > 0 else 0.0
        out[code] = {"value": v, "score": score}
    return out


def _r(x: float | None, places: int = 4) -> float | None:
    return None if x is None else round(x, places)


def compute(
    scheme: Mapping[str, Any],
    units: Mapping[str, Mapping[str, Any]],
    excellent: list[dict[str, Any]],
    adjustments: list[dict[str, Any]],
    names: Mapping[str, str] = PROVINCES,
    key: str = "province",
) -> list[dict[str, Any]]:
    """Score every unit of a population; returns the units best first with rank, total, areas,
    indicators. `names` names the units and `key` is the field a row names its unit in (the
    provinces' rows keep "province", as the contract has it)."""
    inputs = {code: {**u["counters"], **u["derived"]} for code, u in units.items()}
    codes = sorted(units)
    known = {ind["id"] for _, ind in scheme_mod.indicators(scheme)}
    bonuses = bonus.bonus_points(excellent, scheme["bonus"])
    results: dict[str, dict[str, Any]] = {
        code: {
            key: code,
            "name": names.get(code, code),
            "indicators": {},
            "areas": {},
            "adjustments": [],
            "flags": list(units[code]["flags"]),
            "excellent_projects": bonuses.get(code, {}).get("count", 0),
            "bonus": bonuses.get(code, {}).get("points", 0.0),
        }
        for code in codes
    }
    indicator_adjustment: dict[tuple[str, str], float] = {}
    total_adjustment: dict[str, float] = {}
    for adj in adjustments:
        if adj["province"] not in results:
            continue
        target = adj["indicator"] if adj["indicator"] in known else adjustments_mod.TOTAL
        results[adj["province"]]["adjustments"].append({**adj, "applied_to": target})
        if target == adjustments_mod.TOTAL:
            total_adjustment[adj["province"]] = total_adjustment.get(adj["province"], 0.0) + adj["points"]
        else:
            k = (adj["province"], target)
            indicator_adjustment[k] = indicator_adjustment.get(k, 0.0) + adj["points"]

    for area_id, ind in scheme_mod.indicators(scheme):
        scored = normalise(ind, {code: indicator_value(ind, inputs[code]) for code in codes})
        for code in codes:
            s = scored[code]
            points = ind["weight"] * s["score"]
            adjust = indicator_adjustment.get((code, ind["id"]), 0.0)
            results[code]["indicators"][ind["id"]] = {
                "area": area_id,
                "value": _r(s["value"], 6),
                "capped_at": _r(s.get("capped_at"), 6),
                "score": _r(s["score"], 6),
                "points": _r(points),
                "adjustment": _r(adjust),
                "final": _r(points + adjust),
            }
            areas = results[code]["areas"]
            areas[area_id] = areas.get(area_id, 0.0) + points + adjust

    for code in codes:
        r = results[code]
        r["areas"] = {a: _r(p) for a, p in r["areas"].items()}
        r["total_adjustment"] = _r(total_adjustment.get(code, 0.0))
        subtotal = sum(i["points"] + i["adjustment"] for i in r["indicators"].values())
        r["total"] = _r(subtotal + r["bonus"] + r["total_adjustment"])
    ranked = sorted(results.values(), key=lambda r: (-r["total"], r[key]))
    for rank, r in enumerate(ranked, 1):
        r["rank"] = rank
    return ranked


# ---- runs ----------------------------------------------------------------------------


def _next_run_id(cycle: Cycle) -> str:
    latest = next(iter(Record.query(runs_pk(cycle.id), scan_index_forward=False, limit=1)), None)
    seq = int(latest.sk.rsplit("-", 1)[1]) + 1 if latest else 1
    return f"run-{cycle.id}-{seq:04d}"


def run(cycle_id: str, caller: Caller | None, now: datetime, trigger: str = "api") -> dict[str, Any]:
    """Score the cycle from the current counters and keep the run; returns its header."""
    cycle = cycle_or_404(cycle_id)
    if now < cycle.starts_at:
        raise Conflict(f"Cycle {cycle.id} has not started; it opens at {iso(cycle.starts_at)}")
    provisional = not cycle.is_closed(now)
    gathered = gather(cycle, provisional)
    ranked = compute(gathered["scheme"], gathered["units"], gathered["excellent"], gathered["adjustments"])
    for r in ranked:
        unit = gathered["units"][r["province"]]
        r["inputs"] = {
            "counters": unit["counters"],
            "derived": unit["derived"],
            "form_year": unit["form_year"],
            "flag_evidence": unit["evidence"],
        }
    header = {
        "cycle": cycle.id,
        "scheme_version": gathered["scheme"]["version"],
        "provisional": provisional,
        "trigger": trigger,
        "created_at": iso(now),
        "created_by": caller.sub if caller else "schedule",
        "window": {"start": cycle.first_day.isoformat(), "end": cycle.last_day.isoformat()},
        "scheme": gathered["scheme"],
        "excellent_projects": gathered["excellent"],
        "flagged_units": sum(1 for r in ranked if r["flags"]),
    }
    for _ in range(3):  # two runs started at once: the loser takes the next sequence number
        run_id = _next_run_id(cycle)
        items = [
            Record(
                runs_pk(cycle.id),
                run_id,
                kind="scoring_run",
                data={"run_id": run_id, **header},
                created_at=now,
                updated_at=now,
            )
        ]
        items += [
            Record(
                results_pk(run_id),
                r["province"],
                kind="scoring_result",
                data={"run_id": run_id, **r},
                created_at=now,
                updated_at=now,
            )
            for r in ranked
        ]
        try:
            with transaction() as tx:
                for item in items:
                    tx.save(item, condition=Record.pk.does_not_exist())
                tx.save(
                    audit.entry(
                        "scoring_run",
                        run_id,
                        "scored",
                        caller,
                        now,
                        {
                            "cycle": cycle.id,
                            "scheme_version": header["scheme_version"],
                            "provisional": provisional,
                            "trigger": trigger,
                        },
                    )
                )
            return summary({"run_id": run_id, **header}, None)
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
    raise Conflict("Other runs of this cycle were being stored at the same time; try again")


def year_end(now: datetime) -> list[dict[str, Any]]:
    """The scheduled run: score every cycle whose window closed in this China-time year."""
    year = china(now).year
    return [run(c.id, None, now, trigger="schedule") for c in cycles_closing_in(year) if c.is_closed(now)]


def _published(cycle_id: str) -> dict[str, Any] | None:
    try:
        return Record.get(*announcements.published_key(cycle_id)).data
    except Record.DoesNotExist:
        return None


def _header(cycle_id: str, run_id: str) -> dict[str, Any]:
    try:
        return Record.get(runs_pk(cycle_id), run_id).data
    except Record.DoesNotExist:
        raise NotFound(f"No scoring run {run_id} of cycle {cycle_id}") from None


def stored(cycle_id: str, run_id: str) -> dict[str, Any]:
    """A stored run of the cycle, header and its results best first (404 unknown); callers authorize."""
    cycle_or_404(cycle_id)
    return {"header": _header(cycle_id, run_id), "results": ranked_results(run_id)}


def summary(header: Mapping[str, Any], published: Mapping[str, Any] | None) -> dict[str, Any]:
    """What run lists and the POST answer show: the header without the scheme copy."""
    out = {k: v for k, v in header.items() if k not in ("scheme", "excellent_projects")}
    out["published"] = bool(published and published["run_id"] == header["run_id"])
    out["links"] = {"scores": f"/cycles/{header['cycle']}/scores?run_id={header['run_id']}"}
    return out


def publish(
    caller: Caller | None, cycle_id: str, run_id: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """Publish a final run with its notice and excellent-project list; a later run with a reason
    supersedes the published one (see announcements.py)."""
    require(caller)
    cycle_or_404(cycle_id)
    header = _header(cycle_id, run_id)
    ranking = ranked_results(run_id)
    record, _ = announcements.publish(caller, cycle_id, header, ranking, reason, now)
    return {**summary(header, record), "announcement": f"/cycles/{cycle_id}/announcement"}


def list_runs(caller: Caller | None, cycle_id: str, limit: int, cursor: str | None, secret: str) -> dict:
    """The cycle's runs, newest first (national admins)."""
    require(caller)
    cycle_or_404(cycle_id)
    published = _published(cycle_id)
    scope = scope_of("scoring-runs", cycle=cycle_id)
    start = decode_cursor(cursor, scope, secret)
    results = Record.query(
        runs_pk(cycle_id), scan_index_forward=False, last_evaluated_key=start, page_size=min(limit + 1, 200)
    )
    page = take_page(results, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret)
    return Page(page.items, page.next_cursor).to_dict(lambda r: summary(r.data, published))


def load(caller: Caller | None, cycle_id: str, run_id: str | None) -> dict[str, Any]:
    """The run the caller may see with all 32 results, best first.

    The public (and every role but national admins) sees the published run only; national
    admins see the latest run, or the one named by `run_id`."""
    cycle_or_404(cycle_id)
    published = _published(cycle_id)
    admin = caller is not None and caller.is_national_admin
    if run_id is not None and not run_id.strip():
        raise Invalid("run_id must not be empty", errors=[{"field": "run_id", "message": "empty"}])
    if not admin:
        if published is None or (run_id is not None and run_id != published["run_id"]):
            raise NotFound(f"Cycle {cycle_id} has no published scores yet")
        run_id = published["run_id"]
    elif run_id is None:
        latest = next(iter(Record.query(runs_pk(cycle_id), scan_index_forward=False, limit=1)), None)
        if latest is None:
            raise NotFound(f"Cycle {cycle_id} has not been scored yet")
        run_id = latest.sk
    header = _header(cycle_id, run_id)
    results = ranked_results(run_id)
    return {"header": header, "published": published, "results": results, "admin": admin}


def render(loaded: Mapping[str, Any]) -> dict[str, Any]:
    """GET /cycles/{cycle}/scores: the contract's shape, plus areas, adjustments and (admins) inputs."""
    header, admin = loaded["header"], loaded["admin"]
    published = bool(loaded["published"] and loaded["published"]["run_id"] == header["run_id"])
    provinces = []
    for r in loaded["results"]:
        row = {
            "province": r["province"],
            "name": r["name"],
            "rank": r["rank"],
            "total": r["total"],
            "areas": r["areas"],
            "indicators": r["indicators"],
            "bonus": r["bonus"],
            "excellent_projects": r["excellent_projects"],
            "adjustments": r["adjustments"],
            "total_adjustment": r["total_adjustment"],
            "flags": r["flags"],
        }
        if admin:
            row["inputs"] = r["inputs"]
        provinces.append(row)
    return {
        "run_id": header["run_id"],
        "cycle": header["cycle"],
        "scheme_version": header["scheme_version"],
        "published": published,
        "provisional": header["provisional"],
        "created_at": header["created_at"],
        "published_at": loaded["published"]["published_at"] if published else None,
        "provinces": provinces,
    }


def indicator_names(header: Mapping[str, Any]) -> list[tuple[str, str, str, float]]:
    """(area id, indicator id, name, weight) of the scheme the run used, in order."""
    return [(a, i["id"], i["name"], i["weight"]) for a, i in scheme_mod.indicators(header["scheme"])]


def area_names(header: Mapping[str, Any]) -> dict[str, str]:
    return {a["id"]: a["name"] for a in header["scheme"]["areas"]}
