"""Scoring run ids sort in the order the runs were made; the notice lists excellent projects with their panel."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.core.auth import Caller
from chalicelib.scoring import announcements


def test_run_sequence_orders_run_ids():
    assert announcements.run_sequence("run-2021-2023-0010") == 10
    assert announcements.run_sequence("run-2024-0002") > announcements.run_sequence("run-2024-0001")


def test_the_announcement_shows_each_selected_projects_panel_size_and_none_for_an_override():
    project = {"title": "导航报告", "kind": "report", "unit": "江苏省知识产权局", "industry": "5"}
    header = {
        "run_id": "run-2024-0001",
        "scheme_version": 1,
        "excellent_projects": [
            {**project, "filing": "a", "province": "320000", "source": "selection", "panel": {"size": 7}},
            {**project, "filing": "b", "province": "330000", "source": "override", "reason": "特别认定"},
        ],
    }
    made = announcements.announcement(
        "2024",
        header,
        [],
        1,
        Caller("boss", "national_admin"),
        datetime(2024, 11, 1, tzinfo=UTC),
        None,
        None,
    )
    assert [(p["filing"], p["source"], p["panel_size"]) for p in made["excellent_projects"]] == [
        ("a", "selection", 7),
        ("b", "override", None),
    ]
