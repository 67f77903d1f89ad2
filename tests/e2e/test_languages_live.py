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
