"""No file is added to a withdrawn record: declaring or completing is a 409 problem, nothing stored."""

from __future__ import annotations

import pytest
import requests

from chalicelib.documents import attachments
from tests.conftest import auth
from tests.support import assert_problem, stored_items
from tests.support.documents import FILER, PDF, declaration, filed


def pending(client, owner: str) -> str:
    if owner == "filing":
        return filed(client)["id"]
    body = {"kind": "news", "title": "新闻", "province": "320000", "body": "正文"}
    created = client.post("/publications", body, headers=auth(**FILER))
    assert created.status == 201, created.json
    return created.json["id"]


def declared_and_put(client, owner: str, owner_id: str) -> dict:
    started = client.post(f"/{owner}s/{owner_id}/files", declaration(), headers=auth(**FILER))
    assert started.status == 201, started.json
    put = started.json["upload"]
    assert requests.put(put["url"], data=PDF, headers=put["headers"], timeout=10).status_code == 200
    return started.json


def withdraw(client, owner: str, owner_id: str) -> None:
    assert client.post(f"/{owner}s/{owner_id}/withdraw", headers=auth(**FILER)).json["status"] == "withdrawn"


@pytest.mark.parametrize("owner", ["filing", "publication"])
def test_declaring_or_completing_a_file_on_a_withdrawn_record_is_409_and_stores_nothing(client, store, owner):
    owner_id = pending(client, owner)
    upload = declared_and_put(client, owner, owner_id)
    withdraw(client, owner, owner_id)
    before = stored_items(store)
    assert_problem(client.post(upload["links"]["complete"], headers=auth(**FILER)), 409)
    assert_problem(client.post(f"/{owner}s/{owner_id}/files", declaration(), headers=auth(**FILER)), 409)
    assert stored_items(store) == before
    assert client.get(f"/{owner}s/{owner_id}/files", headers=auth(**FILER)).json["items"] == []


def test_a_withdrawal_landing_between_the_check_and_the_write_still_refuses_the_file(
    client, store, monkeypatch
):
    owner_id = pending(client, "filing")
    upload = declared_and_put(client, "filing", owner_id)
    withdraw(client, "filing", owner_id)
    monkeypatch.setattr(attachments, "_check_open", lambda owner, doc: None)  # the early check saw it open
    before = stored_items(store)
    assert_problem(client.post(upload["links"]["complete"], headers=auth(**FILER)), 409)
    assert stored_items(store) == before
    assert client.get(f"/filings/{owner_id}/files", headers=auth(**FILER)).json["items"] == []
