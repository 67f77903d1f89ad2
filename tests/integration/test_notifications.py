"""Told, not polling: province admins hear of the annual-form window on the app clock, merged
with the review decisions they are told of."""

from __future__ import annotations

from chalicelib.scoring import reminders
from tests.conftest import auth
from tests.support import report_body
from tests.support.documents import china

ADMIN_JS = dict(sub="admin-js", role="province_admin", province="320000")


def test_every_province_admin_is_told_once_and_only_of_their_province(client, store):
    store.at(china(2025, 10, 15, 0, 1))
    assert reminders.remind_province_admins(store.clock.now()) == 32
    assert reminders.remind_province_admins(store.clock.now()) == 0  # a second run writes nothing
    told = client.get("/me/notifications", headers=auth(**ADMIN_JS)).json["items"]
    assert [(n["topic"], n["province"]) for n in told] == [("annual_form_window_opens", "320000")]
    assert told[0]["link"] == "/provinces/320000/annual-forms/2025"
    assert (
        client.get("/me/notifications", headers=auth(sub="f", role="filer", province="320000")).json["items"]
        == []
    )


def test_an_admins_own_decisions_and_the_reminders_page_together_newest_first(client, store):
    store.at(china(2025, 10, 14, 9, 0))
    filing = client.post("/filings", report_body(), headers=auth(**ADMIN_JS)).json
    client.post(
        f"/filings/{filing['id']}/review",
        {"decision": "reject", "note": "补充"},
        headers=auth(sub="admin", role="national_admin"),
    )
    store.at(china(2025, 10, 15, 0, 1))
    reminders.remind_province_admins(store.clock.now())
    store.at(china(2025, 10, 16, 9, 0))
    client.post(f"/filings/{filing['id']}/revisions", report_body(), headers=auth(**ADMIN_JS))
    client.post(
        f"/filings/{filing['id']}/review",
        {"decision": "approve"},
        headers=auth(sub="admin", role="national_admin"),
    )
    first = client.get("/me/notifications?limit=2", headers=auth(**ADMIN_JS)).json
    assert [n.get("decision") or n["topic"] for n in first["items"]] == [
        "approve",
        "annual_form_window_opens",
    ]
    rest = client.get(
        f"/me/notifications?limit=2&cursor={first['next_cursor']}", headers=auth(**ADMIN_JS)
    ).json
    assert [n["decision"] for n in rest["items"]] == ["reject"] and rest["next_cursor"] is None
