"""A caller's sub can never spell another namespace's key: the role audience's reminders stay its own."""

from __future__ import annotations

import pytest

from chalicelib.scoring import reminders
from tests.conftest import auth
from tests.support.documents import china


@pytest.mark.parametrize("role, extra", [("user", {"side": "enterprise"}), ("filer", {"province": "110000"})])
def test_a_sub_spelling_the_province_admins_audience_does_not_read_their_reminders(
    client, store, role, extra
):
    store.at(china(2025, 10, 15, 0, 1))
    assert reminders.remind_province_admins(store.clock.now()) == 32
    attacker = auth(sub="ROLE#province_admin#320000", role=role, **extra)
    assert client.get("/me/notifications", headers=attacker).json["items"] == []
    admin = auth(sub="admin-js", role="province_admin", province="320000")
    assert [n["province"] for n in client.get("/me/notifications", headers=admin).json["items"]] == ["320000"]
