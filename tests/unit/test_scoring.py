"""The year-end schedule scores the long first cycle in 2023."""

from __future__ import annotations

from chalicelib.scoring import year_end


def test_the_schedule_scores_the_long_first_cycle_in_2023():
    assert [c.id for c in year_end.cycles_closing_in(2023)] == ["2021-2023"]
