"""Every free-text field of every body goes through the one text rule (core/schemas.py Text): reasons,
organisation and unit names, invitation notes and file names refuse controls, bidi overrides,
invisible-only text, and, on one line, line separators, tag and zero-width characters."""

from __future__ import annotations

import pytest

from tests.conftest import auth
from tests.support import approved_filing, assert_problem, stored_items
from tests.support.documents import FILER, declaration, filed
from tests.support.scoring import ADMIN, CLOSED, run, seed_counters
from tests.support.selection import ENTERPRISE, register

NATIONAL = dict(sub="admin", role="national_admin")


def refused(client, store, method: str, path: str, body: dict, headers: dict, field: str) -> None:
    """The request is a 422 naming `field`, and nothing was stored."""
    before = stored_items(store)
    problem = assert_problem(client.call(method, path, body, headers=headers), 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert stored_items(store) == before


@pytest.mark.parametrize("reason", ["\u200b", "\u200b\u2060 \ufeff", "更正\x00", "\u202e更正"])
def test_a_supersede_reason_with_nothing_visible_or_controls_is_422_and_publishes_nothing(
    store, client, reason
):
    store.at(CLOSED)
    seed_counters()
    first = run(client).json["run_id"]
    assert client.post(f"/cycles/2024/scoring-runs/{first}/publish", headers=ADMIN).status == 200
    later = run(client).json["run_id"]
    refused(
        client,
        store,
        "POST",
        f"/cycles/2024/scoring-runs/{later}/publish",
        {"reason": reason},
        ADMIN,
        "reason",
    )
    assert client.get("/cycles/2024/scores").json["run_id"] == first


@pytest.mark.parametrize(
    "name", ["a\u0000b", "\u202e示范", "示范\u2028企业", "示范\u200b企业", "示范\U000e0041", "示范\r\n企业"]
)
def test_an_organisation_name_with_controls_or_invisible_characters_is_422(store, client, name):
    refused(client, store, "POST", "/organisations", {**ENTERPRISE, "name": name}, auth(**NATIONAL), "name")


def test_an_invitation_note_with_nothing_visible_is_422(store, client):
    org = register(client).json
    refused(
        client,
        store,
        "POST",
        f"/organisations/{org['id']}/invitations",
        {"note": "\u200b"},
        auth(**NATIONAL),
        "note",
    )
    refused(
        client,
        store,
        "POST",
        f"/organisations/{org['id']}/invitations",
        {"note": "请\u202e加入"},
        auth(**NATIONAL),
        "note",
    )


@pytest.mark.parametrize(
    "name", ["服务\r\n基地", "服务\n基地", "服务\u2029基地", '=HYPERLINK("x")\u200b', "\u3164"]
)
def test_a_population_unit_name_on_more_than_one_line_or_invisible_is_422(store, client, name):
    body = {"code": "b1", "name": name, "province": "320000"}
    refused(client, store, "POST", "/populations/service_bases/units", body, auth(**NATIONAL), "name")


@pytest.mark.parametrize(
    "name", ["报告\u2028.pdf", "报告\U000e0041\U000e0042.pdf", "报告\u200b.pdf", "\u202egpj.pdf"]
)
def test_a_file_name_with_line_separators_or_tag_characters_is_422(store, client, name):
    filing = filed(client)
    refused(
        client, store, "POST", f"/filings/{filing['id']}/files", declaration(name=name), auth(**FILER), "name"
    )


def test_multi_line_reasons_keep_their_line_breaks_and_plain_names_pass(store, client):
    approved_filing(client)
    assert register(client, {**ENTERPRISE, "name": "示范企业（集团）"}).status == 201
    org = register(client).json
    answer = client.post(
        f"/organisations/{org['id']}/invitations", {"note": "第一行\n第二行"}, headers=auth(**NATIONAL)
    )
    assert answer.status == 201, answer.json
