"""Answers in the caller's language: a Chinese Accept-Language gets Chinese problems, notifications and
export headers; without one the local stage answers English, exactly as before."""

from __future__ import annotations

import base64
import csv
import io

from openpyxl import load_workbook

from chalicelib.core import spreadsheets
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

    assert _csv_rows(client, "/cycles/2024/scores.csv", ADMIN)[0][:4] == ["rank", "province", "name", "total"]
    assert _csv_rows(client, "/cycles/2024/scores.csv", {**ADMIN, **CHINESE})[0][:4] == [
        "名次",
        "代码",
        "单位",
        "总分",
    ]


def _csv_rows(client, path: str, headers: dict) -> list[list[str]]:
    answer = client.get(path, headers=headers)
    assert answer.status == 200, answer.body
    return list(csv.reader(io.StringIO(answer.body.decode("utf-8").lstrip("\ufeff"))))


def test_a_populations_scores_exports_and_refusals_read_in_chinese(store, client):
    bases = "/populations/service_bases"
    store.at(CLOSED)
    empty = assert_problem(
        client.post(f"{bases}/cycles/2024/scoring-runs", headers={**ADMIN, **CHINESE}), 409
    )
    assert empty["detail"] == "service_bases 没有可评分的登记单位"
    unit = {"code": "SB-JS", "name": "江苏服务基地", "province": "320000"}
    assert client.post(f"{bases}/units", unit, headers=ADMIN).status == 201
    assert client.post(f"{bases}/cycles/2024/scoring-runs", headers=ADMIN).status == 201
    head, row = _csv_rows(client, f"{bases}/cycles/2024/scores.csv", {**ADMIN, **CHINESE})
    assert head[:4] == ["名次", "代码", "单位", "总分"] and row[1:3] == ["SB-JS", "江苏服务基地"]
    assert _csv_rows(client, f"{bases}/cycles/2024/scores.csv", ADMIN)[0][:4] == [
        "rank",
        "province",
        "name",
        "total",
    ]
    xlsx = {**ADMIN, **CHINESE, "Accept": spreadsheets.XLSX_TYPE}
    book = load_workbook(io.BytesIO(client.get(f"{bases}/cycles/2024/scores.xlsx", headers=xlsx).body))
    assert [c.value for c in book["排名"][1]][:4] == ["名次", "代码", "单位", "总分"]
    assert [c.value for c in book["待核查"][1]] == ["代码", "单位", "类型", "详情"]
    assert [book["说明"].cell(row=1, column=c).value for c in (1, 2)][0] == "评分编号"
    unknown = assert_problem(client.get("/populations/nope/cycles/2024/scores", headers=CHINESE), 404)
    assert unknown["detail"] == "没有评价对象类别 nope；请参见 /populations"


def test_a_chinese_import_dry_run_names_each_rows_problem_in_chinese(client):
    template = _csv_rows(client, "/filings/import-template.csv", CHINESE)
    assert template[1][0].startswith("必填：本行的本省自编编号")  # the help row under the column names
    columns, help_row, example = template
    rows = [example, [*example[:3], "110000", *example[4:]], ["JS-2021-002", "", *example[2:]]]
    content = base64.b64encode(spreadsheets.csv_text([columns, help_row, *rows]).encode()).decode()
    answer = client.post(
        "/filings/imports",
        {"format": "csv", "content_base64": content, "dry_run": True},
        headers={**auth(**FILER), **CHINESE},
    )
    assert answer.status == 200 and answer.headers["Content-Language"] == "zh-CN", answer.json
    assert [(p["row"], p["field"], p["message"]) for p in answer.json["problems"]] == [
        (4, "reference", "与第 3 行重复"),
        (4, "province", "只能为本省备案"),
        (5, "kind", "必填字段"),
    ]
