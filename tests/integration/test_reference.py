"""Reference data (provinces, industries, cycles) and the cycle rule, to the second, in China time
whatever the server's own zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from chalicelib.core.clock import CHINA, SystemClock, parse_instant
from chalicelib.core.cycles import cycle_for
from tests.conftest import auth
from tests.support import report_body

# GB/T 2260 codes of the 31 provinces, autonomous regions and municipalities, and the XPCC.
GBT_2260 = {
    "110000": "北京市",
    "120000": "天津市",
    "130000": "河北省",
    "140000": "山西省",
    "150000": "内蒙古自治区",
    "210000": "辽宁省",
    "220000": "吉林省",
    "230000": "黑龙江省",
    "310000": "上海市",
    "320000": "江苏省",
    "330000": "浙江省",
    "340000": "安徽省",
    "350000": "福建省",
    "360000": "江西省",
    "370000": "山东省",
    "410000": "河南省",
    "420000": "湖北省",
    "430000": "湖南省",
    "440000": "广东省",
    "450000": "广西壮族自治区",
    "460000": "海南省",
    "500000": "重庆市",
    "510000": "四川省",
    "520000": "贵州省",
    "530000": "云南省",
    "540000": "西藏自治区",
    "610000": "陕西省",
    "620000": "甘肃省",
    "630000": "青海省",
    "640000": "宁夏回族自治区",
    "650000": "新疆维吾尔自治区",
    "660000": "新疆生产建设兵团",
}
FILER = dict(sub="filer-js", role="filer", province="320000")


@pytest.fixture
def foreign_zone(monkeypatch):
    """Run the test on a server whose local zone is far from China (and restore it after)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_32_evaluated_units_by_gbt_2260_code(client):
    response = client.get("/provinces")
    assert response.status == 200
    items = response.json["items"]
    assert len(items) == 32
    assert {p["code"]: p["name"] for p in items} == GBT_2260
    assert items[0] == {"code": "110000", "name": "北京市"}
    assert {"code": "660000", "name": "新疆生产建设兵团"} in items
    assert "新疆维吾尔自治区" in response.body.decode("utf-8")  # UTF-8, not escapes


def test_industries_are_listed_with_codes_and_every_code_can_tag_a_filing(client):
    response = client.get("/industries")
    assert response.status == 200
    items = response.json["items"]
    assert len(items) >= 1 and all(item["code"] and item["name"] for item in items)
    assert len({item["code"] for item in items}) == len(items)
    for item in items:
        created = client.post("/filings", report_body(industry=item["code"]), headers=auth(**FILER))
        assert created.status == 201 and created.json["industry"] == item["code"]


def test_cycles_list_the_first_long_cycle_then_one_a_year(client, store):
    store.at("2025-10-01T00:00:00+08:00")
    response = client.get("/cycles")
    assert response.status == 200
    cycles = {c["id"]: c for c in response.json["items"]}
    assert list(cycles) == ["2021-2023", "2024", "2025", "2026"]
    assert (cycles["2021-2023"]["start"], cycles["2021-2023"]["end"]) == ("2021-01-01", "2023-09-30")
    assert (cycles["2024"]["start"], cycles["2024"]["end"]) == ("2023-10-01", "2024-09-30")
    assert cycles["2026"]["starts_at"] == "2025-10-01T00:00:00+08:00"
    assert [c["status"] for c in cycles.values()] == ["closed", "closed", "closed", "open"]


@pytest.mark.parametrize(
    "instant,cycle",
    [
        ("2021-01-01T00:00:00+08:00", "2021-2023"),
        ("2023-09-30T23:59:59+08:00", "2021-2023"),
        ("2023-09-30T15:59:59+00:00", "2021-2023"),
        ("2023-10-01T00:00:00+08:00", "2024"),
        ("2023-09-30T16:00:00+00:00", "2024"),
        ("2024-09-30T23:59:59+08:00", "2024"),
        ("2024-10-01T00:00:00+08:00", "2025"),
        ("2024-09-30T12:30:00-04:00", "2025"),  # 2024-10-01 00:30 in China
        ("2028-02-29T12:00:00+08:00", "2028"),
    ],
)
def test_a_filing_belongs_to_the_cycle_holding_its_china_time(client, store, instant, cycle):
    store.at(instant)
    created = client.post("/filings", report_body(), headers=auth(**FILER))
    assert created.status == 201, created.json
    assert created.json["cycle"] == cycle
    assert parse_instant(created.json["filed_at"]) == parse_instant(instant)
    assert created.json["filed_at"].endswith("+08:00")


def test_the_cycle_boundary_holds_on_a_server_outside_china(client, store, foreign_zone):
    assert time.strftime("%z") != "+0800"
    for instant, cycle in (("2023-09-30T23:59:59+08:00", "2021-2023"), ("2023-10-01T00:00:00+08:00", "2024")):
        store.at(instant)
        created = client.post("/filings", report_body(), headers=auth(**FILER))
        assert created.json["cycle"] == cycle
        assert created.json["filed_at"] == instant
    assert cycle_for(SystemClock().now()) == cycle_for(datetime.now(UTC))
    assert parse_instant("2023-10-01T00:00:00").tzinfo == CHINA  # no offset: China time, not the server's


def test_an_unknown_cycle_filter_is_refused(client):
    response = client.get("/filings?cycle=2023")
    assert response.status in (400, 422)
    assert response.json["errors"][0]["field"] == "cycle"
