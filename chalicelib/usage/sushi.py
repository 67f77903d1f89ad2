"""The COUNTER_SUSHI API 5.1 (JSON) over the same reports as the TSV/xlsx usage reports.

Harvesters (OJS, DSpace, Celus...) call `/sushi/r51/...` with a bearer token. Each report is
built by `usage_reports` (same counters, same rows) and reshaped into the R5.1 JSON: a
Report_Header and Report_Items whose Performance holds the non-zero months. Refusals are
SUSHI Exceptions (Code, Message, Data), never problems: harvesters read those. Customer IDs
are province codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.core.auth import Caller
from chalicelib.core.clock import china
from chalicelib.core.errors import Forbidden, Invalid, NotFound, Problem, Unauthorized
from chalicelib.core.paging import MAX_LIMIT
from chalicelib.core.reference import PROVINCES
from chalicelib.documents import filings, publications
from chalicelib.usage import metrics as usage_metrics
from chalicelib.usage import running_counters, usage_reports

BASE = "/sushi/r51"
NAMESPACE = "patentnavi"  # Proprietary identifiers are "patentnavi:<id>" (COUNTER's namespace pattern)
ACCESS_METHODS = ("Regular", "TDM")  # we have only Regular usage; TDM is a valid filter that finds nothing
GRANULARITIES = ("Month", "Totals")
ATTRIBUTES = {"pr": ("Access_Method",), "ir": ("Access_Method",)}
COMMON_PARAMS = {"customer_id", "requestor_id", "api_key", "platform"}
REPORT_PARAMS = {
    "begin_date",
    "end_date",
    "metric_type",
    "data_type",
    "access_method",
    "attributes_to_show",
    "granularity",
}
PARAMS = {"pr": COMMON_PARAMS | REPORT_PARAMS, "ir": COMMON_PARAMS | REPORT_PARAMS | {"item_id"}}
# The Messages are fixed by the COUNTER Code of Practice R5.1, Appendix D (one per Code).
MESSAGES = {
    1030: "Insufficient Information to Process Request",
    2000: "Requestor Not Authorized to Access Service",
    2010: "Requestor is Not Authorized to Access Usage for Institution",
    3020: "Invalid Date Arguments",
    3030: "No Usage Available for Requested Dates",
    3031: "Usage Not Ready for Requested Dates",
    3050: "Parameter Not Recognized in this Context",
    3060: "Invalid ReportFilter Value",
    3062: "Invalid ReportAttribute Value",
}
STATUS_OF = {1030: 400, 2000: 401, 2010: 403, 3020: 400}
REPORTS = (
    (
        "pr",
        "Platform Report",
        "PR",
        "A province's views (investigations) and downloads (requests) of its filings "
        "and publications, month by month.",
    ),
    ("ir", "Item Report", "IR", "Each filing's and publication's views and downloads, month by month."),
)
_DATE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])(?:-([0-9]{2}))?")


def exception(code: int, data: str | None = None) -> dict[str, Any]:
    """One SUSHI Exception object."""
    body: dict[str, Any] = {"Code": code, "Message": MESSAGES[code]}
    if data:
        body["Data"] = data
    return body


# What the OpenAPI document says SUSHI answers: lists (status, members, reports) and, for every refusal,
# an Exception (Code, Message, Data) as application/json, as COUNTER_SUSHI 5.1 specifies, not a problem.
LIST_SCHEMA = {"type": "array", "items": {"type": "object"}}
EXCEPTION_SCHEMA = {
    "type": "object",
    "required": ["Code", "Message"],
    "properties": {"Code": {"type": "integer"}, "Message": {"type": "string"}, "Data": {"type": "string"}},
}


class SushiError(Exception):
    """A request the server cannot answer with a report: one Exception and a non-200 status."""

    def __init__(self, code: int, data: str | None = None):
        super().__init__(f"{code} {MESSAGES[code]}")
        self.status = STATUS_OF[code]
        self.body = exception(code, data)


def _translated(call: Callable[[], Any]) -> Any:
    """Run a domain call; its problems become the SUSHI Exceptions harvesters understand."""
    try:
        return call()
    except Unauthorized as problem:
        raise SushiError(2000, problem.detail) from None
    except (Forbidden, NotFound) as problem:  # an unknown customer is not told apart from a foreign one
        raise SushiError(2010, problem.detail) from None
    except Invalid as problem:
        raise SushiError(3020, problem.detail) from None


def _customer(caller: Caller | None, params: Mapping[str, str]) -> tuple[Caller, str]:
    if caller is None:
        raise SushiError(2000, "Send a bearer token (Authorization header)")
    customer = params.get("customer_id")
    if not customer:
        raise SushiError(1030, "customer_id is required (a province code, see /sushi/r51/members)")
    if customer not in PROVINCES or not caller.sees_all_of(customer):
        raise SushiError(2010, f"customer_id {customer[:16]!r}")
    return caller, customer


def status() -> list[dict[str, Any]]:
    """Server status: public, as the specification requires."""
    return [
        {
            "Description": "patentnavi-eval COUNTER_SUSHI API (COUNTER R5.1)",
            "Service_Active": True,
            "Registry_Record": "",
        }
    ]


def members(caller: Caller | None, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The provincial units the caller may harvest (all 32 for national admins, else their own)."""
    if caller is None:
        raise SushiError(2000, "Send a bearer token (Authorization header)")
    if not params.get("customer_id"):
        raise SushiError(1030, "customer_id is required")
    visible = [code for code in PROVINCES if caller.sees_all_of(code)]
    if not visible:
        raise SushiError(2010, "Only province staff and national admins harvest usage")
    return [
        {"Customer_ID": code, "Name": PROVINCES[code], "Institution_ID": _institution(code)}
        for code in visible
    ]


def reports(caller: Caller | None, params: Mapping[str, str], now: datetime) -> list[dict[str, Any]]:
    """The reports offered to the customer, with the months that can be harvested."""
    caller, customer = _customer(caller, params)
    last = _previous_month(now)
    months = sorted(m for m in running_counters.province_months(customer) if m <= last)
    first = months[0] if months else last
    return [
        {
            "Report_Name": name,
            "Report_ID": report_id,
            "Release": usage_reports.RELEASE,
            "Report_Description": text,
            "Path": f"{BASE}/reports/{path}",
            "First_Month_Available": first,
            "Last_Month_Available": last,
        }
        for path, name, report_id, text in REPORTS
    ]


@dataclass
class _Request:
    begin: str  # "YYYY-MM"
    end: str
    metrics: list[str] | None
    data_types: list[str] | None
    access_methods: list[str] | None
    attributes: list[str]
    granularity: str | None
    notes: list[dict[str, Any]]  # Exceptions to report with the data


def _list(raw: str | None) -> list[str] | None:
    return [v for v in raw.split("|") if v] if raw else None


def _parse(report: str, params: Mapping[str, str], now: datetime) -> _Request:
    """The report request, per the R5.1 rules: bad dates refuse, bad filters are noted and ignored."""
    notes: list[dict[str, Any]] = []
    unknown = sorted(name for name in params if name not in PARAMS[report])
    if unknown:
        notes.append(exception(3050, ", ".join(name[:40] for name in unknown[:10])))
    missing = [name for name in ("begin_date", "end_date") if not params.get(name)]
    if missing:
        raise SushiError(1030, " and ".join(missing) + " required")
    begin, end = _month(params["begin_date"], "begin_date"), _month(params["end_date"], "end_date")
    last = _previous_month(now)
    if end < begin:
        raise SushiError(3020, "end_date is before begin_date")
    if begin > last:
        raise SushiError(3020, f"begin_date is after the last complete month {last}")
    if end > last:
        notes.append(exception(3031, f"{_next(last)} to {end} not processed yet; End_Date set to {last}"))
        end = last
    _translated(lambda: usage_reports.months(begin, end, now))  # the TSV reports' bounds (36 months at most)

    def chosen(name: str, allowed: tuple[str, ...]) -> list[str] | None:
        values = _list(params.get(name))
        if values is None:
            return None
        bad = [v for v in values if v not in allowed]
        if bad:
            notes.append(exception(3060, f"{name}: " + ", ".join(v[:40] for v in bad[:10])))
        good = list(dict.fromkeys(v for v in values if v in allowed))
        return good or None

    metrics = chosen("metric_type", tuple(m for m, _ in usage_metrics.REGISTRY.report_metrics))
    data_types = chosen("data_type", tuple(dict.fromkeys(usage_reports.DATA_TYPES.values())))
    access = chosen("access_method", ACCESS_METHODS)
    attributes = _list(params.get("attributes_to_show")) or []
    bad = [a for a in attributes if a not in ATTRIBUTES[report]]
    granularity = params.get("granularity")
    if granularity is not None and granularity not in GRANULARITIES:
        bad.append(f"granularity={granularity[:20]}")
        granularity = None
    elif granularity == "Totals":  # JSON counts are per month in R5.1; Totals is the tabular form's
        bad.append("granularity=Totals")
        granularity = None
    if bad:
        notes.append(exception(3062, ", ".join(v[:40] for v in bad[:10])))
    attributes = list(dict.fromkeys(a for a in attributes if a in ATTRIBUTES[report]))
    return _Request(begin, end, metrics, data_types, access, attributes, granularity, notes)


def _month(raw: str, name: str) -> str:
    match = _DATE.fullmatch(raw)
    if not match:
        raise SushiError(3020, f"{name} must be yyyy-mm-dd or yyyy-mm")
    year, month, day = int(match[1]), int(match[2]), match[3]
    if day is not None:
        try:
            date(year, month, int(day))
        except ValueError:
            raise SushiError(3020, f"{name} is not a date") from None
    return f"{year:04d}-{month:02d}"


def _previous_month(now: datetime) -> str:
    this = china(now)
    year, month = (this.year - 1, 12) if this.month == 1 else (this.year, this.month - 1)
    return f"{year:04d}-{month:02d}"


def _next(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def _end_day(month: str) -> str:
    return (date.fromisoformat(_next(month) + "-01") - date.resolution).isoformat()


def _institution(province: str) -> dict[str, list[str]]:
    return {"Proprietary": [f"{NAMESPACE}:{province}"]}


def _header(
    report: usage_reports.Report, request: _Request, exceptions: list[dict[str, Any]]
) -> dict[str, Any]:
    filters: dict[str, Any] = {"Begin_Date": f"{request.begin}-01", "End_Date": _end_day(request.end)}
    for name, values in (
        ("Metric_Type", request.metrics),
        ("Data_Type", request.data_types),
        ("Access_Method", request.access_methods),
    ):
        if values:
            filters[name] = values
    header: dict[str, Any] = {
        "Report_Name": report.report_name,
        "Report_ID": report.report_id,
        "Release": usage_reports.RELEASE,
        "Institution_Name": report.institution,
        "Institution_ID": _institution(report.institution_id),
        "Report_Filters": filters,
        "Created": china(report.created).isoformat(timespec="seconds"),
        "Created_By": usage_reports.PLATFORM,
        "Registry_Record": "",
    }
    attributes: dict[str, Any] = {}
    if request.attributes:
        attributes["Attributes_To_Show"] = request.attributes
    if request.granularity:
        attributes["Granularity"] = request.granularity
    if attributes:
        header["Report_Attributes"] = attributes
    if exceptions:
        header["Exceptions"] = exceptions
    return header


def _performances(report: usage_reports.Report, request: _Request) -> dict[tuple[str, str], dict[str, dict]]:
    """(item id, data type) -> metric -> {month: count}, zeros left out as R5.1 JSON requires."""
    out: dict[tuple[str, str], dict[str, dict]] = {}
    for _item, item_id, _platform, data_type, metric, _total, *counts in report.rows:
        if request.metrics and metric not in request.metrics:
            continue
        if request.data_types and data_type not in request.data_types:
            continue
        if request.access_methods and "Regular" not in request.access_methods:
            continue
        months = {m: n for m, n in zip(report.months, counts) if n}
        if months:
            out.setdefault((item_id, data_type), {})[metric] = months
    return out


def _attribute_performance(data_type: str, performance: dict, request: _Request) -> dict[str, Any]:
    entry: dict[str, Any] = {"Data_Type": data_type}
    if "Access_Method" in request.attributes:
        entry["Access_Method"] = "Regular"
    entry["Performance"] = performance
    return entry


def platform_report(caller: Caller | None, params: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """PR for one province: the same rows as its TSV Platform Report, as R5.1 JSON."""
    caller, customer = _customer(caller, params)
    request = _parse("pr", params, now)
    report = _translated(
        lambda: usage_reports.province_report(caller, customer, request.begin, request.end, now)
    )
    performances = _performances(report, request)
    attributes = [
        _attribute_performance(data_type, performance, request)
        for (_item, data_type), performance in performances.items()
    ]
    items = [{"Platform": usage_reports.PLATFORM, "Attribute_Performance": attributes}] if attributes else []
    return _finish(report, request, items)


def item_report(
    caller: Caller | None, params: Mapping[str, str], now: datetime, cursor_secret: str
) -> dict[str, Any]:
    """IR for one province: each of its filings and publications (or the one `item_id` names)."""
    caller, customer = _customer(caller, params)
    request = _parse("ir", params, now)
    wanted = _list(params.get("item_id"))
    docs = _province_docs(caller, customer, cursor_secret)
    if wanted:
        known = {f"{NAMESPACE}:{doc_id}" for _kind, doc_id in docs}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            request.notes.append(exception(3060, "item_id: " + ", ".join(u[:60] for u in unknown[:10])))
        docs = [(kind, doc_id) for kind, doc_id in docs if f"{NAMESPACE}:{doc_id}" in wanted]
    items, first = [], None
    for kind, doc_id in docs:
        report = _translated(
            lambda kind=kind, doc_id=doc_id: usage_reports.item_report(
                caller, kind, doc_id, request.begin, request.end, now
            )
        )
        first = first or report
        for (_item_id, data_type), performance in _performances(report, request).items():
            items.append(
                {
                    "Item": report.rows[0][0] or doc_id,
                    "Publisher": report.institution,
                    "Platform": usage_reports.PLATFORM,
                    "Item_ID": {"Proprietary": f"{NAMESPACE}:{doc_id}"},
                    "Attribute_Performance": [_attribute_performance(data_type, performance, request)],
                }
            )
    shell = first or usage_reports.Report(
        "Item Report",
        "IR",
        PROVINCES[customer],
        customer,
        usage_reports.months(request.begin, request.end, now),
        now,
    )
    shell.institution, shell.institution_id = PROVINCES[customer], customer
    return _finish(shell, request, [{"Items": items}] if items else [])


def _province_docs(caller: Caller, province: str, secret: str) -> list[tuple[str, str]]:
    """Every filing and publication of the province the caller may see, newest first."""
    out: list[tuple[str, str]] = []
    for kind, module in (("filing", filings), ("publication", publications)):
        cursor = None
        while True:
            page = module.list_page(caller, {"province": province}, MAX_LIMIT, cursor, secret)
            out.extend((kind, doc.id) for doc in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    return out


def _finish(report: usage_reports.Report, request: _Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    exceptions = list(request.notes)
    if not items:
        exceptions.append(exception(3030, f"{request.begin} to {request.end}"))
    return {"Report_Header": _header(report, request, exceptions), "Report_Items": items}


def problem_as_exception(problem: Problem) -> SushiError:
    """A problem raised before the domain (a bad token) in SUSHI's terms."""
    return SushiError(2000 if problem.status == 401 else 2010, problem.detail)
