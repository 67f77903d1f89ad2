"""The one source of time. Every calendar rule reads China time from here."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class StartedClock:
    """Starts at a given instant and runs forward in real time (local rehearsals)."""

    def __init__(self, start: datetime):
        self._start = start.astimezone(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


class FixedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def china(instant: datetime) -> datetime:
    """The same instant seen on a clock in China."""
    return instant.astimezone(CHINA)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant; one without offset is taken as China time."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed


def iso(instant: datetime) -> str:
    """ISO 8601 with the China offset, the form every API answer uses."""
    return china(instant).isoformat(timespec="seconds")


def sortable(instant: datetime) -> str:
    """Fixed-width UTC text that sorts like the instants it names (for sort keys)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
