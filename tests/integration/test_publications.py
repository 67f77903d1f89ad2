"""Publications (news, notices, policies, navigation info): filed by a province, reviewed nationally."""

from __future__ import annotations

import pytest

from chalicelib.core import audit
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.support import ADMIN_JS, EXPERT, FILER, FILER_ZJ, NATIONAL, USER, stored_items


def news(province="320000", **overrides):
    body = {
        "kind": "news",
        "title": "江苏省召开专利导航工作推进会",
        "province": province,
        "body": "会议指出，要深入实施专利导航工程。\n第二段：𠮷",
    }
    body.update(overrides)
    return body


def publish(client, who=FILER, **overrides):
    response = client.post(
        "/publications", news(who.get("province", "320000"), **overrides), headers=auth(**who)
    )
    assert response.status == 201, response.json
    return response.json


def stored_audit(publication_id):
    return audit.trail("publication", publication_id)


def ids(response):
    assert response.status == 200, response.json
    assert set(response.json) == {"items", "next_cursor"}
    return {p["id"] for p in response.json["items"]}


@pytest.mark.parametrize("kind", ["news", "notice", "policy", "navigation_info"])
def test_a_province_publishes_each_kind_pending_review(client, store, kind):
    store.at("2023-09-30T23:59:59+08:00")
    created = publish(client, kind=kind)
    assert created["kind"] == kind and created["status"] == "pending"
    assert created["filed_at"] == "2023-09-30T23:59:59+08:00" and created["cycle"] == "2021-2023"
    assert created["body"] == news()["body"] and created["title"] == news()["title"]


@pytest.mark.parametrize("who", [USER, EXPERT, FILER_ZJ])
def test_only_the_provinces_own_staff_publish(client, store, who):
    before = stored_items(store)
    assert client.post("/publications", news(), headers=auth(**who)).status == 403
    assert client.post("/publications", news()).status == 401
    assert stored_items(store) == before


@pytest.mark.parametrize(
    "overrides,fields",
    [
        ({"kind": "blog"}, {"kind"}),
        ({"title": ""}, {"title"}),
        ({"body": ""}, {"body"}),
        ({"province": "000000"}, {"province"}),
        ({"author": "me"}, {"author"}),
        ({"kind": "x", "title": "t" * 201}, {"kind", "title"}),
    ],
)
def test_a_bad_publication_is_refused_naming_the_fields(client, store, overrides, fields):
    before = stored_items(store)
    response = client.post("/publications", news(**overrides), headers=auth(**FILER))
    assert response.status in (400, 422)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.json["errors"]} == fields
    assert stored_items(store) == before


def test_review_makes_a_publication_public(client):
    pending, approved = publish(client), publish(client, ADMIN_JS, kind="policy")
    response = client.post(
        f"/publications/{approved['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL)
    )
    assert response.status == 200 and response.json["status"] == "approved"
    assert ids(client.get("/publications")) == {approved["id"]}
    assert client.get(f"/publications/{pending['id']}").status == 404
    assert client.get(f"/publications/{pending['id']}", headers=auth(**FILER_ZJ)).status == 404
    assert client.get(f"/publications/{pending['id']}", headers=auth(**FILER)).status == 200
    assert ids(client.get("/publications", headers=auth(**FILER))) == {pending["id"], approved["id"]}
    assert ids(client.get("/publications", headers=auth(**NATIONAL))) == {pending["id"], approved["id"]}
    assert ids(client.get("/publications?kind=policy")) == {approved["id"]}
    assert ids(client.get("/publications?province=330000")) == set()


@pytest.mark.parametrize("who", [FILER, ADMIN_JS, USER, EXPERT])
def test_only_national_admins_review_publications(client, who):
    created = publish(client)
    assert (
        client.post(
            f"/publications/{created['id']}/review", {"decision": "approve"}, headers=auth(**who)
        ).status
        == 403
    )
    assert client.post(f"/publications/{created['id']}/review", {"decision": "approve"}).status == 401


def test_a_rejected_publication_stays_hidden(client):
    created = publish(client)
    response = client.post(
        f"/publications/{created['id']}/review",
        {"decision": "reject", "note": "重复"},
        headers=auth(**NATIONAL),
    )
    assert response.status == 200 and response.json["review_note"] == "重复"
    assert client.get(f"/publications/{created['id']}").status == 404
    bad = client.post(
        f"/publications/{created['id']}/review", {"decision": "later"}, headers=auth(**NATIONAL)
    )
    assert bad.status == 422 and [e["field"] for e in bad.json["errors"]] == ["decision"]
    assert (
        client.post("/publications/nope/review", {"decision": "approve"}, headers=auth(**NATIONAL)).status
        == 404
    )


# ---- likes, favorites and comments on publications --------------------------------------


def approved_news(client):
    created = publish(client)
    assert (
        client.post(
            f"/publications/{created['id']}/review", {"decision": "approve"}, headers=auth(**NATIONAL)
        ).status
        == 200
    )
    return created


def test_publications_take_likes_favorites_and_comments_counted_per_publication_and_province(pipeline):
    client, settle, store = pipeline
    pub = approved_news(client)
    base = f"/publications/{pub['id']}"
    assert client.put(f"{base}/like", headers=auth(**USER)).json == {"publication": pub["id"], "like": True}
    client.put(f"{base}/like", headers=auth(**USER))  # idempotent
    client.put(f"{base}/like", headers=auth(sub="reader-2", role="user"))
    client.put(f"{base}/favorite", headers=auth(**USER))
    made = client.post(f"{base}/comments", {"text": "及时有用"}, headers=auth(**USER))
    assert made.status == 201 and made.json["publication"] == pub["id"] and "filing" not in made.json
    client.post(f"{base}/comments", {"text": "已转发"}, headers=auth(sub="reader-2", role="user"))
    assert (
        client.delete(f"{base}/comments/{made.json['id']}", headers=auth(sub="reader-2", role="user")).status
        == 403
    )
    assert client.delete(f"{base}/comments/{made.json['id']}", headers=auth(**USER)).status == 204
    client.delete(f"{base}/like", headers=auth(sub="reader-2", role="user"))
    settle()

    stats = client.get(f"{base}/stats").json
    assert (stats["likes"], stats["favorites"], stats["comments"]) == (1, 1, 1)
    assert [c["text"] for c in client.get(f"{base}/comments").json["items"]] == ["已转发"]
    activity = client.get(f"/provinces/320000/activity?cycle={pub['cycle']}").json
    assert {k: activity["publications"][k] for k in ("likes", "favorites", "comments")} == {
        "likes": 1,
        "favorites": 1,
        "comments": 1,
    }
    assert (activity["likes"], activity["comments"]) == (0, 0)  # filings' own counters stay apart
    assert "publication_likes" not in activity["approved"]
    assert running_counters.drift() == []


def test_the_provinces_own_staff_interact_with_its_publications_uncounted(pipeline):
    client, settle, _ = pipeline
    pub = approved_news(client)
    for who in (FILER, ADMIN_JS):
        client.put(f"/publications/{pub['id']}/like", headers=auth(**who))
        client.post(f"/publications/{pub['id']}/comments", {"text": "自评"}, headers=auth(**who))
    client.put(
        f"/publications/{pub['id']}/favorite", headers=auth(**FILER_ZJ)
    )  # another province's staff count
    settle()
    stats = client.get(f"/publications/{pub['id']}/stats").json
    assert (stats["likes"], stats["favorites"], stats["comments"]) == (0, 1, 0)
    assert len(client.get(f"/publications/{pub['id']}/comments").json["items"]) == 2  # shown, not counted
    assert running_counters.drift() == []


def test_a_pending_or_withdrawn_publication_takes_no_interaction(client, store):
    pending = publish(client)
    withdrawn = publish(client)
    assert client.post(f"/publications/{withdrawn['id']}/withdraw", headers=auth(**FILER)).status == 200
    before = stored_items(store)
    for pub, status in ((pending, 404), (withdrawn, 404)):
        assert client.put(f"/publications/{pub['id']}/like", headers=auth(**USER)).status == status
        assert (
            client.post(f"/publications/{pub['id']}/comments", {"text": "x"}, headers=auth(**USER)).status
            == status
        )
        assert client.get(f"/publications/{pub['id']}/comments").status == status
    # The province's own staff see the pending one but cannot hold a like on it before approval.
    assert client.put(f"/publications/{pending['id']}/like", headers=auth(**FILER)).status == 409
    assert client.put(f"/publications/{pending['id']}/like").status == 401
    assert stored_items(store) == before


def test_publication_interactions_appear_in_openapi_for_any_signed_in_caller(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/publications/{publication_id}/like", "/publications/{publication_id}/favorite"):
        assert set(paths[path]) >= {"put", "delete"}
    assert set(paths["/publications/{publication_id}/comments"]) >= {"get", "post"}
    assert "delete" in paths["/publications/{publication_id}/comments/{comment_id}"]


# ---- the national office's own publications ---------------------------------------------


def test_a_national_admin_publishes_for_the_national_office_at_once_and_it_is_on_the_notice_list(pipeline):
    client, settle, store = pipeline
    body = {"kind": "notice", "title": "关于开展2024年度专利导航工作评价的通知", "body": "此件公开发布。"}
    made = client.post("/publications", body, headers=auth(**NATIONAL))
    assert made.status == 201, made.json
    assert (made.json["province"], made.json["status"]) == ("national", "approved")
    named = client.post("/publications", {**body, "province": "national"}, headers=auth(**NATIONAL)).json
    assert named["status"] == "approved"
    assert ids(client.get("/publications?kind=notice")) == {made.json["id"], named["id"]}
    assert ids(client.get("/publications?province=national")) == {made.json["id"], named["id"]}
    assert client.get(f"/publications/{made.json['id']}").status == 200
    trail = stored_audit(made.json["id"])
    assert [(e["action"], e["actor"], e["data"]["published"]) for e in trail] == [
        ("filed", NATIONAL["sub"], True)
    ]
    client.post(
        "/events",
        {
            "events": [
                {
                    "id": "5f0f5a3c-1d3e-4f7a-9b1e-2a9c8d7e6f50",
                    "type": "view",
                    "publication": made.json["id"],
                    "user_agent": "Mozilla/5.0 Chrome/120",
                }
            ]
        },
        headers=auth(**USER),
    )
    client.put(f"/publications/{made.json['id']}/like", headers=auth(**FILER))
    settle()
    stats = client.get(f"/publications/{made.json['id']}/stats").json
    assert (stats["views"]["total"], stats["likes"]) == (1, 1)  # counted on the notice itself
    assert client.get("/activity?cycle=2024").json["items"][0]["province"] != "national"
    assert running_counters.province_cycle("national", "2024") == {}  # it counts for no province
    assert running_counters.drift() == []


def test_a_national_admin_cannot_publish_for_a_province_nor_a_province_for_the_national_office(client, store):
    before = stored_items(store)
    as_province = client.post("/publications", news(), headers=auth(**NATIONAL))
    assert as_province.status == 422 and [e["field"] for e in as_province.json["errors"]] == ["province"]
    for province in (None, "national"):
        body = {k: v for k, v in news(province=province).items() if v is not None}
        answer = client.post("/publications", body, headers=auth(**FILER))
        assert answer.status == 422 and [e["field"] for e in answer.json["errors"]] == ["province"]
    assert client.get("/publications?province=nation").status == 422
    assert stored_items(store) == before
