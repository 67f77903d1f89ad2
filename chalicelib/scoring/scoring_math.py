"""The scoring math: one indicator's raw value, its normalisation across a population, and the
ranking with bonus and adjustments. Pure functions of the inputs a run gathered (runs.py), so the
same facts always give the same numbers; ties go to the lower unit code.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from chalicelib.scoring import bonus
from chalicelib.scoring import scheme as scheme_mod

TOTAL = "total"  # an adjustment of a unit's total rather than of one indicator


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


def _log_best(ind: Mapping[str, Any], values: Mapping[str, float | None]) -> dict[str, dict[str, Any]]:
    cap, best = log_reference(ind, values)
    out = {}
    for code, v in values.items():
        capped = min(v or 0.0, cap) if cap is not None else (v or 0.0)
        out[code] = {
            "value": v,
            "capped_at": cap if cap is not None and (v or 0) > cap else None,
            "score": math.log1p(max(capped, 0)) / math.log1p(best) if best > 0 else 0.0,
        }
    return out


def _score(kind: str, v: float | None) -> float:
    """The [0, 1] score of a ratio, mean or flag indicator's value."""
    if kind == "ratio":
        return min(max(v or 0.0, 0.0), 1.0)
    if kind == "mean":
        return 0.0 if v is None else min(max((v - 1) / 4, 0.0), 1.0)
    return 1.0 if (v or 0) > 0 else 0.0  # flag


def normalise(ind: Mapping[str, Any], values: Mapping[str, float | None]) -> dict[str, dict[str, Any]]:
    """code → {"value", "score" in [0, 1]} for one indicator across all units."""
    if ind["normalise"] == "log_best":
        return _log_best(ind, values)
    return {code: {"value": v, "score": _score(ind["normalise"], v)} for code, v in values.items()}


def _r(x: float | None, places: int = 4) -> float | None:
    return None if x is None else round(x, places)


def _adjust(
    results: dict[str, dict[str, Any]], adjustments: list[dict[str, Any]], known: set[str]
) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """List each adjustment with its unit; ((unit, indicator) → points, unit → points on the total).
    An adjustment of an indicator the scheme no longer has applies to the total."""
    on_indicator: dict[tuple[str, str], float] = {}
    on_total: dict[str, float] = {}
    for adj in adjustments:
        code = adj["province"]  # a population's unit code stands in `province` (adjustments.store)
        if code not in results:
            continue
        target = adj["indicator"] if adj["indicator"] in known else TOTAL
        results[code]["adjustments"].append({**adj, "applied_to": target})
        if target == TOTAL:
            on_total[code] = on_total.get(code, 0.0) + adj["points"]
        else:
            on_indicator[(code, target)] = on_indicator.get((code, target), 0.0) + adj["points"]
    return on_indicator, on_total


def _score_indicators(
    scheme: Mapping[str, Any],
    inputs: Mapping[str, Mapping[str, Any]],
    results: dict[str, dict[str, Any]],
    on_indicator: Mapping[tuple[str, str], float],
) -> None:
    """Every indicator's value, score, points and adjustment per unit, summed into its area."""
    for area_id, ind in scheme_mod.indicators(scheme):
        scored = normalise(ind, {code: indicator_value(ind, inputs[code]) for code in results})
        for code, result in results.items():
            s = scored[code]
            points = ind["weight"] * s["score"]
            adjust = on_indicator.get((code, ind["id"]), 0.0)
            result["indicators"][ind["id"]] = {
                "area": area_id,
                "value": _r(s["value"], 6),
                "capped_at": _r(s.get("capped_at"), 6),
                "score": _r(s["score"], 6),
                "points": _r(points),
                "adjustment": _r(adjust),
                "final": _r(points + adjust),
            }
            result["areas"][area_id] = result["areas"].get(area_id, 0.0) + points + adjust


def compute(
    scheme: Mapping[str, Any],
    units: Mapping[str, Mapping[str, Any]],
    excellent: list[dict[str, Any]],
    adjustments: list[dict[str, Any]],
    names: Mapping[str, str] | None = None,
    key: str = "province",
) -> list[dict[str, Any]]:
    """Score every unit of a population; returns the units best first with rank, total, areas,
    indicators. `names` names the units (else their codes do) and `key` is the field a row names its
    unit in."""
    inputs = {code: {**u["counters"], **u["derived"]} for code, u in units.items()}
    bonuses = bonus.bonus_points(excellent, scheme["bonus"])
    results: dict[str, dict[str, Any]] = {
        code: {
            key: code,
            "name": (names or {}).get(code, code),
            "indicators": {},
            "areas": {},
            "adjustments": [],
            "flags": list(units[code]["flags"]),
            "excellent_projects": bonuses.get(code, {}).get("count", 0),
            "bonus": bonuses.get(code, {}).get("points", 0.0),
        }
        for code in sorted(units)
    }
    known = {ind["id"] for _, ind in scheme_mod.indicators(scheme)}
    on_indicator, on_total = _adjust(results, adjustments, known)
    _score_indicators(scheme, inputs, results, on_indicator)
    for code, r in results.items():
        r["areas"] = {a: _r(p) for a, p in r["areas"].items()}
        r["total_adjustment"] = _r(on_total.get(code, 0.0))
        subtotal = sum(i["points"] + i["adjustment"] for i in r["indicators"].values())
        r["total"] = _r(subtotal + r["bonus"] + r["total_adjustment"])
    ranked = sorted(results.values(), key=lambda r: (-r["total"], r[key]))
    for rank, r in enumerate(ranked, 1):
        r["rank"] = rank
    return ranked
