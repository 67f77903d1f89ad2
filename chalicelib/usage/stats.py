"""What /filings/{id}/stats and /provinces/{code}/activity answer, shaped from counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.auth import Caller
from chalicelib.core.cycles import Cycle, cycle_by_id, cycle_for
from chalicelib.core.errors import Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.paging import computed_page, scope_of
from chalicelib.core.reference import PROVINCES
from chalicelib.core.vocabulary import SIDES
from chalicelib.documents import filings, publications
from chalicelib.usage import counting_rules, metrics, running_counters


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 4) if count else None


def _events(n: Callable[[str], int]) -> dict[str, Any]:
    """Each event metric's stats field: its total and unique counts."""
    return {m.field: {"total": n(m.total), "unique": n(m.unique)} for m in metrics.REGISTRY.events}


def shape(numbers: dict[str, int]) -> dict[str, Any]:
    """The contract's stats document from a bag of counters (every field named by the metrics registry)."""
    registry = metrics.REGISTRY
    n = lambda name: numbers.get(name, 0)  # noqa: E731
    return {
        **_events(n),
        **{name: n(name) for name in registry.held},
        registry.application_updates: n(registry.application_updates),
        registry.evaluations: {
            "count": n(registry.evaluations),
            "mean": _mean(n(registry.evaluation_score_sum), n(registry.evaluations)),
            "by_side": {
                side: {
                    "count": n(registry.evaluations_of(side)),
                    "mean": _mean(
                        n(registry.evaluation_score_sum_of(side)), n(registry.evaluations_of(side))
                    ),
                }
                for side in SIDES
            },
        },
    }


def filing_stats(caller: Caller | None, filing_id: str) -> dict[str, Any]:
    """Stats of a filing visible to the caller."""
    filings.get(caller, filing_id)
    return {"filing": filing_id, **shape(running_counters.filing_stats(filing_id))}


def publication_stats(caller: Caller | None, publication_id: str) -> dict[str, Any]:
    """Stats of a publication visible to the caller, in the shape of filing stats."""
    publications.get(caller, publication_id)
    return {
        "publication": publication_id,
        **shape(running_counters.values(*counting_rules.publication_key(publication_id))),
    }


def _publication_usage(numbers: dict[str, int]) -> dict[str, Any]:
    """A province's counters of its publications' usage, in the shape of a record's events and held counts."""
    prefix = metrics.REGISTRY.publication_prefix
    n = lambda name: numbers.get(prefix + name, 0)  # noqa: E731
    return {**_events(n), **{name: n(name) for name in metrics.REGISTRY.held}}


def province_activity(province: str, cycle: Cycle) -> dict[str, Any]:
    """A province's running counters for one cycle, with its months inside the cycle."""
    numbers = running_counters.province_cycle(province, cycle.id)
    first, last = f"{cycle.first_day:%Y-%m}", f"{cycle.last_day:%Y-%m}"
    months = {
        m: {**shape(v), "publications": _publication_usage(v)}
        for m, v in sorted(running_counters.province_months(province).items())
        if first <= m <= last
    }
    return {
        "province": province,
        "cycle": cycle.id,
        **shape(numbers),
        "publications": _publication_usage(numbers),
        "approved": _approved(numbers),
        "months": months,
    }


def _approved(numbers: dict[str, int]) -> dict[str, int]:
    """The province×cycle counters of approved records (everything but usage)."""
    usage = {*metrics.REGISTRY.usage_counters, *metrics.REGISTRY.publication_usage_counters}
    return {k: v for k, v in sorted(numbers.items()) if k not in usage}


def national_activity(
    cycle_id: str | None, now, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """Every unit's counters for one cycle (default: the current one) from one batched read; the 32
    units are read whole and paged in code order (the default page holds them all)."""
    cycle = _asked_cycle(cycle_id, now)
    units = running_counters.province_cycle_all(cycle.id)
    rows = [
        {
            "province": code,
            "name": PROVINCES[code],
            **shape(numbers),
            "publications": _publication_usage(numbers),
            "approved": _approved(numbers),
        }
        for code, numbers in units.items()
    ]
    page = computed_page(
        rows, limit, cursor, scope_of("ACTIVITY", cycle=cycle.id), secret, lambda r: (r["province"],)
    )
    return {"cycle": cycle.id, **page.to_dict(lambda r: r)}


def province_activity_in(code: str, cycle_id: str | None, now) -> dict[str, Any]:
    """A province's counters for one cycle (default: the current one); 404 for an unknown province."""
    if code not in PROVINCES:
        raise NotFound(Message("No provincial unit %(code)s", code=code))
    return province_activity(code, _asked_cycle(cycle_id, now))


def _asked_cycle(cycle_id: str | None, now) -> Cycle:
    """The cycle a `cycle` query parameter names, or the current one; 422 for an id naming none."""
    cycle = cycle_by_id(cycle_id) if cycle_id is not None else cycle_for(now)
    if cycle is None:
        raise Invalid(
            Message("Unknown cycle"),
            errors=[{"field": "cycle", "message": Message("not a cycle id from /cycles")}],
        )
    return cycle
