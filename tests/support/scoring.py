"""Scoring helpers: a closed cycle, seeded province counters, starting a run, stored view events
and the default scheme's flag rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from chalicelib.core.models import Counter, UsageEvent
from chalicelib.core.reference import PROVINCES
from chalicelib.scoring import scheme
from tests.conftest import auth

ADMIN = auth(sub="admin", role="national_admin")
CLOSED = "2024-11-20T10:00:00+08:00"  # cycle 2024 (2023-10-01 .. 2024-09-30) has closed


def seed_counters(cycle: str = "2024", scale: int = 1) -> None:
    """Province×cycle counters with a clear order: a higher code has more of everything."""
    for i, code in enumerate(sorted(PROVINCES)):
        Counter(
            f"PROV#{code}",
            f"CYCLE#{cycle}",
            n={
                "filings_approved": 10 + i,
                "filings_approved_database": i % 4,
                "filings_approved_tool": i % 3,
                "reports_approved_industry_planning": 2 + i,
                "filings_approved_application_proof": i // 2,
                "views_unique": (100 + 10 * i) * scale,
                "views_total": (150 + 10 * i) * scale,
                "downloads_unique": (20 + i) * scale,
                "likes": i,
                "favorites": i // 2,
                "comments": i // 3,
                "evaluations": i,
                "evaluation_score_sum": 4 * i,
                "evaluations_enterprise": i,
                "evaluation_score_sum_enterprise": 4 * i,
                "publications_approved_news": i % 5,
            },
        ).save()


def run(client, cycle="2024", headers=ADMIN):
    """Start a scoring run of the cycle (as a national admin unless told otherwise)."""
    return client.post(f"/cycles/{cycle}/scoring-runs", headers=headers)


def events(n: int) -> None:
    """Store `n` view events on the facts table, as the API would (the run must not read them)."""
    at = datetime(2024, 3, 1, tzinfo=UTC)
    with UsageEvent.batch_write() as batch:
        for i in range(n):
            code = sorted(PROVINCES)[i % 32]
            user = f"u{i % 50}"
            event_id = str(uuid.uuid4())
            batch.save(
                UsageEvent(
                    f"EVENT#{user}#{event_id}",
                    "A",
                    entity="usage_event",
                    id=event_id,
                    type="view",
                    filing=f"f{i % 200}",
                    user=user,
                    at=at,
                    province=code,
                )
            )


# the default scheme's flag rules, which the pure scoring tests and the integration ones check
RULES = scheme.default_scheme()["flags"]
