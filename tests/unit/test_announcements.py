"""Scoring run ids sort in the order the runs were made."""

from __future__ import annotations

from chalicelib.scoring import announcements


def test_run_sequence_orders_run_ids():
    assert announcements.run_sequence("run-2021-2023-0010") == 10
    assert announcements.run_sequence("run-2024-0002") > announcements.run_sequence("run-2024-0001")
