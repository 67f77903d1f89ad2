"""Pure scoring rules: normalisation, caps, ranking, flags, bonus and the scheme's validation."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from pydantic import ValidationError

from chalicelib.core.cycles import cycle_by_id
from chalicelib.core.messages import CHINESE, ENGLISH
from chalicelib.core.reference import PROVINCES
from chalicelib.scoring import bonus, derived_inputs, flags, scheme
from chalicelib.scoring.derived_inputs import FormFacts
from chalicelib.scoring.scoring_math import compute, indicator_value, log_reference, normalise
from tests.support.scoring import RULES

LOG = {"id": "x", "normalise": "log_best", "cap_median_multiple": 3.0, "measure": "sum", "inputs": {"a": 1}}


def units(numbers_by_code: dict[str, dict[str, int]] | None = None, forms: dict | None = None) -> dict:
    """Every province's inputs; `forms` maps a code to its annual form's FormFacts."""
    numbers_by_code = numbers_by_code or {}
    return {
        code: {
            "counters": numbers_by_code.get(code, {}),
            "derived": derived_inputs.derive(
                numbers_by_code.get(code, {}), (forms or {}).get(code, derived_inputs.NO_FORM)
            )[0],
            "flags": [],
        }
        for code in PROVINCES
    }


def test_log_best_gives_the_best_unit_full_score_and_damps_the_rest():
    scored = normalise(LOG, {"a": 100.0, "b": 10.0, "c": 0.0})
    assert scored["a"]["score"] == pytest.approx(1.0)
    assert 0.5 < scored["b"]["score"] < 1.0  # log damping: a tenth of the best is well over a tenth
    assert scored["c"]["score"] == 0.0


def test_one_inflated_number_is_capped_at_a_multiple_of_the_median_and_cannot_crush_the_others():
    honest = {f"u{i}": 10.0 for i in range(31)}
    before = normalise(LOG, {**honest, "cheat": 12.0})
    after = normalise(LOG, {**honest, "cheat": 1_000_000.0})
    assert after["cheat"]["capped_at"] == pytest.approx(30.0)
    assert after["cheat"]["score"] == pytest.approx(1.0)
    # the honest units lose only what a 3× median cap allows, not what a million views would cost
    assert after["u0"]["score"] == pytest.approx(normalise(LOG, {**honest, "cheat": 30.0})["u0"]["score"])
    assert after["u0"]["score"] > 0.69 and before["u0"]["score"] > after["u0"]["score"]


def test_ratio_is_capped_at_one_and_a_missing_denominator_gives_zero():
    ind = {
        "measure": "ratio",
        "inputs": {"filings_approved_fiscal": 1},
        "denominator": "form_fiscal_projects",
        "if_denominator_zero": 1.0,
    }
    assert indicator_value(ind, {"filings_approved_fiscal": 15, "form_fiscal_projects": 10}) == 1.5
    assert normalise({"normalise": "ratio"}, {"a": 1.5})["a"]["score"] == 1.0
    assert indicator_value(ind, {"filings_approved_fiscal": 3, "form_fiscal_projects": None}) == 0.0
    assert indicator_value(ind, {"filings_approved_fiscal": 0, "form_fiscal_projects": 0}) == 1.0


def test_evaluation_mean_is_shrunk_towards_neutral_so_a_few_fives_do_not_beat_many_fours():
    ind = {
        "measure": "mean",
        "inputs": {"evaluation_score_sum": 1},
        "count": "evaluations",
        "prior": 3.0,
        "prior_weight": 10.0,
        "normalise": "mean",
    }
    few_fives = indicator_value(ind, {"evaluation_score_sum": 10, "evaluations": 2})
    many_fours = indicator_value(ind, {"evaluation_score_sum": 400, "evaluations": 100})
    assert many_fours > few_fives
    assert indicator_value(ind, {"evaluations": 0}) is None
    assert normalise(ind, {"a": None})["a"]["score"] == 0.0


def test_totals_add_up_to_at_most_100_plus_bonus_and_everyone_gets_a_rank():
    ranked = compute(
        scheme.default_scheme(), units({"320000": {"reports_approved_industry_planning": 5}}), [], []
    )
    assert [r["rank"] for r in ranked] == list(range(1, 33))
    assert all(0 <= r["total"] <= 100 for r in ranked)
    assert ranked[0]["province"] == "320000"


def test_ties_are_broken_by_province_code():
    ranked = compute(scheme.default_scheme(), units(), [], [])
    assert [r["province"] for r in ranked] == sorted(PROVINCES)
    assert len({r["total"] for r in ranked}) == 1


def test_same_inputs_give_identical_results():
    numbers = {
        code: {
            "views_unique": i * 37 % 101,
            "likes": i % 7,
            "filings_approved": i,
            "evaluations": i % 5,
            "evaluation_score_sum": (i % 5) * 4,
        }
        for i, code in enumerate(PROVINCES)
    }
    first = compute(scheme.default_scheme(), units(numbers), [], [])
    second = compute(copy.deepcopy(scheme.default_scheme()), units(copy.deepcopy(numbers)), [], [])
    assert first == second


def test_adjustments_apply_to_an_indicator_or_the_total_and_are_listed():
    adjustments = [
        {"id": "a1", "province": "110000", "indicator": "views", "points": -2.0, "reason": "robot traffic"},
        {
            "id": "a2",
            "province": "110000",
            "indicator": "total",
            "points": 1.5,
            "reason": "late form accepted",
        },
        {"id": "a3", "province": "110000", "indicator": "retired_indicator", "points": 1.0, "reason": "old"},
    ]
    ranked = compute(scheme.default_scheme(), units(), [], adjustments)
    beijing = next(r for r in ranked if r["province"] == "110000")
    other = next(r for r in ranked if r["province"] == "120000")
    assert beijing["indicators"]["views"]["adjustment"] == -2.0
    assert beijing["total_adjustment"] == 2.5  # an indicator no longer in the scheme lands on the total
    assert beijing["total"] == pytest.approx(other["total"] - 2.0 + 2.5)
    assert [a["applied_to"] for a in beijing["adjustments"]] == ["views", "total", "total"]


def test_bonus_is_per_excellent_project_and_capped_per_unit():
    projects = [{"province": "320000"}] * 5 + [{"province": "110000"}]
    points = bonus.bonus_points(projects, {"points_per_excellent_project": 2.0, "cap": 6.0})
    assert points == {"320000": {"count": 5, "points": 6.0}, "110000": {"count": 1, "points": 2.0}}


# An annual form with a leading group, 120 (10k yuan) of funding and 10 of 12 projects fiscal-funded.
FORM = {
    "mechanisms": {"leading_group": True, "work_plan": False, "coordination_meetings": 0},
    "funding": {"provincial_funds": 100.0, "other_funds": 20.0},
    "carriers": [],
    "policies": [],
    "projects": {"declared": 12, "fiscal_funded": 10, "completed": 2},
    "training": {"sessions": 0, "participants": 0},
}


def test_fiscal_completeness_uses_the_annual_form_declaration():
    proven = FormFacts(2024, FORM, frozenset({derived_inputs.FUNDING_PROOF}))
    ranked = compute(
        scheme.default_scheme(), units({"320000": {"filings_approved_fiscal": 5}}, {"320000": proven}), [], []
    )
    js = next(r for r in ranked if r["province"] == "320000")
    assert js["indicators"]["fiscal_completeness"]["score"] == 0.5
    assert js["indicators"]["annual_form"]["points"] == 4.0
    assert js["indicators"]["funding"]["value"] == 120.0


# ---- flags ---------------------------------------------------------------------------


def test_a_month_100_above_three_times_the_previous_year_mean_is_a_usage_spike():
    months = {
        f"{y}-{m:02d}": {"views_total": 50}
        for y, m in [(2023, m) for m in range(3, 13)] + [(2024, 1), (2024, 2)]
    }
    months["2024-03"] = {"views_total": 249}  # 3 × 50 + 100 = 250 is the threshold
    assert flags.usage_spikes(months, date(2023, 10, 1), date(2024, 9, 30), RULES) == []
    months["2024-03"] = {"views_total": 250}
    found = flags.usage_spikes(months, date(2023, 10, 1), date(2024, 9, 30), RULES)
    assert [f["kind"] for f in found] == ["usage_spike"]
    assert "2024-03" in found[0]["detail"] and "§7.12" in found[0]["detail"]


def test_a_unit_without_history_is_not_judged_for_spikes():
    months = {"2024-09": {"views_total": 10_000}}
    assert flags.usage_spikes(months, date(2023, 10, 1), date(2024, 9, 30), RULES) == []


def test_evaluations_from_a_few_accounts_are_a_burst_but_spread_ones_are_not():
    few = {
        "bot1": {"evaluations": 30},
        "bot2": {"evaluations": 20},
        **{f"u{i}": {"evaluations": 1} for i in range(10)},
    }
    assert [f["kind"] for f in flags.concentrated_bursts(few, RULES)] == ["evaluations_burst"]
    spread = {f"u{i}": {"evaluations": 1, "likes": 1} for i in range(100)}
    assert flags.concentrated_bursts(spread, RULES) == []


def test_bulk_filings_just_before_the_cutoff_are_flagged():
    assert (
        flags.cutoff_bulk({"filings_approved": 40, "filings_approved_near_cutoff": 30}, RULES)[0]["kind"]
        == "filings_near_cutoff"
    )
    assert flags.cutoff_bulk({"filings_approved": 400, "filings_approved_near_cutoff": 30}, RULES) == []


def _swarm(
    n: int, minute: int, spacing: int = 0, score: int = 5, evaluations: int = 3
) -> dict[str, dict[str, int]]:
    """Account counters of `n` accounts, the i-th first acting at `minute` + i × `spacing`."""
    return {
        f"p{i:02d}": {
            "likes": 3,
            "evaluations": evaluations,
            "evaluation_score_sum": score * evaluations,
            f"minute#{minute + i * spacing}": 6,
        }
        for i in range(n)
    }


CYCLE_2024 = cycle_by_id("2024")


def _judge(accounts, units_of=None, unit="320000"):
    units_of = units_of if units_of is not None else {a: {f"2024#{unit}": 6} for a in accounts}
    found = flags.swarm_candidates(accounts, RULES)
    return [
        f["kind"]
        for f in flags.puppet_swarms(
            accounts, {a: u for a, u in units_of.items() if a in found}, unit, CYCLE_2024, RULES
        )
    ]


def test_new_single_purpose_accounts_crowding_a_window_are_a_swarm_with_uniformly_extreme_scores():
    assert _judge(_swarm(40, 29_000_000)) == ["puppet_swarm", "puppet_extreme_scores"]
    assert _judge(_swarm(40, 29_000_000, score=1)) == ["puppet_swarm", "puppet_extreme_scores"]


def test_the_same_accounts_arriving_over_days_with_mixed_scores_are_not_a_swarm():
    spread = _swarm(40, 29_000_000, spacing=60 * 24)
    for i, account in enumerate(spread.values()):
        account["evaluation_score_sum"] = 9 + i % 4  # three evaluations of mixed scores
    assert _judge(spread) == [] and flags.swarm_candidates(spread, RULES) == set()


def test_accounts_active_on_other_units_or_in_an_earlier_cycle_are_not_puppets():
    accounts = _swarm(40, 29_000_000)
    elsewhere = {a: {"2024#320000": 6, "2024#330000": 1} for a in accounts}
    veterans = {a: {"2024#320000": 6, "2021-2023#320000": 1} for a in accounts}
    assert _judge(accounts, elsewhere) == [] and _judge(accounts, veterans) == []
    assert (
        _judge(accounts, {a: {"2024#320000": 6, "2025#330000": 2} for a in accounts}) != []
    )  # later is fine


def test_new_accounts_acting_only_on_a_bases_results_are_its_swarm_and_their_provinces_too():
    accounts, base = _swarm(40, 29_000_000), "UNIT#service_bases#SB-1"
    # every counted fact names its province; one on an attributed result names its base as well
    only_the_base = {a: {"2024#320000": 6, f"2024#{base}": 6} for a in accounts}
    assert _judge(accounts, only_the_base, base) == ["puppet_swarm", "puppet_extreme_scores"]
    assert _judge(accounts, only_the_base, "320000") == ["puppet_swarm", "puppet_extreme_scores"]


def test_accounts_also_active_on_the_provinces_other_results_are_no_puppets_of_the_base():
    accounts, base = _swarm(40, 29_000_000), "UNIT#service_bases#SB-1"
    wider = {a: {"2024#320000": 7, f"2024#{base}": 6} for a in accounts}
    assert _judge(accounts, wider, base) == []
    assert _judge(accounts, wider, "320000") != []  # all of it still lies on the province
    veterans = {a: {"2024#320000": 6, f"2024#{base}": 6, f"2021-2023#{base}": 1} for a in accounts}
    assert _judge(accounts, veterans, base) == []


def test_too_few_accounts_are_not_a_swarm_and_the_candidates_stay_few():
    few = _swarm(19, 29_000_000)
    assert _judge(few) == [] and flags.swarm_candidates(few, RULES) == set()
    honest = {f"u{i}": {"likes": 1, f"minute#{29_000_000 + 97 * i}": 1} for i in range(5000)}
    assert flags.swarm_candidates({**honest, **_swarm(40, 30_000_000)}, RULES) == set(_swarm(40, 30_000_000))


def test_one_or_two_top_scores_per_account_are_not_uniformly_extreme():
    fans = _swarm(40, 29_000_000, spacing=60 * 24, evaluations=2)
    assert _judge(fans) == [] and flags.swarm_candidates(fans, RULES) == set()
    assert _judge(_swarm(40, 29_000_000, spacing=60 * 24)) == ["puppet_extreme_scores"]  # three 5s each


# ---- scheme --------------------------------------------------------------------------


def test_the_default_scheme_has_three_areas_and_weights_adding_to_100():
    s = scheme.default_scheme()
    assert [a["name"] for a in s["areas"]] == ["项目实施", "应用成效", "基本保障"]
    assert sum(i["weight"] for _, i in scheme.indicators(s)) == pytest.approx(100)


def test_a_scheme_whose_weights_do_not_add_to_100_or_names_unknown_inputs_is_refused():
    body = copy.deepcopy(scheme.DEFAULT_SCHEME)
    body["areas"][0]["indicators"][0]["weight"] += 1
    with pytest.raises(ValidationError, match="not 100"):
        scheme.SchemeIn.model_validate({k: body[k] for k in ("name", "areas", "bonus")})
    body = copy.deepcopy(scheme.DEFAULT_SCHEME)
    body["areas"][0]["indicators"][0]["inputs"] = {"page_rank": 1}
    with pytest.raises(ValidationError, match="unknown input"):
        scheme.SchemeIn.model_validate({k: body[k] for k in ("name", "areas", "bonus")})


# ---- derived inputs and the math's references ---------------------------------------------------


def test_the_scheme_accepts_exactly_the_registered_derived_inputs():
    assert scheme.DERIVED_INPUTS == derived_inputs.NAMES
    assert set(derived_inputs.NAMES) <= set(scheme.INPUTS)
    with pytest.raises(ValidationError, match="unknown input"):
        scheme.IndicatorIn(id="x", name="x", inputs={"form_budget": 1}, normalise="log_best", weight=1)


def test_a_funding_figure_without_its_proof_counts_as_zero_and_says_why():
    values, not_counted = derived_inputs.derive({}, FormFacts(2024, FORM, frozenset({"proof_scan"})))
    assert values["form_funding"] == 0 and values["form_fiscal_projects"] == 10
    assert set(not_counted) == {"form_funding"} and "120" in not_counted["form_funding"]
    proven = FormFacts(2024, FORM, frozenset({derived_inputs.FUNDING_PROOF}))
    assert derived_inputs.derive({}, proven) == ({**values, "form_funding": 120.0}, {})
    assert derived_inputs.needs_proofs(proven) and not derived_inputs.needs_proofs(derived_inputs.NO_FORM)


def test_an_unproven_figures_reason_is_kept_as_parameters_and_renders_in_either_language():
    reason = derived_inputs.derive({}, FormFacts(2024, FORM))[1]["form_funding"]
    assert reason == (
        "the 2024 annual form states 120 but carries no funding_proof file: counted as 0 until the proof is attached"
    )
    again = derived_inputs.not_counted_reason(**json.loads(json.dumps(reason.params)))  # as a run stores it
    assert (
        again.render(CHINESE) == "2024 年度信息表填报 120，但未附 funding_proof 文件：补充证明材料前按 0 计"
    )
    assert again.render(ENGLISH) == reason


def test_without_a_form_nothing_is_missing_a_proof():
    values, not_counted = derived_inputs.derive({"filings_approved": 5, "filings_approved_near_cutoff": 7})
    assert (values["form_filed"], values["form_funding"], values["filings_on_time"], not_counted) == (
        0,
        0,
        0,
        {},
    )


def test_the_log_reference_caps_at_a_multiple_of_the_median_of_the_non_zero_values():
    assert log_reference(LOG, {"a": 0.0, "b": 10.0, "c": 20.0, "d": 1000.0}) == (60.0, 60.0)
    assert log_reference(LOG, {"a": 0.0, "b": None}) == (None, 0.0)
    assert log_reference({**LOG, "cap_median_multiple": None}, {"a": 5.0, "b": 50.0}) == (None, 50.0)
