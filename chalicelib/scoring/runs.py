"""Scoring runs of every population: read the running counters, score the units, keep the run immutably.

One code path for the provinces, the service bases and the support institutions; what differs (the
units, the scheme, where the inputs come from, what the answer shows) is the `Population`
(population_sources.py). A run reads a number of items that does not grow with the interaction
events: the units' cycle counters (one BatchGet per 100 units), their month and per-account counters
(anomaly flags), the own counters of the few accounts that could be puppets (flags.swarm_candidates),
the annual forms and their proofs, excellent projects, adjustments and the scheme. The math is
scoring_math.py: same facts, same numbers.

A run stores the scheme it used, every input value, every indicator score, bonus, adjustments, total
and rank of every unit. Its header is stored first, incomplete, claiming the run id (two runs started
at once: the loser takes the next one); the results follow in transactions of RESULTS_PER_TRANSACTION;
the header is then marked complete together with the audit entry. Nothing reads or publishes an
incomplete run (409), and a run is never changed afterwards.

Keys (records table): run header pk `RUNS#{scope}` sk `<run id>`; results pk `RUN#{run id}` sk
`<unit code>`; the current publication pk `PUBLISHED` sk `<scope>` (announcements.py keeps every
publication and its notice). The scope is the cycle for the provinces, "<population>#<cycle>" else.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import Cycle, cycle_or_404
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.paging import Page, decode_cursor, scope_of, take_page
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.scoring import adjustments as adjustments_mod
from chalicelib.scoring import announcements, derived_inputs, flags, scoring_math
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.scoring.derived_inputs import NO_FORM
from chalicelib.scoring.population_sources import PROVINCES_ID, Population, population_or_404
from chalicelib.usage import counting_rules, running_counters

RUNS = "RUNS#"
# DynamoDB takes 100 items per transaction: the results go in chunks of this many, so a registry has
# no fixed cap.
RESULTS_PER_TRANSACTION = 90


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


def spike_months(cycle: Cycle) -> list[str]:
    """ "YYYY-MM" of the cycle's months and the 12 before them: all the spike check can look at."""
    year, month = cycle.first_day.year - 1, cycle.first_day.month
    out = []
    while (year, month) <= (cycle.last_day.year, cycle.last_day.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _months(population: Population, codes: list[str], cycle: Cycle) -> dict[str, dict[str, dict[str, int]]]:
    """unit → month → usage counters, read by exact key (BatchGet: 32 × 24 keys for the provinces'
    one-year cycle). A Query per unit would read the same items but cost a request per unit."""
    found = running_counters.read_many(
        {(code, m): population.month_key(code, m) for code in codes for m in spike_months(cycle)}
    )
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (code, month), numbers in found.items():
        out.setdefault(code, {})[month] = numbers
    return out


def _units_of(accounts_of: Mapping[str, Mapping[str, Mapping[str, int]]], rules: Mapping[str, Any]) -> dict:
    """account → counted activity per "<cycle>#<unit>", for the swarm candidates only (BatchGet by exact
    key: one request per 100 candidates, none when there are none). An account acting on two units is
    no puppet of either: only single-unit candidates are read."""
    seen_on = Tally(account for accounts in accounts_of.values() for account in accounts)
    users = {
        account
        for accounts in accounts_of.values()
        for account in flags.swarm_candidates(accounts, rules)
        if seen_on[account] == 1
    }
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


def gather(population: Population, cycle: Cycle, provisional: bool) -> dict[str, Any]:
    """Everything a run reads, per unit: counters, derived inputs, flags and their evidence; and the
    scheme, the unit names, the excellent projects and the adjustments."""
    registry = population.units()
    if not registry:
        raise Conflict(Message("%(population)s has no registered units to score", population=population.id))
    codes = sorted(registry)
    scheme = population.current_scheme()
    rules = scheme_mod.flag_rules(scheme)
    found = running_counters.read_many({code: population.counter_key(code, cycle.id) for code in codes})
    forms = population.forms(cycle, provisional)
    months = _months(population, codes, cycle)
    accounts_of = {code: population.accounts(code, cycle.id) for code in codes}
    units_of = _units_of(accounts_of, rules)
    units = {}
    for code in codes:
        numbers = {k: int(v) for k, v in sorted(found.get(code, {}).items())}
        facts = forms.get(code, NO_FORM)
        derived, not_counted = derived_inputs.derive(numbers, facts)
        unit_months, accounts = months.get(code, {}), accounts_of[code]
        units[code] = {
            "counters": numbers,
            "derived": derived,
            # the reasons' parameters: the explanation renders them in its reader's language
            "not_counted": {name: reason.params for name, reason in not_counted.items()},
            "form_year": facts.year,
            "flags": flags.usage_spikes(unit_months, cycle.first_day, cycle.last_day, rules)
            + flags.concentrated_bursts(accounts, rules)
            + flags.puppet_swarms(accounts, units_of, population.account_name(code), cycle, rules)
            + flags.cutoff_bulk(numbers, rules)
            + flags.form_checks(facts.form, numbers),
            "evidence": _evidence(unit_months, accounts, cycle, rules),
        }
    return {
        "scheme": scheme,
        "names": {code: unit["name"] for code, unit in registry.items()},
        "units": units,
        "excellent": population.excellent(cycle.id, registry),
        "adjustments": adjustments_mod.of_cycle(population.scope(cycle.id)),
    }


# ---- runs ----------------------------------------------------------------------------


def _scored(population: Population, cycle: Cycle, provisional: bool) -> tuple[dict[str, Any], list[dict]]:
    """(what the run read, its results best first, each with the inputs behind it)."""
    gathered = gather(population, cycle, provisional)
    ranked = scoring_math.compute(
        gathered["scheme"],
        gathered["units"],
        gathered["excellent"],
        gathered["adjustments"],
        gathered["names"],
        population.key,
    )
    for r in ranked:
        unit = gathered["units"][r[population.key]]
        r["inputs"] = {
            "counters": unit["counters"],
            "derived": unit["derived"],
            "not_counted": unit["not_counted"],
            "form_year": unit["form_year"],
            "flag_evidence": unit["evidence"],
        }
    return gathered, ranked


def _claim_run_id(scope: str, header: dict[str, Any], now: datetime) -> Record:
    """Store the run's header, incomplete, under the next run id of the scope (two runs started at
    once: the loser takes the next sequence number)."""
    for _ in range(3):
        latest = next(iter(Record.query(runs_pk(scope), scan_index_forward=False, limit=1)), None)
        seq = announcements.run_sequence(latest.sk) + 1 if latest else 1
        run_id = f"run-{scope.replace('#', '-')}-{seq:04d}"
        record = Record(
            runs_pk(scope),
            run_id,
            kind="scoring_run",
            data={"run_id": run_id, **header, "complete": False},
            created_at=now,
            updated_at=now,
        )
        try:
            with transaction() as tx:
                tx.save(record, condition=Record.pk.does_not_exist())
            return record
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
    raise Conflict(Message("Other runs of this cycle were being stored at the same time; try again"))


def _store(
    header: Record, ranked: list[dict[str, Any]], key: str, caller: Caller | None, now: datetime
) -> None:
    """The results in chunks, then the header marked complete with the audit entry."""
    run_id = header.sk
    for start in range(0, len(ranked), RESULTS_PER_TRANSACTION):
        with transaction() as tx:
            for r in ranked[start : start + RESULTS_PER_TRANSACTION]:
                tx.save(
                    Record(
                        results_pk(run_id),
                        r[key],
                        kind="scoring_result",
                        data={"run_id": run_id, **r},
                        created_at=now,
                        updated_at=now,
                    ),
                    condition=Record.pk.does_not_exist(),
                )
    data = header.data
    header.data, header.updated_at = {**data, "complete": True}, now
    audited = ("population", "cycle", "scheme_version", "provisional", "trigger")
    with transaction() as tx:
        tx.save(header)  # versioned: nobody else touched the header it claimed
        tx.save(
            audit.entry(
                "scoring_run",
                run_id,
                "scored",
                caller,
                now,
                {**{k: data[k] for k in audited if k in data}, "units": len(ranked)},
            )
        )


def run(
    cycle_id: str, caller: Caller | None, now: datetime, trigger: str = "api", population: str = PROVINCES_ID
) -> dict[str, Any]:
    """Score the population's units for the cycle from the current counters and keep the run; its header."""
    found = population_or_404(population)
    cycle = cycle_or_404(cycle_id)
    if now < cycle.starts_at:
        raise Conflict(
            Message(
                "Cycle %(cycle)s has not started; it opens at %(opens)s",
                cycle=cycle.id,
                opens=iso(cycle.starts_at),
            )
        )
    provisional = not cycle.is_closed(now)
    gathered, ranked = _scored(found, cycle, provisional)
    header = {
        **found.tag(),
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
    record = _claim_run_id(found.scope(cycle.id), header, now)
    _store(record, ranked, found.key, caller, now)
    return summary(record.data, None)


# ---- reading -------------------------------------------------------------------------


def _published(population: Population, cycle_id: str) -> dict[str, Any] | None:
    pointer = announcements.current(population.scope(cycle_id))
    return pointer.data if pointer else None


def header_of(population: Population, cycle_id: str, run_id: str) -> dict[str, Any]:
    """A complete run's header (404 unknown, 409 still being stored)."""
    try:
        if len(run_id) > 128:
            raise Record.DoesNotExist()
        header = Record.get(runs_pk(population.scope(cycle_id)), run_id).data
    except Record.DoesNotExist:
        raise NotFound(
            Message(
                "No scoring run %(run_id)s of %(population)s in cycle %(cycle_id)s",
                run_id=run_id,
                population=population.id,
                cycle_id=cycle_id,
            )
        ) from None
    if not header.get("complete", True):  # runs stored before the flag existed were written whole
        raise Conflict(
            Message(
                "Run %(run_id)s is still being stored (or was interrupted); read it again or run again",
                run_id=run_id,
            )
        )
    return header


def stored(cycle_id: str, run_id: str, population: str = PROVINCES_ID) -> dict[str, Any]:
    """A stored run, header and its results best first (404 unknown); callers authorize."""
    found = population_or_404(population)
    cycle_or_404(cycle_id)
    return {"header": header_of(found, cycle_id, run_id), "results": ranked_results(run_id)}


def summary(header: Mapping[str, Any], published: Mapping[str, Any] | None) -> dict[str, Any]:
    """What run lists and the POST answer show: the header without the scheme copy."""
    out = {k: v for k, v in header.items() if k not in ("scheme", "excellent_projects")}
    out["published"] = bool(published and published["run_id"] == header["run_id"])
    base = population_or_404(header.get("population", PROVINCES_ID)).base_path(header["cycle"])
    out["links"] = {"scores": f"{base}/scores?run_id={header['run_id']}"}
    return out


def publish(
    caller: Caller | None,
    cycle_id: str,
    run_id: str,
    reason: str | None,
    now: datetime,
    population: str = PROVINCES_ID,
) -> dict[str, Any]:
    """Publish a final run with its notice and excellent-project list; a later run with a reason
    supersedes the published one (see announcements.py)."""
    require(caller)
    found = population_or_404(population)
    cycle_or_404(cycle_id)
    header = header_of(found, cycle_id, run_id)
    ranking = ranked_results(run_id)
    record, _ = announcements.publish(caller, cycle_id, header, ranking, reason, now, subject=found.subject)
    return {**summary(header, record), "announcement": f"{found.base_path(cycle_id)}/{found.announcement}"}


def list_runs(
    caller: Caller | None,
    cycle_id: str,
    limit: int,
    cursor: str | None,
    secret: str,
    population: str = PROVINCES_ID,
) -> dict:
    """The cycle's runs of the population, newest first (national admins)."""
    require(caller)
    found = population_or_404(population)
    cycle_or_404(cycle_id)
    published = _published(found, cycle_id)
    scope = scope_of("scoring-runs", cycle=cycle_id, **found.tag())
    start = decode_cursor(cursor, scope, secret)
    results = Record.query(
        runs_pk(found.scope(cycle_id)),
        scan_index_forward=False,
        last_evaluated_key=start,
        page_size=min(limit + 1, 200),
    )
    page = take_page(results, limit, lambda r: {"pk": {"S": r.pk}, "sk": {"S": r.sk}}, scope, secret)
    return Page(page.items, page.next_cursor).to_dict(lambda r: summary(r.data, published))


def _latest(population: Population, cycle_id: str) -> str:
    """The newest complete run of the population's cycle (404 before the first)."""
    for record in Record.query(runs_pk(population.scope(cycle_id)), scan_index_forward=False):
        if record.data.get("complete", True):
            return record.sk
    raise NotFound(
        Message(
            "%(population)s has not been scored for cycle %(cycle_id)s yet",
            population=population.id,
            cycle_id=cycle_id,
        )
    )


def load(caller: Caller | None, cycle_id: str, run_id: str | None, population: str = PROVINCES_ID) -> dict:
    """The run the caller may see with all its results, best first.

    The public (and every role but national admins) sees the published run only; national
    admins see the latest run, or the one named by `run_id`."""
    found = population_or_404(population)
    cycle_or_404(cycle_id)
    published = _published(found, cycle_id)
    admin = caller is not None and caller.is_national_admin
    if run_id is not None and not run_id.strip():
        raise Invalid(
            Message("run_id must not be empty"), errors=[{"field": "run_id", "message": Message("empty")}]
        )
    if not admin:
        if published is None or (run_id is not None and run_id != published["run_id"]):
            raise NotFound(
                Message(
                    "%(population)s has no published scores for cycle %(cycle_id)s yet",
                    population=found.id,
                    cycle_id=cycle_id,
                )
            )
        run_id = published["run_id"]
    elif run_id is None:
        run_id = _latest(found, cycle_id)
    header = header_of(found, cycle_id, run_id)
    results = ranked_results(run_id)
    return {
        "population": found.id,
        "header": header,
        "published": published,
        "results": results,
        "admin": admin,
    }


def render(loaded: Mapping[str, Any]) -> dict[str, Any]:
    """GET .../scores: what the population's answer shows of the run (admins also see each unit's inputs)."""
    answer = population_or_404(loaded["population"]).answer
    header, admin = loaded["header"], loaded["admin"]
    published = bool(loaded["published"] and loaded["published"]["run_id"] == header["run_id"])
    facts = {
        **header,
        "population": loaded["population"],
        "scheme_name": header["scheme"]["name"],
        "published": published,
        "published_at": loaded["published"]["published_at"] if published else None,
    }
    shown = answer.row + (("inputs",) if admin else ())
    return {
        **{name: facts[name] for name in answer.header},
        answer.rows: [{k: r[k] for k in shown} for r in loaded["results"]],
    }


def exportable(loaded: Mapping[str, Any]) -> dict[str, Any]:
    """A loaded run as the exports read it: each row names its unit in the `province` column."""
    key = population_or_404(loaded["population"]).key
    return {**loaded, "results": [{**r, "province": r[key]} for r in loaded["results"]]}


def indicator_names(header: Mapping[str, Any]) -> list[tuple[str, str, str, float]]:
    """(area id, indicator id, name, weight) of the scheme the run used, in order."""
    return [(a, i["id"], i["name"], i["weight"]) for a, i in scheme_mod.indicators(header["scheme"])]


def area_names(header: Mapping[str, Any]) -> dict[str, str]:
    return {a["id"]: a["name"] for a in header["scheme"]["areas"]}
