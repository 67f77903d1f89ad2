"""The usage metrics registry: every name of a metric derives from its one entry, so adding a metric is one
entry (here a test fixture's) and the rules count it, stats show it, usage reports and SUSHI list it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chalicelib.core.clock import parse_instant
from chalicelib.scoring import scheme
from chalicelib.usage import counting_rules, metrics, stats, sushi, usage_reports

AT = parse_instant("2024-05-15T10:00:00+08:00")
SHARE = metrics.EventMetric("share", "shares", "Item_Shares", from_client=True)


@pytest.fixture
def with_shares(monkeypatch):
    """The registry with one more event kind, and no other change."""
    registry = dataclasses.replace(metrics.REGISTRY, events=(*metrics.REGISTRY.events, SHARE))
    monkeypatch.setattr(metrics, "REGISTRY", registry)
    return registry


def _share(**extra):
    return {
        "entity": "event",
        "type": "share",
        "filing": "f1",
        "user": "reader",
        "province": "320000",
        "at": AT,
        "prev_at": None,
        **extra,
    }


def test_todays_metrics_keep_their_names():
    registry = metrics.REGISTRY
    assert registry.event_counters == ("views_total", "views_unique", "downloads_total", "downloads_unique")
    assert registry.report_metrics == (
        ("Total_Item_Investigations", "views_total"),
        ("Unique_Item_Investigations", "views_unique"),
        ("Total_Item_Requests", "downloads_total"),
        ("Unique_Item_Requests", "downloads_unique"),
    )
    assert registry.held == ("likes", "favorites", "comments")
    assert registry.account_activity == ("likes", "favorites", "comments", "evaluations")
    assert registry.publication_usage_counters[:2] == ("publication_views_total", "publication_views_unique")
    assert set(registry.usage_counters) | set(registry.publication_usage_counters) <= set(
        scheme.COUNTER_INPUTS
    )


def test_a_new_event_kind_is_counted_by_the_rules(with_shares):
    deltas = counting_rules.event_contribution(_share())
    counted = {"shares_total": 1, "shares_unique": 1}
    assert deltas[counting_rules.filing_key("f1")] == counted
    assert deltas[counting_rules.cycle_key("320000", "2024")] == counted
    assert deltas[counting_rules.month_key("320000", AT)] == counted
    assert deltas[counting_rules.item_month_key("filing", "f1", AT)] == counted
    # By the same COUNTER rules as views: a double click counts once, within the hour not unique.
    assert counting_rules.event_values("share", AT + timedelta(seconds=10), AT) == {}
    assert counting_rules.recount([_share()]) == deltas


def test_a_new_event_kind_is_shown_in_stats(with_shares):
    numbers = {"shares_total": 3, "shares_unique": 2, "publication_shares_total": 1, "filings_approved": 1}
    shaped = stats.shape(numbers)
    assert shaped["shares"] == {"total": 3, "unique": 2}
    assert shaped["views"] == {"total": 0, "unique": 0}
    assert stats._publication_usage(numbers)["shares"] == {"total": 1, "unique": 0}
    assert stats._approved(numbers) == {"filings_approved": 1}


def test_a_new_event_kind_is_a_row_of_the_usage_reports_and_a_sushi_metric(with_shares):
    report = usage_reports.Report("Platform Report", "PR", "江苏省", "320000", ["2024-05"], AT)
    report.add("江苏省 备案成果", "320000", "Other", {"2024-05": {"shares_total": 4, "shares_unique": 3}})
    assert [row[4:] for row in report.rows][-2:] == [
        ["Total_Item_Shares", 4, 4],
        ["Unique_Item_Shares", 3, 3],
    ]
    assert "Total_Item_Shares" in dict(row for row in report.header() if row)["Metric_Types"]
    asked = {"begin_date": "2024-05", "end_date": "2024-05", "metric_type": "Total_Item_Shares"}
    assert sushi._parse("pr", asked, AT + timedelta(days=60)).metrics == ["Total_Item_Shares"]


def test_a_kind_the_platform_records_is_refused_from_clients_by_its_registry_entry():
    from pydantic import ValidationError

    from chalicelib.usage.interactions import EventIn

    with pytest.raises(ValidationError) as refused:
        EventIn.model_validate(
            {"id": "00000000-0000-4000-8000-000000000000", "type": "download", "filing": "f"}
        )
    assert (
        "downloads are counted by the platform when it serves the file (GET /filings/{id}/files/{file_id})"
        in str(refused.value)
    )


@pytest.mark.parametrize("kind", [{}, ["download"], 7, None])
def test_an_event_type_that_is_not_a_string_is_a_validation_error_not_a_crash(kind):
    from chalicelib.core.errors import Invalid
    from chalicelib.core.schemas import parse
    from chalicelib.usage.interactions import EventIn

    with pytest.raises(Invalid) as refused:
        parse(EventIn, {"id": "00000000-0000-4000-8000-000000000000", "type": kind, "filing": "f"})
    assert [e["field"] for e in refused.value.errors] == ["type"]
