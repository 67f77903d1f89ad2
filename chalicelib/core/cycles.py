"""Evaluation cycles: 2021-01-01..2023-09-30, then one a year closing 30 September (China time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chalicelib.core.clock import CHINA, china
from chalicelib.core.errors import NotFound
from chalicelib.core.messages import Message

FIRST_CYCLE_ID = "2021-2023"
FIRST_START = date(2021, 1, 1)
FIRST_END = date(2023, 9, 30)


@dataclass(frozen=True)
class Cycle:
    id: str
    first_day: date
    last_day: date

    @property
    def starts_at(self) -> datetime:
        return datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=CHINA)

    @property
    def ends_before(self) -> datetime:
        """The first instant after the window (the window is [starts_at, ends_before))."""
        nxt = self.last_day + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=CHINA)

    @property
    def closing_year(self) -> int:
        return self.last_day.year

    def holds(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_before

    def is_closed(self, now: datetime) -> bool:
        return now >= self.ends_before

    def to_dict(self, now: datetime) -> dict:
        return {
            "id": self.id,
            "start": self.first_day.isoformat(),
            "end": self.last_day.isoformat(),
            "starts_at": self.starts_at.isoformat(),
            "ends_before": self.ends_before.isoformat(),
            "status": "closed" if self.is_closed(now) else ("open" if self.holds(now) else "future"),
        }


def cycle_of_year(year: int) -> Cycle:
    """The cycle that closes on 30 September of `year` (2023 gives the first, long cycle)."""
    if year < 2023:
        raise KeyError(str(year))
    if year == 2023:
        return Cycle(FIRST_CYCLE_ID, FIRST_START, FIRST_END)
    return Cycle(str(year), date(year - 1, 10, 1), date(year, 9, 30))


def cycle_by_id(cycle_id: str) -> Cycle | None:
    """The cycle with this id, or None when the id names no cycle."""
    if cycle_id == FIRST_CYCLE_ID:
        return cycle_of_year(2023)
    if len(cycle_id) == 4 and cycle_id.isdigit() and 2024 <= int(cycle_id) <= 9999:
        return cycle_of_year(int(cycle_id))
    return None


def cycle_or_404(cycle_id: str) -> Cycle:
    """The cycle with this id; NotFound (404) when the id names no cycle."""
    cycle = cycle_by_id(cycle_id)
    if cycle is None:
        raise NotFound(Message("No cycle %(cycle_id)s; see /cycles", cycle_id=cycle_id))
    return cycle


def cycle_for(instant: datetime) -> Cycle | None:
    """The cycle whose window holds `instant` in China time; None before 2021."""
    local = china(instant)
    if local.date() < FIRST_START:
        return None
    year = local.year + 1 if (local.month, local.day) > (9, 30) else local.year
    return cycle_of_year(max(year, 2023))


def cycles_until(instant: datetime) -> list[Cycle]:
    """Every cycle from the first up to the one holding `instant`, oldest first."""
    current = cycle_for(instant)
    if current is None:
        return []
    return [cycle_of_year(y) for y in range(2023, current.closing_year + 1)]


def month_range(now: datetime) -> tuple[str, str]:
    """The first and last month ("YYYY-MM") the platform can hold data for: from the first cycle's
    first month to December of next year (China time); a month parameter outside it names nothing."""
    return f"{FIRST_START:%Y-%m}", f"{china(now).year + 1:04d}-12"


def cycles_closing_in(year: int) -> list[Cycle]:
    """Cycles whose window closed during calendar `year` (what the year-end run scores)."""
    try:
        return [cycle_of_year(year)]
    except KeyError:
        return []
