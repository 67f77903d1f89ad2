"""Month parameters of usage reports lie in the platform's range: the first cycle's first month to
December of next year; outside it, a 422 naming the parameter, never a 500."""

from __future__ import annotations

import pytest

from chalicelib.core import cycles
from tests.conftest import auth
from tests.support import approved_filing, assert_problem

FILER = dict(sub="filer-320000", role="filer", province="320000")


def test_the_range_runs_from_the_first_cycle_to_december_of_next_year(store):
    now = store.clock.now()  # 2024-05-15 China time
    assert cycles.month_range(now) == (f"{cycles.FIRST_START:%Y-%m}", "2025-12")


OUTSIDE = [
    ("begin=0000-01&end=0000-01", "begin"),
    ("begin=0001-01", "begin"),
    ("begin=2020-12&end=2021-03", "begin"),
    ("begin=9999-10&end=9999-12", "begin"),
    ("begin=2024-01&end=9999-12", "end"),
    ("end=2026-01", "end"),
]


@pytest.mark.parametrize("kind", ["filing", "province"])
def test_a_month_outside_the_platforms_range_is_a_422_naming_it(client, kind):
    if kind == "filing":
        path, headers = f"/filings/{approved_filing(client)['id']}/usage-report.tsv", {}
    else:
        path, headers = "/provinces/320000/usage-report.tsv", auth(**FILER)
    for query, field in OUTSIDE:
        problem = assert_problem(client.get(f"{path}?{query}", headers=headers), 422)
        assert [e["field"] for e in problem["errors"]] == [field], query
        assert "2021-01" in problem["errors"][0]["message"] and "2025-12" in problem["errors"][0]["message"]


def test_the_first_and_last_months_of_the_range_are_accepted(client):
    path = f"/filings/{approved_filing(client)['id']}/usage-report.tsv"
    assert client.get(f"{path}?begin=2021-01&end=2021-03").status == 200
    assert client.get(f"{path}?begin=2025-01&end=2025-12").status == 200
    assert client.get(f"{path}?end=2021-03").status == 200  # the default begin stops at the first month
