"""Publishing results: the notice (公布), the excellent-project list (通报) with filters, and (unit part: the tests here need neither moto nor the stack)."""
from __future__ import annotations

from chalicelib.scoring import announcements


def test_run_sequence_orders_run_ids():
    assert announcements.run_sequence("run-2021-2023-0010") == 10
    assert announcements.run_sequence("run-2024-0002") > announcements.run_sequence("run-2024-0001")
