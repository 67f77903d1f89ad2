"""Reminders of the annual-form window and the filing cutoff, written by a daily schedule.

Each province's admins are told when the annual-form window opens and two days before it closes
(only those whose form is not in), and 14 and 2 days before a cycle's filing cutoff (30 September).
The schedule runs on the app clock in China dates and writes one notification per province to its
admins' audience, keyed by year and topic, so a second run the same day writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.core.clock import china, iso, sortable
from chalicelib.core.cycles import cycle_for
from chalicelib.core.models import Record
from chalicelib.core.reference import PROVINCES
from chalicelib.core.store import cancelled_by_condition
from chalicelib.documents import notifications
from chalicelib.scoring.annual_forms import submitted, window

REMIND_BEFORE_CLOSE = timedelta(days=2)
# The filing cutoff (a cycle's last day, 30 September) is announced this many days before it.
REMIND_BEFORE_CUTOFF = (timedelta(days=14), timedelta(days=2))
FORM_TOPICS = ("annual_form_window_opens", "annual_form_window_closing")


def due_reminders(now: datetime) -> list[tuple[str, int, datetime]]:
    """(topic, year, instant it names) of the window and filing-cutoff reminders whose China day is today."""
    today = china(now).date()
    opens, closes = window(today.year)
    due = []
    for topic, at in (
        ("annual_form_window_opens", opens),
        ("annual_form_window_closing", closes - REMIND_BEFORE_CLOSE),
    ):
        if at.date() == today:
            due.append((topic, today.year, at))
    cycle = cycle_for(now)
    for before in REMIND_BEFORE_CUTOFF:
        if cycle is not None and cycle.ends_before.date() - timedelta(days=1) - before == today:
            due.append(("filing_cutoff", cycle.closing_year, cycle.ends_before - timedelta(days=1) - before))
    return due


def remind_province_admins(now: datetime) -> int:
    """Write today's reminders for every province (once each; form reminders only to provinces whose form
    is not in); returns how many were new."""
    written = 0
    for topic, year, at in due_reminders(now):
        opens, closes = window(year)
        done = submitted(year) if topic in FORM_TOPICS else set()
        for province in PROVINCES:
            if province in done:
                continue
            if topic == "filing_cutoff":
                cycle = cycle_for(now)
                data = {
                    "cycle": cycle.id,
                    "cutoff": iso(cycle.ends_before),
                    "days_left": (cycle.ends_before.date() - china(now).date()).days - 1,
                    "link": "/filings",
                }
            else:
                data = {
                    "opens_at": iso(opens),
                    "closes_at": iso(closes),
                    "link": f"/provinces/{province}/annual-forms/{year}",
                }
            note = Record(
                notifications.role_pk(notifications.PROVINCE_AUDIENCE_ROLE, province),
                f"{sortable(at)}#{topic}#{year}",
                kind=notifications.KIND,
                created_at=now,
                data={"topic": topic, "at": iso(at), "year": year, "province": province, **data},
            )
            try:
                note.save(condition=Record.pk.does_not_exist())
                written += 1
            except PutError as error:
                if not cancelled_by_condition(error):
                    raise
    return written
