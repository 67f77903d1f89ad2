"""The OpenAPI document's operations are the stored snapshot's: moving routes between modules or
blueprints changes none of them (tests/support/openapi_snapshot.py rewrites it after a deliberate change)."""

from __future__ import annotations

from tests.support.openapi_snapshot import current_document, operations, stored


def test_every_operation_is_the_one_the_snapshot_holds_in_its_order():
    now, before = operations(current_document()), stored()
    changed = [entry for entry in now if entry not in before]
    gone = [entry["op"] for entry in before if entry not in now]
    assert (changed, gone) == ([], []), "a deliberate change? python -m tests.support.openapi_snapshot"
    assert [entry["op"] for entry in now] == [entry["op"] for entry in before]
