"""Usage reports in the shape of COUNTER R5.1 tabular reports, as TSV and xlsx.

A report has the R5.1 header (Report_Name ... Registry_Record, a blank row), then one row
per item and metric with Reporting_Period_Total and one column per month (Mmm-yyyy). The metrics
are the registry's (metrics.py: views are investigations, downloads requests, the contract's v2 names). Numbers come from the
counters the stream keeps per province and month and per filing or publication and month.

openpyxl is imported only when a workbook is built.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.core import cycles, request_parsing, spreadsheets
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import china
from chalicelib.core.errors import Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.reference import PROVINCES
from chalicelib.documents import filings, publications
from chalicelib.usage import counting_rules, metrics, running_counters

RELEASE = "5.1"
PLATFORM = "patentnavi-eval"
MAX_MONTHS = 36
DEFAULT_MONTHS = 12
DEFAULT_BEGIN_TEXT = f"{DEFAULT_MONTHS - 1} months before end"  # what the API docs say `begin` defaults to
# COUNTER Data_Type of each kind of record.
DATA_TYPES = {
    "report": "Report",
    "database": "Database_Full_Item",
    "tool": "Software",
    "application_proof": "Other",
    "news": "News_Item",
    "notice": "Other",
    "policy": "Other",
    "navigation_info": "Other",
}


@dataclass
class Report:
    report_name: str
    report_id: str
    institution: str
    institution_id: str
    months: list[str]  # "YYYY-MM", oldest first
    created: datetime
    rows: list[list[Any]] = field(default_factory=list)  # item, item id, data type, metric, total, months...

    def header(self) -> list[list[Any]]:
        last = self.months[-1]
        end = date(int(last[:4]), int(last[5:]), 1)
        end_day = (date(end.year + end.month // 12, end.month % 12 + 1, 1) - date.resolution).isoformat()
        period = f"Begin_Date={self.months[0]}-01; End_Date={end_day}"
        return [
            ["Report_Name", self.report_name],
            ["Report_ID", self.report_id],
            ["Release", RELEASE],
            ["Institution_Name", self.institution],
            ["Institution_ID", self.institution_id],
            ["Metric_Types", "; ".join(m for m, _ in metrics.REGISTRY.report_metrics)],
            ["Report_Filters", period],
            ["Report_Attributes", ""],
            ["Exceptions", ""],
            ["Reporting_Period", period],
            ["Created", china(self.created).isoformat(timespec="seconds")],
            ["Created_By", PLATFORM],
            ["Registry_Record", ""],
            [],
        ]

    def table(self) -> list[list[Any]]:
        heading = ["Item", "Item_ID", "Platform", "Data_Type", "Metric_Type", "Reporting_Period_Total"]
        heading += [date(int(m[:4]), int(m[5:]), 1).strftime("%b-%Y") for m in self.months]
        return [heading, *self.rows]

    def add(
        self, item: str, item_id: str, data_type: str, by_month: dict[str, dict[str, int]], prefix: str = ""
    ) -> None:
        for metric, name in metrics.REGISTRY.report_metrics:
            counts = [by_month.get(m, {}).get(prefix + name, 0) for m in self.months]
            self.rows.append([item, item_id, PLATFORM, data_type, metric, sum(counts), *counts])


def months(begin: str | None, end: str | None, now: datetime) -> list[str]:
    """The report's months ("YYYY-MM", China time); default the twelve up to this month.

    Each month given lies in the platform's range (cycles.month_range), else a 422 naming it."""
    first, latest = cycles.month_range(now)
    for name, value in (("begin", begin), ("end", end)):
        request_parsing.param(name, value, "month")
        if value is not None and not first <= value <= latest:
            raise Invalid(
                Message(
                    "%(name)s must lie between %(first)s and %(latest)s",
                    name=name,
                    first=first,
                    latest=latest,
                ),
                errors=[
                    {
                        "field": name,
                        "message": Message(
                            "must lie between %(first)s and %(latest)s", first=first, latest=latest
                        ),
                    }
                ],
            )
    this = china(now)
    last = end or f"{this:%Y-%m}"
    if begin is None:
        year, month = int(last[:4]), int(last[5:]) - (DEFAULT_MONTHS - 1)
        while month < 1:
            year, month = year - 1, month + 12
        begin = max(f"{year:04d}-{month:02d}", first)  # the default never reaches before the platform
    out, year, month = [], int(begin[:4]), int(begin[5:])
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if len(out) > MAX_MONTHS:
            raise Invalid(
                Message("A report covers at most %(max_months)s months", max_months=MAX_MONTHS),
                errors=[
                    {
                        "field": "begin",
                        "message": Message("at most %(max_months)s months before end", max_months=MAX_MONTHS),
                    }
                ],
            )
    if not out:
        raise Invalid(
            Message("begin is after end"), errors=[{"field": "begin", "message": Message("after end")}]
        )
    return out


def _by_month(pk: str) -> dict[str, dict[str, int]]:
    return running_counters.months(pk)


def province_report(
    caller: Caller | None, province: str, begin: str | None, end: str | None, now: datetime
) -> Report:
    """A province's filings and publications, month by month (its staff and national admins)."""
    if province not in PROVINCES:
        raise NotFound(Message("No provincial unit %(province)s", province=province))
    caller = require(caller)
    if not caller.sees_all_of(province):
        raise Forbidden(Message("Only the province's own staff and national admins read its usage report"))
    report = Report("Platform Report", "PR", PROVINCES[province], province, months(begin, end, now), now)
    by_month = _by_month(counting_rules.month_key(province, now)[0])
    report.add(f"{PROVINCES[province]} 备案成果", province, "Other", by_month)
    report.add(
        f"{PROVINCES[province]} 发布信息",
        province,
        "News_Item",
        by_month,
        metrics.REGISTRY.publication_prefix,
    )
    return report


def item_report(
    caller: Caller | None, kind: str, item_id: str, begin: str | None, end: str | None, now: datetime
) -> Report:
    """One filing's or publication's usage, month by month (whoever may see it)."""
    doc = (filings if kind == "filing" else publications).get(caller, item_id)
    report = Report(
        "Item Report",
        "IR",
        PROVINCES.get(doc.province, doc.province),
        doc.province,
        months(begin, end, now),
        now,
    )
    report.add(
        doc.title,
        doc.id,
        DATA_TYPES.get(doc.kind, "Other"),
        _by_month(counting_rules.item_month_key(kind, doc.id, now)[0]),
    )
    return report


def to_tsv(report: Report) -> str:
    return spreadsheets.tsv_text(report.header() + report.table())


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = report.report_id
    for row in report.header() + report.table():
        spreadsheets.append(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(report: Report, extension: str) -> str:
    return f"{report.report_id}_{report.institution_id}_{report.months[0]}_{report.months[-1]}.{extension}"
