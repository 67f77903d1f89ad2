"""On the live stack a Chinese Accept-Language gets a Chinese problem; without one, English as before."""

from __future__ import annotations

from tests.support import live_problem, report_body

CHINESE = {"Accept-Language": "zh-CN"}


def test_over_http_a_chinese_caller_gets_a_chinese_problem(api):
    token = api.token("filer", province="320000")
    answer = api.post("/filings", {**report_body(), "kind": None}, token=token, headers=CHINESE)
    problem = live_problem(answer, 422)
    assert (problem["title"], problem["detail"]) == ("校验未通过", "请求体含有无效字段")
    [kind] = [e for e in problem["errors"] if e["field"] == "kind"]  # the field keeps its machine name
    assert kind["message"].startswith("输入须为")
    assert answer.headers["Content-Language"] == "zh-CN" and "Accept-Language" in answer.headers["Vary"]
    missing = live_problem(api.get("/filings/nope", headers=CHINESE), 404)
    assert (missing["title"], missing["detail"]) == ("未找到", "没有成果 nope")
    english = live_problem(api.get("/filings/nope"), 404)
    assert (english["title"], english["detail"]) == ("Not found", "No filing nope")


def test_over_http_the_gateways_own_problems_read_in_the_callers_language(api):
    missing = api.get("/no/such/thing", headers=CHINESE)
    problem = live_problem(missing, 404)
    assert (problem["title"], problem["detail"]) == ("未找到", "没有资源：GET /no/such/thing")
    assert missing.headers["Content-Language"] == "zh-CN" and "Accept-Language" in missing.headers["Vary"]
    english = live_problem(api.get("/no/such/thing"), 404)
    assert (english["title"], english["detail"]) == ("Not found", "No resource at GET /no/such/thing")
    unknown = live_problem(api.call("TRACE", "/filings", headers=CHINESE), 405)
    assert (unknown["title"], unknown["detail"]) == ("不允许的方法", "此处不支持 TRACE 方法；请参见 Allow")
    assert live_problem(api.call("TRACE", "/filings"), 405)["detail"] == "TRACE is not served here; see Allow"


def test_over_http_a_refused_header_block_answers_in_the_stages_default_language(api):
    # Its Accept-Language is among the headers that could not be read.
    answer = api.get("/filings", headers={**CHINESE, "X-Padding": "a" * 80_000})
    problem = live_problem(answer, 431)
    assert (problem["title"], problem["detail"]) == ("Request header fields too large", "Line too long")
    assert answer.headers["Content-Language"] == "en"
