"""Item sizes are counted by DynamoDB's rules (bench/capacity.py)."""

from __future__ import annotations

from bench.capacity import item_size


def test_item_size_counts_names_and_values_by_dynamodbs_rules():
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
