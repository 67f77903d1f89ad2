"""Answers in the caller's language: a Chinese Accept-Language gets Chinese problems, notifications and
export headers; without one the local stage answers English, exactly as before."""

from __future__ import annotations

import base64
import csv
import io

from openpyxl import load_workbook

from chalicelib.core import spreadsheets, store
from chalicelib.documents import filings
from chalicelib.usage import event_chains
from tests.conftest import auth
from tests.support import FILER, NATIONAL, USER, approved_filing, assert_problem, report_body
from tests.support.scoring import ADMIN, CLOSED, seed_counters
from tests.support.selection import CYCLE, shortlisted
from tests.support.usage import events

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


def test_a_chinese_caller_reads_body_and_parameter_refusals_in_chinese(client):
    headers = {**auth(**FILER), **CHINESE, "Content-Type": "application/json"}
    twice = assert_problem(client.post("/filings", raw=b'{"a": 1, "a": 2}', headers=headers), 400)
    assert (twice["detail"], twice["errors"]) == (
        "请求体重复使用键 'a'",
        [{"field": "a", "message": "键重复"}],
    )
    limit = assert_problem(client.get("/filings?limit=x", headers=CHINESE), 422)
    assert limit["detail"] == "参数 limit 须为 ASCII 数字"
    assert limit["errors"] == [{"field": "limit", "message": "须为 ASCII 数字"}]
    english = assert_problem(client.get("/filings?limit=x"), 422)
    assert (english["detail"], english["errors"][0]["message"]) == (
        "limit must be ASCII digits",
        "must be ASCII digits",
    )


def test_a_chinese_caller_reads_the_expert_panels_refusals_in_chinese(client):
    filing = shortlisted(client)
    path = f"/cycles/{CYCLE}/candidates/{filing['id']}/panel"
    few = assert_problem(
        client.put(path, {"experts": ["expert-1"]}, headers={**auth(**NATIONAL), **CHINESE}), 422
    )
    assert few["detail"] == "无法按所提名单组建专家组"
    assert few["errors"][0] == {"field": "experts", "message": "专家 1 名；专家组至少须有 5 名"}
    twice = client.put(path, {"experts": ["expert-1", "expert-1"]}, headers={**auth(**NATIONAL), **CHINESE})
    assert {"field": "experts", "message": "取值错误：同一专家被列入多次"} in assert_problem(twice, 422)[
        "errors"
    ]


def test_a_chinese_caller_told_to_resend_a_batch_reads_why_in_chinese(client, monkeypatch):
    filing = approved_filing(client)
    monkeypatch.setattr(event_chains, "MAX_ROUNDS", 0)  # every round lost to another writer
    busy = assert_problem(
        client.post("/events", events(filing["id"]), headers={**auth(**USER), **CHINESE}), 503
    )
    assert (busy["title"], busy["detail"]) == ("服务繁忙", "同一点击链的并发写入过多；请重新发送该批次")


def test_a_chinese_caller_reads_the_apps_own_problems_in_chinese(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("no route to DynamoDB")

    monkeypatch.setattr(store, "ping", unreachable)
    assert assert_problem(client.get("/health", headers=CHINESE), 503)["detail"] == "无法连接数据存储"
    stranger = {**CHINESE, "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    refused = assert_problem(client.call("OPTIONS", "/filings", headers=stranger), 403)
    assert refused["detail"] == "该来源不得从浏览器调用本接口"
    monkeypatch.setattr(filings, "list_page", unreachable)
    assert assert_problem(client.get("/filings", headers=CHINESE), 500)["detail"] == "服务器发生内部错误。"
    assert assert_problem(client.get("/filings"), 500)["detail"] == "An internal server error occurred."
