"""Reference data: the 32 evaluated provincial units and the industry fields.

Provinces use GB/T 2260 codes; the XPCC (新疆生产建设兵团) is evaluated as a unit of
its own under 660000. Industry fields are the nine first-level categories of the
national statistics bureau's 《战略性新兴产业分类（2018）》 (国家统计局令第23号),
the classification patent-navigation projects are organised around.
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
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

INDUSTRY_CLASSIFICATION = "战略性新兴产业分类（2018）(国家统计局令第23号), first level"

INDUSTRIES: dict[str, dict[str, str]] = {
    "1": {"name": "新一代信息技术产业", "name_en": "New-generation information technology"},
    "2": {"name": "高端装备制造产业", "name_en": "High-end equipment manufacturing"},
    "3": {"name": "新材料产业", "name_en": "New materials"},
    "4": {"name": "生物产业", "name_en": "Biotechnology"},
    "5": {"name": "新能源汽车产业", "name_en": "New-energy vehicles"},
    "6": {"name": "新能源产业", "name_en": "New energy"},
    "7": {"name": "节能环保产业", "name_en": "Energy saving and environmental protection"},
    "8": {"name": "数字创意产业", "name_en": "Digital creative industries"},
    "9": {"name": "相关服务业", "name_en": "Related services"},
}


def province_list() -> list[dict[str, str]]:
    """The 32 units in code order."""
    return [{"code": code, "name": name} for code, name in PROVINCES.items()]


def industry_list() -> list[dict[str, str]]:
    """The industry fields in code order."""
    return [{"code": code, **names} for code, names in INDUSTRIES.items()]
