"""The evaluation summary hides small-sample means and shrinks towards the prior."""

from __future__ import annotations

from chalicelib.selection import excellence


def test_evaluation_summary_hides_small_sample_means_and_shrinks_towards_the_prior():
    rules = excellence.DEFAULT_RULES
    small = excellence.evaluation_summary({"evaluations": 2, "evaluation_score_sum": 10}, rules)
    assert small["mean"] is None and small["count"] == 2
    assert small["ranking_score"] == round((5 * 3.0 + 10) / 7, 4)
    big = excellence.evaluation_summary(
        {
            "evaluations": 30,
            "evaluation_score_sum": 135,
            "evaluations_university": 2,
            "evaluation_score_sum_university": 10,
        },
        rules,
    )
    assert big["mean"] == 4.5 and big["by_side"]["university"] == {"count": 2, "mean": None}
    assert big["ranking_score"] > small["ranking_score"]
    assert excellence.evaluation_summary({}, {**rules, "prior_weight": 0})["ranking_score"] == 3.0
