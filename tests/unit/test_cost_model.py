"""The cost model's request-unit meter bills what DynamoDB's on-demand rules bill (bench/capacity.py) (unit part: the tests here need neither moto nor the stack)."""
from __future__ import annotations

from bench.capacity import item_size


def test_item_size_counts_names_and_values_by_dynamodbs_rules():
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
