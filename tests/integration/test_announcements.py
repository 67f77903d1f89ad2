"""Publishing results: the notice (公布), the excellent-project list (通报) with filters, and
corrections by a later run with a written reason; the public sees the newest, history keeps all."""

from __future__ import annotations

import pytest

from tests.conftest import auth
from tests.support import approved_filing
from tests.support.scoring import ADMIN, CLOSED, run, seed_counters


@pytest.fixture
def published(store, client):
    """Cycle 2024 closed, two excellent projects (320000 field 5, 110000 field 3), run 1 published."""
    store.at("2024-05-15T10:00:00+08:00")
    projects = [
        approved_filing(client, "320000", industry="5"),
        approved_filing(client, "110000", industry="3"),
    ]
    store.at(CLOSED)
    for p in projects:
        answer = client.post(
            "/cycles/2024/excellent-projects",
            {"filing": p["id"], "reason": "部际联席会议认定"},
            headers=ADMIN,
        )
        assert answer.status == 201, answer.json
    seed_counters()
    first = run(client).json["run_id"]
    answer = client.post(f"/cycles/2024/scoring-runs/{first}/publish", headers=ADMIN)
    assert answer.status == 200, answer.json
    return {"first": first, "projects": projects}


def test_publishing_posts_a_notice_and_the_list_of_excellent_projects(published, client):
    notice = client.get("/cycles/2024/announcement")
    assert notice.status == 200, notice.json
    body = notice.json
    assert body["run_id"] == published["first"] and body["seq"] == 1 and body["current"] is True
    assert body["supersedes"] is None and "公布" in body["notice"]["title"]
    assert len(body["ranking"]) == 32 and body["ranking"][0]["rank"] == 1
    assert {p["filing"] for p in body["excellent_projects"]} == {p["id"] for p in published["projects"]}
    listed = client.get("/cycles/2024/announcement/excellent-projects").json
    assert len(listed["items"]) == 2 and listed["run_id"] == published["first"]


def test_the_excellent_list_filters_by_field_and_province(published, client):
    by_field = client.get("/cycles/2024/announcement/excellent-projects?industry=3").json["items"]
    assert [p["province"] for p in by_field] == ["110000"]
    by_province = client.get("/cycles/2024/announcement/excellent-projects?province=320000").json["items"]
    assert [p["industry"] for p in by_province] == ["5"]
    assert (
        client.get("/cycles/2024/announcement/excellent-projects?industry=5&province=110000").json["items"]
        == []
    )
    page = client.get("/cycles/2024/announcement/excellent-projects?limit=1").json
    rest = client.get(
        f"/cycles/2024/announcement/excellent-projects?limit=1&cursor={page['next_cursor']}"
    ).json
    assert len(page["items"]) == 1 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert page["items"][0]["filing"] != rest["items"][0]["filing"]


@pytest.mark.parametrize("query, field", [("industry=99", "industry"), ("province=999999", "province")])
def test_an_unknown_filter_is_a_422_problem(published, client, query, field):
    answer = client.get(f"/cycles/2024/announcement/excellent-projects?{query}")
    assert answer.status == 422 and answer.json["errors"][0]["field"] == field


def test_a_later_run_with_a_reason_supersedes_and_the_public_sees_the_newest(published, client):
    seed_counters(scale=50)
    later = run(client).json["run_id"]
    answer = client.post(
        f"/cycles/2024/scoring-runs/{later}/publish", {"reason": "江苏省浏览数据更正"}, headers=ADMIN
    )
    assert answer.status == 200 and answer.json["published"] is True, answer.json
    assert client.get("/cycles/2024/scores").json["run_id"] == later
    newest = client.get("/cycles/2024/announcement").json
    assert newest["run_id"] == later and newest["seq"] == 2 and newest["reason"] == "江苏省浏览数据更正"
    assert newest["supersedes"]["run_id"] == published["first"] and "更正" in newest["notice"]["title"]
    history = client.get("/cycles/2024/announcements").json["items"]
    assert [(h["run_id"], h["current"]) for h in history] == [(later, True), (published["first"], False)]
    runs = client.get("/cycles/2024/scoring-runs", headers=ADMIN).json["items"]
    assert [(r["run_id"], r["published"]) for r in runs] == [(later, True), (published["first"], False)]
    trail = client.get("/cycles/2024/announcements/history", headers=ADMIN).json["items"]
    assert [t["action"] for t in trail] == ["published", "superseded"]
    assert trail[1]["data"]["reason"] == "江苏省浏览数据更正" and trail[1]["actor"] == "admin"


@pytest.mark.parametrize(
    "body, status",
    [
        (None, 409),
        ({}, 409),
        ({"reason": "   "}, 422),
        ({"reason": 5}, 422),
        ({"reason": "x", "extra": 1}, 422),
    ],
)
def test_superseding_without_a_reason_is_refused_and_changes_nothing(published, client, body, status):
    later = run(client).json["run_id"]
    answer = client.post(f"/cycles/2024/scoring-runs/{later}/publish", body, headers=ADMIN)
    assert answer.status == status and answer.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/cycles/2024/scores").json["run_id"] == published["first"]
    assert len(client.get("/cycles/2024/announcements").json["items"]) == 1


def test_an_earlier_run_cannot_supersede_the_published_one(store, client):
    store.at(CLOSED)
    seed_counters()
    first, second = run(client).json["run_id"], run(client).json["run_id"]
    assert client.post(f"/cycles/2024/scoring-runs/{second}/publish", headers=ADMIN).status == 200
    answer = client.post(f"/cycles/2024/scoring-runs/{first}/publish", {"reason": "回退"}, headers=ADMIN)
    assert answer.status == 409 and "not later" in answer.json["detail"]
    assert client.get("/cycles/2024/announcement").json["run_id"] == second


def test_republishing_the_current_run_is_idempotent(published, client):
    again = client.post(
        f"/cycles/2024/scoring-runs/{published['first']}/publish", {"reason": "再次"}, headers=ADMIN
    )
    assert again.status == 200 and again.json["published"] is True
    assert len(client.get("/cycles/2024/announcements").json["items"]) == 1


def test_before_any_publication_there_is_no_announcement(store, client):
    store.at(CLOSED)
    assert client.get("/cycles/2024/announcement").status == 404
    assert client.get("/cycles/2024/announcements").json["items"] == []
    assert client.get("/cycles/1999/announcement").status == 404
    assert client.get("/cycles/2024/announcements/history", headers=auth(role="user")).status == 403


def test_history_pages_with_a_cursor(published, client):
    for reason in ("一", "二"):
        later = run(client).json["run_id"]
        assert (
            client.post(
                f"/cycles/2024/scoring-runs/{later}/publish", {"reason": reason}, headers=ADMIN
            ).status
            == 200
        )
    first = client.get("/cycles/2024/announcements?limit=2").json
    rest = client.get(f"/cycles/2024/announcements?limit=2&cursor={first['next_cursor']}").json
    assert [h["seq"] for h in first["items"] + rest["items"]] == [3, 2, 1] and rest["next_cursor"] is None
    assert first["items"][0]["current"] and not rest["items"][0]["current"]


def test_an_override_is_announced_as_such_with_its_reason(published, client):
    body = client.get("/cycles/2024/announcement").json
    assert all(
        p["source"] == "override" and p["reason"] == "部际联席会议认定" for p in body["excellent_projects"]
    )
    assert "2 项未经专家评选" in body["notice"]["text"]
    trail = client.get("/cycles/2024/excellent-projects", headers=ADMIN).json["items"]
    assert {p["reason"] for p in trail} == {"部际联席会议认定"}


def test_a_revoked_project_loses_its_bonus_in_a_superseding_run(published, client, store):
    from tests.support import stored_items

    jiangsu = published["projects"][0]["id"]
    path = f"/cycles/2024/excellent-projects/{jiangsu}/revoke"
    before = stored_items(store)
    assert client.post(path, {}, headers=ADMIN).status == 422  # a reason is required
    assert (
        client.post(
            path, {"reason": "成果抄袭"}, headers=auth(sub="js", role="province_admin", province="320000")
        ).status
        == 403
    )
    assert (
        client.post("/cycles/2024/excellent-projects/nope/revoke", {"reason": "x"}, headers=ADMIN).status
        == 404
    )
    assert stored_items(store) == before
    answer = client.post(path, {"reason": "成果抄袭"}, headers=ADMIN)
    assert (
        answer.status == 200
        and answer.json["revoked_reason"] == "成果抄袭"
        and answer.json["revoked_by"] == "admin"
    )
    assert client.post(path, {"reason": "again"}, headers=ADMIN).status == 409
    told = client.get(
        "/me/notifications", headers=auth(sub="js", role="province_admin", province="320000")
    ).json
    assert (
        told["items"][0]["topic"] == "excellent_project_revoked" and told["items"][0]["reason"] == "成果抄袭"
    )
    later = run(client).json["run_id"]
    row = next(
        p
        for p in client.get(f"/cycles/2024/scores?run_id={later}", headers=ADMIN).json["provinces"]
        if p["province"] == "320000"
    )
    assert row["excellent_projects"] == 0 and row["bonus"] == 0
    assert client.post(f"/cycles/2024/scoring-runs/{later}/publish", headers=ADMIN).status == 409  # no reason
    corrected = client.post(
        f"/cycles/2024/scoring-runs/{later}/publish", {"reason": "撤销江苏省优秀项目"}, headers=ADMIN
    )
    assert corrected.status == 200, corrected.json
    notice = client.get("/cycles/2024/announcement").json
    assert [p["province"] for p in notice["excellent_projects"]] == ["110000"] and notice[
        "reason"
    ] == "撤销江苏省优秀项目"
    assert jiangsu not in [p["filing"] for p in client.get("/cycles/2024/excellent-projects").json["items"]]
