"""The local stack's moto adaptation refuses any other moto than the one it was written against."""

from __future__ import annotations

import pytest

from local_stack import moto_store


def test_it_refuses_another_moto_version(monkeypatch):
    import moto

    monkeypatch.setattr(moto, "__version__", "5.2.6")
    with pytest.raises(moto_store.MotoChanged, match="5.2.5"):
        moto_store.check_moto()


def test_it_refuses_when_a_replaced_moto_function_changed(monkeypatch):
    monkeypatch.setitem(moto_store.REPLACED, "Table.query", "0" * 64)
    with pytest.raises(moto_store.MotoChanged, match="Table.query"):
        moto_store.check_moto()


def test_the_pinned_moto_is_the_one_installed():
    """Fails loudly on a moto upgrade: re-check every patch, then move MOTO_VERSION and the digests."""
    moto_store.check_moto()
