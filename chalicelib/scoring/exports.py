"""Exports of a scoring run for officials: CSV (UTF-8 with BOM, so Excel reads the Chinese names)
and an .xlsx workbook with a ranking sheet, an indicator breakdown, flags and a native bar chart.

openpyxl is imported only when a workbook is built: it costs import time the API does not
otherwise need.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from chalicelib.core import spreadsheets
from chalicelib.core.messages import Message, text
from chalicelib.scoring import runs


def _columns(header: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, float]]]:
    return list(runs.area_names(header).items()), runs.indicator_names(header)


def _heads(*cells: Message) -> list[str]:
    """Header cells in the answer's language (the English ids are the columns' historic names)."""
    return [text(cell) for cell in cells]


def ranking_rows(loaded: Mapping[str, Any]) -> list[list[Any]]:
    """The ranking table: one header row, then one row per unit, best first."""
    header = loaded["header"]
    areas, indicators = _columns(header)
    head = (
        _heads(Message("rank"), Message("province"), Message("name"), Message("total"))
        + [f"{name} ({aid})" for aid, name in areas]
        + _heads(Message("bonus"), Message("excellent_projects"), Message("total_adjustment"))
        + [f"{name} ({iid})" for _, iid, name, _ in indicators]
        + _heads(Message("flags"))
    )
    rows = [head]
    for r in loaded["results"]:
        rows.append(
            [r["rank"], r["province"], r["name"], r["total"]]
            + [r["areas"].get(aid, 0.0) for aid, _ in areas]
            + [r["bonus"], r["excellent_projects"], r["total_adjustment"]]
            + [r["indicators"][iid]["final"] for _, iid, _, _ in indicators]
            + ["; ".join(f"{f['kind']}: {f['detail']}" for f in r["flags"])]
        )
    return rows


def to_csv(loaded: Mapping[str, Any]) -> bytes:
    """The ranking with every indicator's points, as CSV (every cell inert: core/spreadsheets.py)."""
    return ("\ufeff" + spreadsheets.csv_text(ranking_rows(loaded))).encode("utf-8")


def filename(loaded: Mapping[str, Any], ext: str) -> str:
    return f"scores-{loaded['header']['cycle']}-{loaded['header']['run_id']}.{ext}"


OVERVIEW_COLUMNS = (
    ("province", Message("代码 province")),
    ("name", Message("单位 unit")),
    ("status", Message("状态 status")),
    ("submitted_at", Message("提交时间 submitted_at")),
    ("updated_at", Message("更新时间 updated_at")),
    ("late", Message("逾期 late")),
    ("completeness", Message("完整度 completeness")),
)


def annual_overview_xlsx(overview: Mapping[str, Any]) -> bytes:
    """The national overview of one year's annual forms: one row per unit, reopenings with their reasons
    (a reason is typed text: every cell goes through core/spreadsheets.py)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = f"{overview['year']} 年度信息表"
    spreadsheets.append(
        sheet,
        _heads(
            *(title for _, title in OVERVIEW_COLUMNS),
            Message("重新开放至 reopened_until"),
            Message("理由 reason"),
        ),
    )
    for item in overview["items"]:
        reopened = item["reopened"] or {}
        spreadsheets.append(
            sheet,
            [item[name] for name, _ in OVERVIEW_COLUMNS] + [reopened.get("until"), reopened.get("reason")],
        )
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["B"].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _ranking_sheet(book: Any, header: Mapping[str, Any], areas: list[tuple[str, str]], results: list) -> None:
    """排名: one row per unit, best first, and a native bar chart of the totals."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    ranking = book.active
    ranking.title = "排名"
    spreadsheets.append(
        ranking,
        _heads(Message("名次 rank"), Message("代码 province"), Message("单位 unit"), Message("总分 total"))
        + [name for _, name in areas]
        + _heads(Message("加分 bonus"), Message("人工校验 adjustment"), Message("待核查 flags")),
    )
    for r in results:
        spreadsheets.append(
            ranking,
            [r["rank"], r["province"], r["name"], r["total"]]
            + [r["areas"].get(aid, 0.0) for aid, _ in areas]
            + [r["bonus"], r["total_adjustment"], len(r["flags"])],
        )
    for cell in ranking[1]:
        cell.font = Font(bold=True)
    ranking.column_dimensions["C"].width = 22
    chart = BarChart()
    chart.type = "bar"  # horizontal bars read better with 32 unit names
    chart.title = text(
        Message("%(cycle)s 总分 (run %(run_id)s)", cycle=header["cycle"], run_id=header["run_id"])
    )
    chart.y_axis.title = "总分"
    chart.x_axis.title = "单位"
    chart.height, chart.width = 18, 24
    chart.add_data(Reference(ranking, min_col=4, min_row=1, max_row=len(results) + 1), titles_from_data=True)
    chart.set_categories(Reference(ranking, min_col=3, min_row=2, max_row=len(results) + 1))
    chart.x_axis.scaling.orientation = "maxMin"  # best unit at the top
    ranking.add_chart(chart, "M2")


DETAIL_COLUMNS = (
    Message("代码 province"),
    Message("单位 unit"),
    Message("领域 area"),
    Message("指标 indicator"),
    Message("id"),
    Message("权重 weight"),
    Message("原始值 value"),
    Message("封顶 capped_at"),
    Message("得分率 score"),
    Message("得分 points"),
    Message("人工校验 adjustment"),
    Message("最终 final"),
)


def _detail_sheet(book: Any, areas: list[tuple[str, str]], indicators: list, results: list) -> None:
    """指标明细: one row per unit and indicator."""
    from openpyxl.styles import Font

    detail = book.create_sheet("指标明细")
    spreadsheets.append(detail, _heads(*DETAIL_COLUMNS))
    area_name = dict(areas)
    for r in results:
        for aid, iid, name, weight in indicators:
            i = r["indicators"][iid]
            numbers = [i[k] for k in ("value", "capped_at", "score", "points", "adjustment", "final")]
            spreadsheets.append(
                detail, [r["province"], r["name"], area_name.get(aid, aid), name, iid, weight, *numbers]
            )
    for cell in detail[1]:
        cell.font = Font(bold=True)


def to_xlsx(loaded: Mapping[str, Any]) -> bytes:
    """Workbook: 排名 (ranking + bar chart of totals), 指标明细 (indicator breakdown), 待核查 (flags), 说明 (run).

    Every cell goes through core/spreadsheets.py: text is inert, never a formula."""
    from openpyxl import Workbook

    header = loaded["header"]
    areas, indicators = _columns(header)
    results = loaded["results"]
    book = Workbook()
    _ranking_sheet(book, header, areas, results)
    _detail_sheet(book, areas, indicators, results)

    flagged = book.create_sheet("待核查")
    spreadsheets.append(
        flagged, _heads(Message("代码 province"), Message("单位 unit"), Message("kind"), Message("detail"))
    )
    for r in results:
        for f in r["flags"]:
            spreadsheets.append(flagged, [r["province"], r["name"], f["kind"], f["detail"]])

    about = book.create_sheet("说明")
    published = loaded.get("published")
    for label, value in (
        (Message("run_id"), header["run_id"]),
        (Message("cycle"), header["cycle"]),
        (Message("scheme_version"), header["scheme_version"]),
        (Message("scheme"), header["scheme"]["name"]),
        (Message("provisional"), header["provisional"]),
        (Message("created_at"), header["created_at"]),
        (Message("published"), bool(published and published["run_id"] == header["run_id"])),
    ):
        spreadsheets.append(about, [text(label), value])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
