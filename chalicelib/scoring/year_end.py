"""The year-end trigger (31 December, China time): every population's run of each cycle that closed
in that year, the provinces first, then each population that has registered units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core.clock import china
from chalicelib.core.cycles import cycles_closing_in
from chalicelib.scoring import runs
from chalicelib.scoring.population_sources import POPULATIONS


def run_all(now: datetime) -> list[dict[str, Any]]:
    """Score every closed cycle of this China-time year for every population with units; the runs' headers."""
    closed = [c for c in cycles_closing_in(china(now).year) if c.is_closed(now)]
    return [
        runs.run(cycle.id, None, now, trigger="schedule", population=population.id)
        for population in POPULATIONS.values()
        if closed and population.units()
        for cycle in closed
    ]
