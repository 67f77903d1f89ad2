"""The COUNTER_SUSHI 5.1 API: reports valid against the COUNTER schema, equal to the TSV reports,
and SUSHI Exceptions (never a 5xx) for what cannot be answered."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import auth
from tests.support.documents import BROWSER, attached_filing
from tests.support.sushi import schema_errors
from tests.support.usage import view

USER = dict(sub="reader-1", role="user", side="enterprise")
FILER = dict(sub="filer-320000", role="filer", province="320000")
OTHER = dict(sub="filer-110000", role="filer", province="110000")
ADMIN = dict(sub="admin", role="national_admin")


def valid(document, model: str) -> None:
    assert schema_errors(document, model) == []


@pytest.fixture
def usage(client, settle, store):
    """A filing viewed in March and April 2024 and downloaded in April, a news item viewed in April; now June."""
    filing, file = attached_filing(client)
    news = client.post(
        "/publications",
        {"kind": "news", "title": "新闻", "province": "320000", "body": "正文"},
        headers=auth(**FILER),
    ).json
    client.post(f"/publications/{news['id']}/review", {"decision": "approve"}, headers=auth(**ADMIN))
    store.at("2024-03-10T10:00:00+08:00")
    view(client, USER, filing=filing["id"])
    store.at("2024-04-10T10:00:00+08:00")
    view(client, USER, filing=filing["id"])
    view(client, USER, publication=news["id"])
    client.get(file["links"]["download"], headers={**auth(**USER), "User-Agent": BROWSER})
    settle()
    store.at("2024-06-02T10:00:00+08:00")
    return filing, news


def tsv_table(client, path: str) -> dict[tuple[str, str], list[int]]:
    """(item id, data type, metric) -> monthly counts of a TSV usage report."""
    body = client.get(path, headers=auth(**FILER)).body
    rows = list(csv.reader(io.StringIO(body.decode() if isinstance(body, bytes) else body), delimiter="\t"))
    return {(r[1], r[3], r[4]): [int(n) for n in r[6:]] for r in rows[15:] if r}


def sushi_table(items, months: list[str]) -> dict[tuple[str, str], list[int]]:
    out = {}
    for item in items:
        item_id = item.get("Item_ID", {}).get("Proprietary", "patentnavi:320000").split(":", 1)[1]
        for attribute in item["Attribute_Performance"]:
            for metric, counts in attribute["Performance"].items():
                row = out.setdefault((item_id, attribute["Data_Type"], metric), [0] * len(months))
                for i, month in enumerate(months):
                    row[i] += counts.get(month, 0)
    return out


def nonzero(table):
    return {k: v for k, v in table.items() if any(v)}


def test_the_platform_report_validates_and_has_the_numbers_of_the_tsv_report(client, usage):
    answer = client.get(
        "/sushi/r51/reports/pr?customer_id=320000&begin_date=2024-03-01&end_date=2024-04-30"
        "&attributes_to_show=Access_Method",
        headers=auth(**FILER),
    )
    assert answer.status == 200
    valid(answer.json, "PR")
    header = answer.json["Report_Header"]
    assert header["Report_Filters"] == {"Begin_Date": "2024-03-01", "End_Date": "2024-04-30"}
    assert header["Institution_ID"] == {"Proprietary": ["patentnavi:320000"]} and "Exceptions" not in header
    tsv = tsv_table(client, "/provinces/320000/usage-report.tsv?begin=2024-03&end=2024-04")
    table = sushi_table(answer.json["Report_Items"], ["2024-03", "2024-04"])
    assert nonzero(tsv) == table and table[("320000", "Other", "Total_Item_Investigations")] == [1, 1]
    types = [a["Data_Type"] for a in answer.json["Report_Items"][0]["Attribute_Performance"]]
    assert sorted(types) == ["News_Item", "Other"]


def test_the_item_report_lists_each_item_with_the_numbers_of_its_tsv_report(client, usage):
    filing, news = usage
    answer = client.get(
        "/sushi/r51/reports/ir?customer_id=320000&begin_date=2024-03&end_date=2024-04", headers=auth(**ADMIN)
    )
    assert answer.status == 200
    valid(answer.json, "IR")
    table = sushi_table(answer.json["Report_Items"][0]["Items"], ["2024-03", "2024-04"])
    expected = {}
    for kind, doc in (("filings", filing), ("publications", news)):
        expected.update(
            nonzero(tsv_table(client, f"/{kind}/{doc['id']}/usage-report.tsv?begin=2024-03&end=2024-04"))
        )
    assert table == expected and table[(filing["id"], "Report", "Total_Item_Requests")] == [0, 1]
    one = client.get(
        f"/sushi/r51/reports/ir?customer_id=320000&begin_date=2024-03&end_date=2024-04"
        f"&item_id=patentnavi:{news['id']}",
        headers=auth(**FILER),
    ).json
    valid(one, "IR")
    assert [i["Item_ID"]["Proprietary"] for i in one["Report_Items"][0]["Items"]] == [
        f"patentnavi:{news['id']}"
    ]


def test_filters_narrow_the_report_and_unknown_ones_are_noted_not_fatal(client, usage):
    answer = client.get(
        "/sushi/r51/reports/pr?customer_id=320000&begin_date=2024-03&end_date=2024-04"
        "&metric_type=Total_Item_Requests|Unique_Item_Requests|Bogus&data_type=Other"
        "&colour=blue&granularity=Totals",
        headers=auth(**FILER),
    )
    assert answer.status == 200
    valid(answer.json, "PR")
    codes = {e["Code"]: e.get("Data") for e in answer.json["Report_Header"]["Exceptions"]}
    assert codes == {3050: "colour", 3060: "metric_type: Bogus", 3062: "granularity=Totals"}
    performances = answer.json["Report_Items"][0]["Attribute_Performance"]
    assert [(p["Data_Type"], sorted(p["Performance"])) for p in performances] == [
        ("Other", ["Total_Item_Requests", "Unique_Item_Requests"])
    ]
    assert answer.json["Report_Header"]["Report_Filters"]["Metric_Type"] == [
        "Total_Item_Requests",
        "Unique_Item_Requests",
    ]


def test_a_period_reaching_into_this_month_is_cut_to_the_last_complete_month(client, usage):
    answer = client.get(
        "/sushi/r51/reports/pr?customer_id=320000&begin_date=2024-04&end_date=2024-07", headers=auth(**FILER)
    )
    assert answer.status == 200
    valid(answer.json, "PR")
    header = answer.json["Report_Header"]
    assert header["Report_Filters"]["End_Date"] == "2024-05-31"
    assert [e["Code"] for e in header["Exceptions"]] == [3031]


def test_a_period_without_usage_answers_3030_with_no_items(client, usage):
    answer = client.get(
        "/sushi/r51/reports/pr?customer_id=320000&begin_date=2023-01&end_date=2023-02", headers=auth(**FILER)
    )
    assert answer.status == 200 and answer.json["Report_Items"] == []
    valid(answer.json, "PR")
    assert [e["Code"] for e in answer.json["Report_Header"]["Exceptions"]] == [3030]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("customer_id=320000", 400, 1030),
        ("customer_id=320000&begin_date=2024-03", 400, 1030),
        ("begin_date=2024-03&end_date=2024-04", 400, 1030),
        ("customer_id=320000&begin_date=2024-13&end_date=2024-04", 400, 3020),
        ("customer_id=320000&begin_date=2024-02-30&end_date=2024-04", 400, 3020),
        ("customer_id=320000&begin_date=2024-04&end_date=2024-03", 400, 3020),
        ("customer_id=320000&begin_date=2024-06&end_date=2024-07", 400, 3020),
        ("customer_id=320000&begin_date=2019-01&end_date=2024-04", 400, 3020),
        ("customer_id=110000&begin_date=2024-03&end_date=2024-04", 403, 2010),
        ("customer_id=999999&begin_date=2024-03&end_date=2024-04", 403, 2010),
        ("customer_id=%E2%80%AE&begin_date=%00&end_date=x", 403, 2010),
    ],
)
def test_requests_that_cannot_be_answered_get_one_sushi_exception(client, store, query, status, code):
    store.at("2024-06-02T10:00:00+08:00")
    for report in ("pr", "ir"):
        answer = client.get(f"/sushi/r51/reports/{report}?{query}", headers=auth(**FILER))
        assert answer.status == status and answer.json["Code"] == code
        valid(answer.json, f"Error_{status}")


def test_harvesting_needs_a_token_of_the_provinces_staff_or_a_national_admin(client, store):
    query = "customer_id=320000&begin_date=2024-03&end_date=2024-04"
    anonymous = client.get(f"/sushi/r51/reports/pr?{query}")
    assert anonymous.status == 401 and anonymous.json["Code"] == 2000
    bad = client.get(f"/sushi/r51/reports/pr?{query}", headers={"Authorization": "Bearer nonsense"})
    assert bad.status == 401 and bad.json["Code"] == 2000
    for who in (USER, OTHER):
        answer = client.get(f"/sushi/r51/reports/pr?{query}", headers=auth(**who))
        assert answer.status == 403 and answer.json["Code"] == 2010
    assert client.get(f"/sushi/r51/reports/pr?{query}", headers=auth(**ADMIN)).status == 200


def test_status_is_public_and_members_and_reports_describe_what_may_be_harvested(client, usage):
    status = client.get("/sushi/r51/status")
    assert status.status == 200 and status.json[0]["Service_Active"] is True
    valid(status.json, "Status_List")
    own = client.get("/sushi/r51/members?customer_id=320000", headers=auth(**FILER)).json
    valid(own, "Member_List")
    assert [m["Customer_ID"] for m in own] == ["320000"]
    everyone = client.get("/sushi/r51/members?customer_id=any", headers=auth(**ADMIN)).json
    assert len(everyone) == 32
    assert client.get("/sushi/r51/members?customer_id=x", headers=auth(**USER)).json["Code"] == 2010
    reports = client.get("/sushi/r51/reports?customer_id=320000", headers=auth(**FILER))
    assert reports.status == 200
    valid(reports.json, "Report_List")
    assert [
        (r["Report_ID"], r["First_Month_Available"], r["Last_Month_Available"]) for r in reports.json
    ] == [("PR", "2024-03", "2024-05"), ("IR", "2024-03", "2024-05")]


def test_the_sushi_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("status", "members", "reports", "reports/pr", "reports/ir"):
        assert "get" in paths[f"/sushi/r51/{path}"]
