"""Answers in the caller's language: a Chinese Accept-Language gets Chinese problems, notifications and
export headers; without one the local stage answers English, exactly as before."""

from __future__ import annotations

import csv
import io

from tests.conftest import auth
from tests.support import FILER, NATIONAL, assert_problem, report_body
from tests.support.scoring import ADMIN, CLOSED, seed_counters

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


def test_a_chinese_caller_gets_a_chinese_problem_with_field_names_kept(client):
    answer = client.post("/filings", {**report_body(), "title": None}, headers={**auth(**FILER), **CHINESE})
    problem = assert_problem(answer, 422)
    assert (problem["title"], problem["detail"]) == ("校验未通过", "请求体含有无效字段")
    assert {"field": "title", "message": "输入须为有效字符串"} in problem["errors"]
    assert answer.headers["Content-Language"] == "zh-CN"
    assert "Accept-Language" in answer.headers["Vary"]
    missing = assert_problem(client.get("/filings/nope", headers=CHINESE), 404)
    assert (missing["title"], missing["detail"]) == ("未找到", "没有成果 nope")


def test_a_missing_field_is_field_required_in_english_and_chinese(client):
    body = {k: v for k, v in report_body().items() if k != "kind"}
    english = assert_problem(client.post("/filings", body, headers=auth(**FILER)), 422)
    assert {"field": "kind", "message": "Field required"} in english["errors"]
    chinese = assert_problem(client.post("/filings", body, headers={**auth(**FILER), **CHINESE}), 422)
    assert {"field": "kind", "message": "必填字段"} in chinese["errors"]


def test_english_answers_are_unchanged_and_a_language_free_answer_does_not_vary(client):
    answer = client.get("/filings/nope", headers={"Accept-Language": "en-US"})
    problem = assert_problem(answer, 404)
    assert (problem["title"], problem["detail"]) == ("Not found", "No filing nope")
    assert answer.headers["Content-Language"] == "en"
    default = client.get("/filings/nope", headers={"Accept-Language": "fr"})
    assert assert_problem(default, 404)["detail"] == "No filing nope"  # the local stage's default
    health = client.get("/health", headers=CHINESE)
    assert "Content-Language" not in health.headers


def test_a_review_decision_notification_reads_in_the_callers_language(client):
    filing = client.post("/filings", report_body(), headers=auth(**FILER)).json
    client.post(
        f"/filings/{filing['id']}/review", {"decision": "reject", "note": "补充"}, headers=auth(**NATIONAL)
    )
    chinese = client.get("/me/notifications", headers={**auth(**FILER), **CHINESE})
    told = chinese.json["items"][0]
    assert told["message"]["title"] == "您的成果已审核"
    assert told["message"]["text"].endswith("补充") and told["decision"] == "reject"
    assert chinese.headers["Content-Language"] == "zh-CN"
    english = client.get("/me/notifications", headers=auth(**FILER)).json["items"][0]
    assert english["message"]["title"] == "Your filing was reviewed"
    assert {k: v for k, v in english.items() if k != "message"} == {
        k: v for k, v in told.items() if k != "message"
    }


def test_the_scores_csv_header_follows_the_callers_language(store, client):
    store.at(CLOSED)
    seed_counters()
    client.post("/cycles/2024/scoring-runs", headers=ADMIN)

    def head(headers):
        text = client.get("/cycles/2024/scores.csv", headers=headers).body.decode("utf-8")
        return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))

    assert head(ADMIN)[:4] == ["rank", "province", "name", "total"]
    assert head({**ADMIN, **CHINESE})[:4] == ["名次", "代码", "单位", "总分"]
