"""Demands and suggestions: a user sends one to a province or the national office, tagged by industry; the
addressee lists, answers and closes it, and the sender is told each step."""

from __future__ import annotations

import pytest

from chalicelib.core import audit
from tests.conftest import auth
from tests.support import ADMIN_JS, FILER, FILER_ZJ, NATIONAL, USER, stored_items

ADMIN_ZJ = dict(sub="admin-zj", role="province_admin", province="330000")
OTHER_USER = dict(sub="reader-9", role="user", side="university")


def demand(to="320000", **overrides):
    return {
        "to": to,
        "kind": "demand",
        "industry": "5",
        "title": "新能源汽车电池专利布局需求",
        "text": "希望获得动力电池领域的专利导航分析服务。",
        **overrides,
    }


def send(client, who=USER, **overrides):
    answer = client.post("/demands", demand(**overrides), headers=auth(**who))
    assert answer.status == 201, answer.json
    return answer.json


def test_a_user_sends_a_demand_the_province_answers_and_closes_it_and_the_user_is_told(client, store):
    sent = send(client)
    assert (sent["status"], sent["to"], sent["industry"], sent["from"]) == (
        "open",
        "320000",
        "5",
        USER["sub"],
    )
    listed = client.get("/demands?to=320000", headers=auth(**FILER)).json
    assert [d["id"] for d in listed["items"]] == [sent["id"]] and "from" not in listed["items"][0]
    store.clock.advance(minutes=1)
    answered = client.post(
        f"/demands/{sent['id']}/answer", {"text": "已安排省专利导航服务基地对接。"}, headers=auth(**ADMIN_JS)
    )
    assert answered.status == 200 and answered.json["status"] == "answered"
    assert answered.json["answers"][0]["text"] == "已安排省专利导航服务基地对接。"
    store.clock.advance(minutes=1)
    closed = client.post(f"/demands/{sent['id']}/close", {"note": "已完成对接"}, headers=auth(**ADMIN_JS))
    assert closed.json["status"] == "closed"
    assert (
        client.post(f"/demands/{sent['id']}/close", {}, headers=auth(**ADMIN_JS)).status == 200
    )  # idempotent
    assert (
        client.post(f"/demands/{sent['id']}/answer", {"text": "再补充"}, headers=auth(**ADMIN_JS)).status
        == 409
    )
    told = client.get("/me/notifications", headers=auth(**USER)).json["items"]
    assert [n["topic"] for n in told] == ["demand_closed", "demand_answered"]
    assert client.get(f"/demands/{sent['id']}", headers=auth(**USER)).json["status"] == "closed"
    assert [e["action"] for e in audit.trail("demand", sent["id"])] == ["answered", "closed"]


def test_the_national_office_receives_suggestions_and_lists_them_by_status_and_industry(client):
    first = send(client, to="national", kind="suggestion", industry="1")
    send(client, to="national", industry="5")
    send(client, to="320000")
    assert {
        d["id"] for d in client.get("/demands?to=national&industry=1", headers=auth(**NATIONAL)).json["items"]
    } == {first["id"]}
    page = client.get("/demands?to=national&limit=1", headers=auth(**NATIONAL)).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(
        f"/demands?to=national&limit=1&cursor={page['next_cursor']}", headers=auth(**NATIONAL)
    ).json
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"]
    client.post(f"/demands/{first['id']}/answer", {"text": "感谢建议"}, headers=auth(**NATIONAL))
    answered = client.get("/demands?to=national&status=answered", headers=auth(**NATIONAL)).json["items"]
    assert [d["id"] for d in answered] == [first["id"]] and answered[0]["from"] == USER["sub"]
    assert (
        client.post(f"/demands/{first['id']}/answer", {"text": "x"}, headers=auth(**ADMIN_JS)).status == 404
    )


def test_another_province_and_plain_users_cannot_read_answer_or_close_a_provinces_demands(client, store):
    sent = send(client)
    before = stored_items(store)
    for who in (ADMIN_ZJ, FILER_ZJ, OTHER_USER):
        assert client.get(f"/demands/{sent['id']}", headers=auth(**who)).status == 404
    for who in (ADMIN_ZJ,):
        assert client.post(f"/demands/{sent['id']}/answer", {"text": "x"}, headers=auth(**who)).status == 404
        assert client.post(f"/demands/{sent['id']}/close", {}, headers=auth(**who)).status == 404
    for who in (FILER, USER, OTHER_USER):
        assert client.post(f"/demands/{sent['id']}/answer", {"text": "x"}, headers=auth(**who)).status == 403
    assert client.post(f"/demands/{sent['id']}/answer", {"text": "x"}).status == 401
    for who in (ADMIN_ZJ, USER):
        assert client.get("/demands?to=320000", headers=auth(**who)).status == 403
    assert client.get("/demands?to=national", headers=auth(**ADMIN_JS)).status == 403
    assert client.get("/demands", headers=auth(**NATIONAL)).status == 422
    assert stored_items(store) == before


@pytest.mark.parametrize("who", [FILER, ADMIN_JS, NATIONAL])
def test_only_users_send_demands(client, store, who):
    before = stored_items(store)
    assert client.post("/demands", demand(), headers=auth(**who)).status == 403
    assert stored_items(store) == before


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"to": "999999"}, "to"),
        ({"industry": "99"}, "industry"),
        ({"kind": "complaint"}, "kind"),
        ({"text": ""}, "text"),
    ],
)
def test_a_bad_demand_is_refused_naming_the_field(client, store, overrides, field):
    before = stored_items(store)
    answer = client.post("/demands", demand(**overrides), headers=auth(**USER))
    assert answer.status == 422 and field in [e["field"] for e in answer.json["errors"]], answer.json
    assert stored_items(store) == before
