"""Comments in public: pseudonyms instead of user ids, hiding with a reason (audited), reports by users;
hidden comments leave the counts and the recount agrees."""

from __future__ import annotations

import pytest

from chalicelib.core import pseudonyms
from chalicelib.usage import running_counters
from tests.conftest import auth
from tests.streams import StreamTap, deliver
from tests.support import ADMIN_JS, FILER, NATIONAL, USER, approved_filing, stored_items
from tests.support.documents import approved_publication

ADMIN_ZJ = dict(sub="admin-zj", role="province_admin", province="330000")
READER_2 = dict(sub="reader-2", role="user", side="government")


def commented(client, who=USER, text="很有参考价值"):
    filing = approved_filing(client)
    made = client.post(f"/filings/{filing['id']}/comments", {"text": text}, headers=auth(**who))
    assert made.status == 201, made.json
    return filing, made.json


def test_the_public_sees_a_stable_pseudonym_never_the_user_id(client, store):
    filing, first = commented(client)
    store.clock.advance(seconds=1)  # comments list oldest first
    second = client.post(
        f"/filings/{filing['id']}/comments", {"text": "再补充一点"}, headers=auth(**USER)
    ).json
    store.clock.advance(seconds=1)
    other = client.post(f"/filings/{filing['id']}/comments", {"text": "同意"}, headers=auth(**READER_2)).json
    for who in ({}, auth(**READER_2), auth(**ADMIN_JS)):
        items = client.get(f"/filings/{filing['id']}/comments", headers=who).json["items"]
        assert all("user" not in c and USER["sub"] not in str(c) for c in items)
    names = [c["author_name"] for c in client.get(f"/filings/{filing['id']}/comments").json["items"]]
    assert names[0] == names[1] != names[2] and names[0].startswith("用户-")
    assert first["author_name"] == second["author_name"] != other["author_name"]
    mine = client.get(f"/filings/{filing['id']}/comments", headers=auth(**USER)).json["items"]
    assert [c["mine"] for c in mine] == [True, True, False]
    national = client.get(f"/filings/{filing['id']}/comments", headers=auth(**NATIONAL)).json["items"]
    facts_names = [pseudonyms.of(who["sub"], filing["cycle"]) for who in (USER, USER, READER_2)]
    assert [c["user"] for c in national] == facts_names  # the facts' pseudonym, never the id
    assert not set(names) & set(facts_names)  # and the public name cannot be linked to it


@pytest.mark.parametrize("moderator", [NATIONAL, ADMIN_JS])
def test_a_moderator_hides_a_comment_with_a_reason_it_leaves_the_list_and_the_count(pipeline, moderator):
    client, settle, store = pipeline
    filing, made = commented(client)
    store.clock.advance(seconds=1)
    client.post(f"/filings/{filing['id']}/comments", {"text": "同意"}, headers=auth(**READER_2))
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["comments"] == 2
    hidden = client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/hide",
        {"reason": "含广告信息"},
        headers=auth(**moderator),
    )
    assert hidden.status == 200, hidden.json
    assert hidden.json["hidden"]["reason"] == "含广告信息"
    again = client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/hide",
        {"reason": "另一个理由"},
        headers=auth(**moderator),
    )
    assert again.json["hidden"]["reason"] == "含广告信息"  # hiding twice keeps the first reason
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["comments"] == 1
    assert [c["text"] for c in client.get(f"/filings/{filing['id']}/comments").json["items"]] == ["同意"]
    seen = client.get(f"/filings/{filing['id']}/comments", headers=auth(**moderator)).json["items"]
    assert [c["hidden"] is not None for c in seen] == [True, False]
    trail = client.get(f"/filings/{filing['id']}/history", headers=auth(**NATIONAL)).json
    assert trail  # the filing's own trail is unchanged; the hiding has its own entry:
    from chalicelib.core import audit

    assert [(e["action"], e["actor"], e["data"]["reason"]) for e in audit.trail("comment", made["id"])] == [
        ("hidden", moderator["sub"], "含广告信息")
    ]
    assert running_counters.drift() == []


def test_hidden_publication_comments_leave_the_publication_and_province_counts(pipeline):
    client, settle, _ = pipeline
    pub = approved_publication(client)
    made = client.post(f"/publications/{pub['id']}/comments", {"text": "广告"}, headers=auth(**USER)).json
    settle()
    assert (
        client.post(
            f"/publications/{pub['id']}/comments/{made['id']}/hide",
            {"reason": "广告"},
            headers=auth(**ADMIN_JS),
        ).status
        == 200
    )
    settle()
    assert client.get(f"/publications/{pub['id']}/stats").json["comments"] == 0
    assert (
        client.get(f"/provinces/320000/activity?cycle={pub['cycle']}").json["publications"]["comments"] == 0
    )
    assert running_counters.drift() == []


@pytest.mark.parametrize("who,status", [(ADMIN_ZJ, 403), (USER, 403), (FILER, 403), (None, 401)])
def test_only_national_admins_and_the_records_province_admin_hide(client, store, who, status):
    filing, made = commented(client)
    before = stored_items(store)
    response = client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/hide",
        {"reason": "x"},
        headers=auth(**who) if who else {},
    )
    assert response.status == status
    assert stored_items(store) == before


def test_hiding_needs_a_reason_and_an_existing_comment(client, store):
    filing, made = commented(client)
    before = stored_items(store)
    bad = client.post(f"/filings/{filing['id']}/comments/{made['id']}/hide", {}, headers=auth(**NATIONAL))
    assert bad.status == 422 and [e["field"] for e in bad.json["errors"]] == ["reason"]
    assert (
        client.post(
            f"/filings/{filing['id']}/comments/nope/hide", {"reason": "x"}, headers=auth(**NATIONAL)
        ).status
        == 404
    )
    client.delete(f"/filings/{filing['id']}/comments/{made['id']}", headers=auth(**USER))
    after_delete = stored_items(store)
    assert (
        client.post(
            f"/filings/{filing['id']}/comments/{made['id']}/hide", {"reason": "x"}, headers=auth(**NATIONAL)
        ).status
        == 404
    )
    assert stored_items(store) == after_delete == before


def test_a_user_reports_a_comment_once_and_moderators_see_how_many_reported_it(client):
    filing, made = commented(client)
    path = f"/filings/{filing['id']}/comments/{made['id']}/reports"
    first = client.post(path, {"reason": "人身攻击"}, headers=auth(**READER_2))
    assert first.status == 200 and first.json["first"] is True
    assert client.post(path, {}, headers=auth(**READER_2)).json["first"] is False
    assert client.post(path, {}, headers=auth(**ADMIN_ZJ)).json["first"] is True
    assert client.post(path, {}).status == 401
    assert (
        client.post(f"/filings/{filing['id']}/comments/nope/reports", {}, headers=auth(**USER)).status == 404
    )
    seen = client.get(f"/filings/{filing['id']}/comments", headers=auth(**ADMIN_JS)).json["items"]
    assert seen[0]["reports"] == 2
    public = client.get(f"/filings/{filing['id']}/comments").json["items"]
    assert "reports" not in public[0] and "hidden" not in public[0]


def unhide(client, filing, made, who=NATIONAL, reason="误判，已核实"):
    return client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/unhide", {"reason": reason}, headers=auth(**who)
    )


def hide(client, filing, made, who=NATIONAL):
    answer = client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/hide", {"reason": "广告"}, headers=auth(**who)
    )
    assert answer.status == 200, answer.json


@pytest.mark.parametrize("moderator", [NATIONAL, ADMIN_JS])
def test_a_moderator_unhides_a_comment_with_a_reason_it_returns_to_the_list_and_the_count(
    pipeline, moderator
):
    from chalicelib.core import audit

    client, settle, store = pipeline
    filing, made = commented(client)
    hide(client, filing, made)
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["comments"] == 0
    store.clock.advance(seconds=1)
    shown = unhide(client, filing, made, moderator)
    assert shown.status == 200, shown.json
    assert shown.json["hidden"] is None and shown.json["author_name"] == made["author_name"]
    assert unhide(client, filing, made, moderator).status == 200  # a shown comment: nothing changes
    settle()
    assert client.get(f"/filings/{filing['id']}/stats").json["comments"] == 1
    assert [c["id"] for c in client.get(f"/filings/{filing['id']}/comments").json["items"]] == [made["id"]]
    trail = [(e["action"], e["actor"], e["data"]["reason"]) for e in audit.trail("comment", made["id"])]
    assert trail == [("hidden", NATIONAL["sub"], "广告"), ("unhidden", moderator["sub"], "误判，已核实")]
    assert running_counters.drift() == []


def test_hide_and_unhide_counted_in_any_order_and_twice_leave_the_count_exact(store, client):
    tap = StreamTap(store.stream_arn)

    def count(records):
        return deliver(lambda event: running_counters.handle_stream_batch(event, store.clock.now()), records)

    filing, made = commented(client)
    count(tap.take())
    hide(client, filing, made)
    assert unhide(client, filing, made).status == 200
    hide(client, filing, made)
    assert unhide(client, filing, made).status == 200
    moderation = tap.take()
    count(list(reversed(moderation)) + moderation[:2])  # the newest first, some twice
    count(tap.history)  # every record again
    assert running_counters.filing_stats(filing["id"])["comments"] == 1
    assert running_counters.drift() == []


@pytest.mark.parametrize("who,status", [(ADMIN_ZJ, 403), (USER, 403), (FILER, 403), (None, 401)])
def test_only_the_moderators_who_may_hide_a_comment_unhide_it(client, store, who, status):
    filing, made = commented(client)
    hide(client, filing, made)
    before = stored_items(store)
    answer = client.post(
        f"/filings/{filing['id']}/comments/{made['id']}/unhide",
        {"reason": "x"},
        headers=auth(**who) if who else {},
    )
    assert answer.status == status
    assert stored_items(store) == before


def test_unhiding_needs_a_reason_and_a_comment_not_deleted(client, store):
    filing, made = commented(client)
    hide(client, filing, made)
    before = stored_items(store)
    bad = client.post(f"/filings/{filing['id']}/comments/{made['id']}/unhide", {}, headers=auth(**NATIONAL))
    assert bad.status == 422 and [e["field"] for e in bad.json["errors"]] == ["reason"]
    assert unhide(client, filing, {"id": "nope"}).status == 404
    assert stored_items(store) == before
    client.delete(f"/filings/{filing['id']}/comments/{made['id']}", headers=auth(**NATIONAL))
    after_delete = stored_items(store)
    assert unhide(client, filing, made).status == 404
    assert stored_items(store) == after_delete


def test_an_unhidden_publication_comment_counts_for_the_publication_and_province_again(pipeline):
    client, settle, _ = pipeline
    pub = approved_publication(client)
    made = client.post(f"/publications/{pub['id']}/comments", {"text": "好"}, headers=auth(**USER)).json
    path = f"/publications/{pub['id']}/comments/{made['id']}"
    assert client.post(f"{path}/hide", {"reason": "广告"}, headers=auth(**ADMIN_JS)).status == 200
    assert client.post(f"{path}/unhide", {"reason": "误判"}, headers=auth(**ADMIN_JS)).status == 200
    settle()
    assert client.get(f"/publications/{pub['id']}/stats").json["comments"] == 1
    activity = client.get(f"/provinces/320000/activity?cycle={pub['cycle']}").json
    assert activity["publications"]["comments"] == 1
    assert running_counters.drift() == []
