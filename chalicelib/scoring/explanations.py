"""Every number explains itself: one unit's total in one run, down to the counters behind it.

A unit of any population. Everything comes from the stored run (header and its results), never
from the live counters: a run's numbers are final, and its explanation must not drift after it. The
normalisation references (the cap and the best unit's value) are recomputed from the stored
indicator values with the same function the run used (scoring_math.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.auth import Caller, require
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.errors import NotFound
from chalicelib.core.messages import Message, text
from chalicelib.scoring import derived_inputs, flag_resolutions, objections, runs, scoring_math
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.scoring.population_sources import PROVINCES_ID, population_or_404

HOW = {
    "log_best": "score = log(1 + min(value, cap)) / log(1 + best); points = weight × score",
    "ratio": "score = min(max(value, 0), 1); points = weight × score",
    "mean": "value = (Σ inputs + prior × prior_weight) / (count + prior_weight); score = (value - 1) / 4; "
    "points = weight × score (no evaluation: no points)",
    "flag": "score = 1 if value > 0 else 0; points = weight × score",
}
MEASURE = {
    "sum": "value = Σ factor × input",
    "ratio": "value = Σ factor × input / denominator (denominator 0: if_denominator_zero; unknown: 0)",
    "mean": "Σ factor × input is the score sum; count is the number of evaluations",
}

_NUMBER = {"type": ["number", "null"]}
_OBJECT = {"type": "object"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "run_id",
        "cycle",
        "rank",
        "total",
        "total_is",
        "indicators",
        "bonus",
        "adjustments",
        "flags",
        "counters",
    ],
    "properties": {
        "run_id": {"type": "string"},
        "cycle": {"type": "string"},
        "scheme_version": {"type": "integer"},
        "provisional": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "province": {"type": "string", "description": "the provincial unit (a population's unit: `unit`)"},
        "unit": {"type": "string"},
        "name": {"type": "string"},
        "rank": {"type": "integer"},
        "total": {"type": "number"},
        "total_is": {
            "type": "object",
            "description": "the total's parts: indicators + bonus + total_adjustment",
            "properties": {
                "indicators": {"type": "number"},
                "bonus": {"type": "number"},
                "total_adjustment": {"type": "number"},
                "formula": {"type": "string"},
            },
        },
        "indicators": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "area": {"type": "string"},
                    "weight": {"type": "number"},
                    "measure": {"type": "string"},
                    "normalise": {"type": "string"},
                    "how": {"type": "string", "description": "how value, score and points are made"},
                    "value": _NUMBER,
                    "capped_at": _NUMBER,
                    "score": _NUMBER,
                    "points": _NUMBER,
                    "adjustment": _NUMBER,
                    "final": _NUMBER,
                    "reference": {
                        **_OBJECT,
                        "description": "log_best: cap and best unit's value; mean: the prior",
                    },
                    "inputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "role": {"enum": ["input", "denominator", "count"]},
                                "factor": {"type": "number"},
                                "value": _NUMBER,
                                "source": {
                                    **_OBJECT,
                                    "description": "{counter, key}: a province×cycle counter; "
                                    "{derived, counters}: the formula and its counters",
                                },
                                "not_counted": {
                                    "type": "string",
                                    "description": "why an annual-form figure counted as 0 "
                                    "(e.g. funding stated without its proof file)",
                                },
                            },
                        },
                    },
                },
            },
        },
        "bonus": {
            "type": "object",
            "properties": {
                "points": {"type": "number"},
                "rule": _OBJECT,
                "excellent_projects": {"type": "array", "items": _OBJECT},
            },
        },
        "adjustments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "points": {"type": "number"},
                    "indicator": {"type": "string"},
                    "applied_to": {"type": "string"},
                    "reason": {"type": "string"},
                    "by": {"type": "string"},
                    "at": {"type": "string"},
                },
            },
        },
        "flags": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "detail"],
                "properties": {
                    "kind": {"type": "string"},
                    "detail": {"type": "string"},
                    "evidence": {
                        **_OBJECT,
                        "description": "puppet flags: accounts, account_count, window, share",
                    },
                    "resolution": {
                        "type": ["object", "null"],
                        "description": "how a national admin closed it: "
                        "resolution (confirmed, adjusted, dismissed), note, adjustment, by, at; null while open",
                    },
                },
            },
        },
        "flag_evidence": {
            **_OBJECT,
            "description": "the month and account counters the flag checks looked at",
        },
        "counters": {"type": "object", "properties": {"key": _OBJECT, "values": _OBJECT}},
        "annual_form_year": {"type": ["integer", "null"]},
    },
}


def explain(
    caller: Caller | None, cycle_id: str, run_id: str, code: str, population: str = PROVINCES_ID
) -> dict[str, Any]:
    """One unit's result in one run: indicators → inputs → counters, flags with evidence and
    resolutions, adjustments with their authors, bonus (national admins; a province admin its own
    province's, of a run published provisionally)."""
    caller = require(caller)
    found = population_or_404(population)
    cycle_or_404(cycle_id)
    if code not in found.units():
        raise NotFound(Message("No unit %(code)s in %(population)s", code=code, population=found.id))
    scope = found.scope(cycle_id)
    objections.may_read(caller, scope, run_id, code)
    loaded = runs.stored(cycle_id, run_id, found.id)
    return unit_explanation(
        loaded["header"], loaded["results"], code, found.key, found.counter_key(code, cycle_id), scope
    )


def unit_explanation(
    header: Mapping[str, Any],
    rows: list[Mapping[str, Any]],
    code: str,
    key: str,
    counter_key: tuple[str, str],
    scope: str,
) -> dict[str, Any]:
    """One unit of a stored run explained (any population: `key` names the rows' unit field, `scope`
    where its flag resolutions are kept)."""
    results = {r[key]: r for r in rows}
    if code not in results:
        raise NotFound(Message("No unit %(code)s in run %(run_id)s", code=code, run_id=header["run_id"]))
    result = results[code]
    counters = result["inputs"]["counters"]
    counter_key = dict(zip(("pk", "sk"), counter_key))
    indicators = _indicators(header["scheme"], results, result, counter_key)
    subtotal = round(sum(i["final"] for i in indicators), 4)
    return {
        "run_id": header["run_id"],
        "cycle": header["cycle"],
        "scheme_version": header["scheme_version"],
        "provisional": header["provisional"],
        "created_at": header["created_at"],
        key: code,
        "name": result["name"],
        "rank": result["rank"],
        "total": result["total"],
        "total_is": {
            "indicators": subtotal,
            "bonus": result["bonus"],
            "total_adjustment": result["total_adjustment"],
            "formula": "Σ indicator final (points + adjustment) + bonus + total_adjustment",
        },
        "indicators": indicators,
        "bonus": {
            "points": result["bonus"],
            "rule": header["scheme"]["bonus"],
            "excellent_projects": [
                p for p in header.get("excellent_projects", []) if p.get("province") == code
            ],
        },
        "adjustments": result["adjustments"],
        "flags": flag_resolutions.with_resolutions(scope, code, result["flags"]),
        "flag_evidence": result["inputs"].get("flag_evidence"),
        "counters": {"key": counter_key, "values": counters},
        "annual_form_year": result["inputs"].get("form_year"),
    }


def _indicators(
    scheme: Mapping[str, Any],
    results: Mapping[str, Mapping[str, Any]],
    result: Mapping[str, Any],
    counter_key: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Each indicator of the unit's result: how it is made, its numbers, its reference and its inputs."""
    indicators = []
    for area_id, ind in scheme_mod.indicators(scheme):
        scored = result["indicators"][ind["id"]]
        values = {code: r["indicators"][ind["id"]]["value"] for code, r in results.items()}
        indicators.append(
            {
                "id": ind["id"],
                "name": ind["name"],
                "area": area_id,
                "weight": ind["weight"],
                "measure": ind.get("measure", "sum"),
                "normalise": ind["normalise"],
                "how": f"{MEASURE[ind.get('measure', 'sum')]}; {HOW[ind['normalise']]}",
                **{k: scored[k] for k in ("value", "capped_at", "score", "points", "adjustment", "final")},
                "reference": _reference(ind, values),
                "inputs": _inputs(ind, result["inputs"], counter_key),
            }
        )
    return indicators


def _reference(ind: Mapping[str, Any], values: Mapping[str, float | None]) -> dict[str, Any]:
    """What the unit's value was measured against (log_best: the cap and the best unit)."""
    if ind["normalise"] == "log_best":
        cap, best = scoring_math.log_reference(ind, values)
        return {"cap": cap, "cap_median_multiple": ind.get("cap_median_multiple"), "best": best}
    if ind["normalise"] == "mean":
        return {"prior": ind["prior"], "prior_weight": ind["prior_weight"]}
    if ind.get("measure") == "ratio":
        return {"if_denominator_zero": ind["if_denominator_zero"]}
    return {}


def _inputs(
    ind: Mapping[str, Any], inputs: Mapping[str, Any], counter_key: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each input the indicator read (its factors, denominator, count) and where it came from; a derived
    input whose annual-form figure was not counted says why."""
    counters, derived = inputs["counters"], inputs["derived"]
    not_counted = inputs.get("not_counted") or {}
    roles = [(name, "input", factor) for name, factor in ind["inputs"].items()]
    roles += [(ind[r], r, None) for r in ("denominator", "count") if ind.get(r)]
    out = []
    for name, role, factor in roles:
        entry: dict[str, Any] = {"name": name, "role": role}
        if factor is not None:
            entry["factor"] = factor
        made = derived_inputs.BY_NAME.get(name)
        if made is None:
            entry.update(value=counters.get(name, 0), source={"counter": name, "key": counter_key})
            out.append(entry)
            continue
        entry.update(
            value=derived.get(name),
            source={
                "derived": made.derived,
                "counters": {"key": counter_key, "values": {s: counters.get(s, 0) for s in made.counters}}
                if made.counters
                else None,
            },
        )
        if name in not_counted:
            reason = not_counted[name]  # runs stored before the reasons were translated kept their English
            entry["not_counted"] = (
                text(derived_inputs.not_counted_reason(**reason)) if isinstance(reason, dict) else reason
            )
        out.append(entry)
    return out
