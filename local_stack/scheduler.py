"""EventBridge cron schedules, run locally on the app clock."""

from __future__ import annotations

import logging
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.events import lambda_context, scheduled_event

log = logging.getLogger("local_stack")

_FIELD_RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day_of_month": (1, 31),
    "month": (1, 12),
    "year": (1970, 2199),
}


def _cron_values(text: Any, low: int, high: int) -> list[int]:
    """Values of one cron field: `*`, `?`, numbers, lists, ranges and `/` steps."""
    values: set[int] = set()
    for part in str(text).split(","):
        part, _, step = part.partition("/")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            start, end = (int(p) for p in part.split("-", 1))
        else:
            start = int(part)
            end = high if step else start
        values.update(range(start, end + 1, int(step or 1)))
    return sorted(v for v in values if low <= v <= high)


class CronSchedule:
    """The UTC minute/hour/day-of-month/month/year fields of an EventBridge cron."""

    def __init__(self, minutes: Any, hours: Any, day_of_month: Any, month: Any, day_of_week: Any, year: Any):
        if str(day_of_week) not in ("?", "*"):
            raise ValueError("day-of-week cron fields are not supported locally")
        self.fields = {
            name: _cron_values(value, *_FIELD_RANGES[name])
            for name, value in zip(_FIELD_RANGES, (minutes, hours, day_of_month, month, year))
        }

    @classmethod
    def parse(cls, expression: Any) -> CronSchedule:
        """From a chalice Cron or a `cron(...)` string."""
        if hasattr(expression, "to_string"):
            expression = expression.to_string()
        text = str(expression).strip()
        if not (text.startswith("cron(") and text.endswith(")")):
            raise ValueError(f"not a cron expression: {text}")
        return cls(*text[5:-1].split())

    def next_after(self, after: datetime) -> datetime | None:
        """The first instant strictly after `after` that the cron names."""
        a = after.astimezone(UTC)
        f = self.fields
        for year in (y for y in f["year"] if y >= a.year):
            for month in (m for m in f["month"] if (year, m) >= (a.year, a.month)):
                for day in f["day_of_month"]:
                    if day > monthrange(year, month)[1] or (year, month, day) < (a.year, a.month, a.day):
                        continue
                    for hour in (
                        h for h in f["hours"] if (year, month, day, h) >= (a.year, a.month, a.day, a.hour)
                    ):
                        for minute in f["minutes"]:
                            t = datetime(year, month, day, hour, minute, tzinfo=UTC)
                            if t > a:
                                return t
        return None


@dataclass
class ScheduledJob:
    name: str
    handler: Callable[[dict, Any], Any]
    cron: CronSchedule
    function_name: str
    next_at: datetime | None = None
    fired: list[datetime] = field(default_factory=list)


class Scheduler:
    """Fires each schedule when the app clock crosses its next cron instant (once per crossing)."""

    def __init__(self, jobs: list[ScheduledJob], now: Callable[[], datetime | None], region: str):
        self.jobs, self.now, self.region = jobs, now, region
        self._last: datetime | None = None

    def check(self) -> list[str]:
        """Fire what is due; return the names fired (none while the app clock is not the stack's)."""
        now = self.now()
        if now is None:
            return []
        if self._last is None or now < self._last:
            # First look, or the clock was set back (tests): aim at the next instant from here.
            for job in self.jobs:
                job.next_at = job.cron.next_after(now)
        self._last = now
        fired = []
        for job in self.jobs:
            if job.next_at is None or now < job.next_at:
                continue
            at, job.next_at = job.next_at, job.cron.next_after(now)
            log.info("schedule %s fires for %s (app clock %s)", job.name, at.isoformat(), now.isoformat())
            try:
                job.handler(scheduled_event(job.name, at, self.region), lambda_context(job.function_name))
            except Exception:
                # EventBridge would retry; locally the log is the useful part.
                log.exception("schedule %s raised", job.name)
            job.fired.append(at)
            fired.append(job.name)
        return fired
