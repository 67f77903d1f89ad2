"""Annual-form reminders fall on the window's first day and two days before it closes, just after
midnight China time."""

from __future__ import annotations

from chalicelib.core.clock import CHINA
from chalicelib.scoring import reminders
from local_stack.scheduler import CronSchedule
from tests.support.documents import china


def test_reminders_fall_on_the_window_opening_day_and_two_days_before_it_closes():
    assert [t for t, _, _ in reminders.due_reminders(china(2025, 10, 15, 0, 1))] == [
        "annual_form_window_opens"
    ]
    assert [t for t, _, _ in reminders.due_reminders(china(2025, 10, 30, 0, 1))] == [
        "annual_form_window_closing"
    ]
    for quiet in (china(2025, 10, 14, 23, 59), china(2025, 10, 20, 0, 1), china(2025, 10, 31, 0, 1)):
        assert reminders.due_reminders(quiet) == []


def test_the_daily_schedule_runs_just_after_midnight_china_time():
    import app

    job = next(s for s in app.app.event_sources if getattr(s, "name", "") == "annual_form_reminders")
    fires = CronSchedule.parse(job.schedule_expression).next_after(china(2025, 10, 14, 12, 0))
    assert fires.astimezone(CHINA) == china(2025, 10, 15, 0, 1)
