"""The local stack's cron arithmetic and write admission, without a stack."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Cron

from local_stack.scheduler import CronSchedule


def test_cron_next_instant():
    year_end = CronSchedule.parse(Cron(0, 15, 31, 12, "?", "*"))
    utc = UTC
    assert year_end.next_after(datetime(2025, 6, 1, tzinfo=utc)) == datetime(2025, 12, 31, 15, 0, tzinfo=utc)
    assert year_end.next_after(datetime(2025, 12, 31, 15, 0, tzinfo=utc)) == datetime(
        2026, 12, 31, 15, 0, tzinfo=utc
    )
    every_quarter = CronSchedule.parse("cron(*/15 * * * ? *)")
    assert every_quarter.next_after(datetime(2025, 2, 28, 23, 50, tzinfo=utc)) == datetime(
        2025, 3, 1, 0, 0, tzinfo=utc
    )


def test_writes_wait_for_a_trigger_that_fell_behind():
    """Admission: a write is served only once the backlog is within the limit."""
    from local_stack.admission import TriggerPaced

    backlog = iter([900, 700, 100])
    served = []
    paced = TriggerPaced(
        lambda event, context: served.append(event) or "ok", lambda: next(backlog), limit=300
    )
    assert paced({"requestContext": {"httpMethod": "POST"}}, None) == "ok"
    assert next(backlog, None) is None  # polled until it fell under the limit
    assert paced({"requestContext": {"httpMethod": "GET"}}, None) == "ok"  # reads never wait
