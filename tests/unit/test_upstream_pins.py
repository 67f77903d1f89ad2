"""The local stack refuses any moto or Chalice other than the one its adaptations were written against."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from local_stack import moto_store, upstream_pins

ROOT = Path(__file__).resolve().parents[2]


def _pinned_in_requirements() -> dict[str, str]:
    found = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", line)
            if match:
                found[match.group(1).lower()] = match.group(2)
    return found


def test_the_pins_are_the_versions_the_requirements_install():
    pinned = _pinned_in_requirements()
    assert {package: pinned.get(package) for package in upstream_pins.VERSIONS} == upstream_pins.VERSIONS


def test_the_installed_moto_and_chalice_match_every_pin():
    """Fails loudly on an upgrade: re-check each adaptation, then move the versions, digests and signatures."""
    assert upstream_pins.differences() == []


def test_it_refuses_another_moto_version(monkeypatch):
    monkeypatch.setattr(upstream_pins, "version", lambda package: "5.2.6" if package == "moto" else "1.34.0")
    with pytest.raises(
        upstream_pins.UpstreamChanged, match="moto 5.2.6 is installed; local_stack is pinned to 5.2.5"
    ):
        upstream_pins.check()


def test_it_refuses_when_a_replaced_moto_function_changed(monkeypatch):
    monkeypatch.setitem(upstream_pins.DIGESTS, "moto.dynamodb.models.table.Table.scan", "0" * 64)
    with pytest.raises(upstream_pins.UpstreamChanged, match="Table.scan changed"):
        upstream_pins.check()


def test_it_refuses_when_a_called_function_takes_other_parameters(monkeypatch):
    path = "chalice.local.LocalGateway.handle_request"
    monkeypatch.setitem(upstream_pins.SIGNATURES, path, ("self", "path", "method", "headers", "body"))
    with pytest.raises(upstream_pins.UpstreamChanged, match="handle_request now takes"):
        upstream_pins.check()


def test_the_pins_read_moto_s_own_functions_while_the_store_is_installed():
    was = moto_store._installed
    moto_store.install()
    try:
        assert upstream_pins.differences() == []
    finally:
        if not was:
            moto_store.uninstall()


def test_every_moto_function_the_store_replaces_is_pinned_by_its_source():
    replaced = {moto_store.upstream_path(owner, attr) for owner, attr in moto_store._replacements()}
    assert replaced <= set(upstream_pins.DIGESTS)


def test_a_scan_reads_its_arguments_by_name_whatever_their_order(monkeypatch):
    """moto moving `index_name` first: an index scan still goes to moto, not to a walk of the base table."""

    def reordered(self, index_name, filters, limit, exclusive_start_key, *rest, **kwargs):
        return "walked the index" if "all_items" not in vars(self) else "walked the base table"

    monkeypatch.setitem(moto_store._originals, "Table.scan", reordered)
    table = SimpleNamespace(hash_key_type="S", range_key_attr=None, items={})
    assert moto_store._scan(table, "by-index", {}, 10, None) == "walked the index"
