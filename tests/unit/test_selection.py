"""The selection reminder schedule runs daily at nine, China time."""

from __future__ import annotations


def test_the_reminder_schedule_runs_daily_at_nine_china_time():
    import app
    from local_stack.scheduler import CronSchedule

    source = next(s for s in app.app.event_sources if s.name == "selection_reminders")
    cron = CronSchedule.parse(source.schedule_expression)
    from chalicelib.core.clock import parse_instant

    assert cron.next_after(parse_instant("2024-05-16T08:59:00+08:00")) == parse_instant(
        "2024-05-16T09:00:00+08:00"
    )
