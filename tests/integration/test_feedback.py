"""Feedback reaches the province: a filing's evaluations and the province-wide feed of 意见建议."""

from __future__ import annotations

from chalicelib.core import pseudonyms
from tests.conftest import auth
from tests.support import approved_filing

FILER = dict(sub="filer-320000", role="filer", province="320000")
ADMIN = dict(sub="admin", role="national_admin")


def evaluate(client, filing_id, sub, side, score, feedback=None, **who):
    body = {"score": score} if feedback is None else {"score": score, "feedback": feedback}
    answer = client.put(
        f"/filings/{filing_id}/evaluation", body, headers=auth(sub=sub, role="user", side=side, **who)
    )
    assert answer.status == 200, answer.json


def test_the_filings_province_reads_its_evaluations_page_by_page(client):
    filing = approved_filing(client)
    for n, side in enumerate(("enterprise", "university", "government")):
        evaluate(client, filing["id"], f"u{n}", side, 3 + n % 3, f"希望补充第{n}章数据")
    path = f"/filings/{filing['id']}/evaluations"
    first = client.get(f"{path}?limit=2", headers=auth(**FILER)).json
    assert len(first["items"]) == 2 and "user" not in first["items"][0]
    rest = client.get(f"{path}?limit=2&cursor={first['next_cursor']}", headers=auth(**FILER)).json
    assert rest["next_cursor"] is None
    notes = {e["feedback"] for e in first["items"] + rest["items"]}
    assert notes == {f"希望补充第{n}章数据" for n in range(3)}
    # national admins tell evaluators apart by their pseudonym in the filing's cycle, never by id
    assert {e["user"] for e in client.get(path, headers=auth(**ADMIN)).json["items"]} == {
        pseudonyms.of(f"u{n}", filing["cycle"]) for n in range(3)
    }


def test_other_provinces_and_users_cannot_read_a_filings_evaluations(client):
    filing = approved_filing(client)
    path = f"/filings/{filing['id']}/evaluations"
    assert client.get(path, headers=auth(sub="f", role="filer", province="110000")).status == 403
    assert client.get(path, headers=auth(sub="u", role="user")).status == 403
    assert client.get(path).status == 401


def test_the_province_feed_lists_feedback_newest_first_filtered_by_industry_and_side(client, store):
    energy = approved_filing(client, industry="5")
    other = approved_filing(client, industry="7", title="生物医药专利导航")
    evaluate(client, energy["id"], "e1", "enterprise", 4, "需要海外专利布局分析")
    store.clock.advance(seconds=60)
    evaluate(client, other["id"], "g1", "government", 5, "建议纳入地方产业规划")
    store.clock.advance(seconds=60)
    evaluate(client, energy["id"], "u1", "university", 3)  # no feedback: not in the feed
    evaluate(client, energy["id"], "filer-320000", "enterprise", 5, "自评", province="320000")  # not a user
    feed = client.get("/provinces/320000/feedback", headers=auth(**FILER)).json["items"]
    assert [e["feedback"] for e in feed] == ["建议纳入地方产业规划", "需要海外专利布局分析"]
    by_industry = client.get("/provinces/320000/feedback?industry=5", headers=auth(**FILER)).json["items"]
    assert [e["feedback"] for e in by_industry] == ["需要海外专利布局分析"]
    by_side = client.get("/provinces/320000/feedback?side=government", headers=auth(**ADMIN)).json["items"]
    assert [(e["feedback"], e["user"]) for e in by_side] == [
        ("建议纳入地方产业规划", pseudonyms.of("g1", other["cycle"]))
    ]
    store.clock.advance(seconds=60)
    evaluate(client, energy["id"], "e1", "enterprise", 5, "已补充，感谢")  # a replaced evaluation moves up
    feed = client.get("/provinces/320000/feedback", headers=auth(**FILER)).json["items"]
    assert [e["feedback"] for e in feed] == ["已补充，感谢", "建议纳入地方产业规划"]


def test_the_province_feed_refuses_outsiders_and_unknown_filters(client):
    assert (
        client.get(
            "/provinces/320000/feedback", headers=auth(sub="f", role="filer", province="110000")
        ).status
        == 403
    )
    assert client.get("/provinces/999999/feedback", headers=auth(**ADMIN)).status == 404
    bad = client.get("/provinces/320000/feedback?side=alien", headers=auth(**ADMIN))
    assert bad.status == 422 and bad.json["errors"][0]["field"] == "side"
