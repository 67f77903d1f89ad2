"""The declared table access: stream triggers never write their own source, every table has a function."""

from __future__ import annotations

from infra import template
from infra.tables import TABLES
from tests.support.infra import allowed


def test_the_stream_triggers_cannot_write_the_facts_table_whose_stream_drives_them():
    # A trigger writing its own source table would trigger itself again (stack-notes).
    for function in ("FactsStream", "PushStream"):
        assert not {a for a, t, _ in allowed(function) if t == "FactsTable"} & set(template.WRITE_ACTIONS)


def test_every_table_is_reachable_only_through_declared_functions():
    declared = {key for access in template.ACCESS.values() for key in access}
    assert declared == {spec.key for spec in TABLES}
