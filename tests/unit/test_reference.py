"""The cycle rule alone: no cycle before 2021, cycle ids round-trip, cycles closing in a year."""

from __future__ import annotations

from chalicelib.core.clock import parse_instant
from chalicelib.core.cycles import cycle_by_id, cycle_for, cycles_closing_in, cycles_until


def test_before_2021_there_is_no_cycle():
    assert cycle_for(parse_instant("2020-12-31T23:59:59+08:00")) is None
    assert cycle_for(parse_instant("2020-12-31T16:00:00+00:00")).id == "2021-2023"


def test_cycle_ids_round_trip_and_nonsense_names_none():
    for cycle_id in ("2021-2023", "2024", "2031"):
        assert cycle_by_id(cycle_id).id == cycle_id
    for nonsense in ("2023", "2021", "2021-2024", "abcd", "", "02024"):
        assert cycle_by_id(nonsense) is None


def test_cycles_closing_in_a_year_and_until_an_instant():
    assert [c.id for c in cycles_closing_in(2023)] == ["2021-2023"]
    assert [c.id for c in cycles_closing_in(2025)] == ["2025"]
    assert cycles_closing_in(2022) == []
    assert [c.id for c in cycles_until(parse_instant("2024-09-30T23:59:59+08:00"))] == ["2021-2023", "2024"]
