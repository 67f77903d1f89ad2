"""Anomaly checks: what a run flags for a manual check instead of scoring it silently.

Each check is a pure function of counters and returns `{"kind", "detail"}` dicts. Flags do
not change points: a national admin reviews them and records adjustments (adjustments.py).
Thresholds come from the scheme's `flags` section.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

Flag = dict[str, str]


def _month(key: str) -> tuple[int, int]:
    year, month = key.split("-")
    return int(year), int(month)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _label(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def usage_spikes(months: Mapping[str, Mapping[str, int]], first_day: date, last_day: date,
                 rules: Mapping[str, Any]) -> list[Flag]:
    """COUNTER R5.1 §7.12: a month of the cycle at least `margin` above `multiple` × the mean
    of the unit's previous 12 months. Months before the unit's first recorded month are not
    history; a month with fewer than `spike_min_history_months` months of history is not judged."""
    if not months:
        return []
    first_seen = min(_month(m) for m in months)
    flags: list[Flag] = []
    ym, end = (first_day.year, first_day.month), (last_day.year, last_day.month)
    while ym <= end:
        history = [h for h in (_shift(*ym, -k) for k in range(1, 13)) if h >= first_seen]
        if len(history) >= rules["spike_min_history_months"]:
            for name in rules["spike_counters"]:
                value = int((months.get(_label(ym)) or {}).get(name, 0))
                mean = sum(int((months.get(_label(h)) or {}).get(name, 0)) for h in history) / len(history)
                threshold = rules["spike_multiple"] * mean + rules["spike_margin"]
                if value >= threshold:
                    flags.append({"kind": "usage_spike",
                                  "detail": f"{name} in {_label(ym)} was {value}, at least "
                                            f"{rules['spike_margin']:g} above {rules['spike_multiple']:g}× the "
                                            f"mean of the {len(history)} months before ({mean:.1f}); "
                                            f"COUNTER R5.1 §7.12 asks for a manual check"})
        ym = _shift(*ym, 1)
    return flags


def concentrated_bursts(accounts: Mapping[str, Mapping[str, int]], rules: Mapping[str, Any]) -> list[Flag]:
    """Evaluations or likes on the unit's results that come mostly from a few accounts."""
    flags: list[Flag] = []
    top = rules["burst_top_accounts"]
    for name in rules["burst_counters"]:
        per_account = sorted((int(c.get(name, 0)) for c in accounts.values()), reverse=True)
        total = sum(per_account)
        if total < rules["burst_min_total"]:
            continue
        held = sum(per_account[:top])
        if held / total >= rules["burst_share"]:
            flags.append({"kind": f"{name}_burst",
                          "detail": f"{held} of the unit's {total} {name} ({held / total:.0%}) come from "
                                    f"{min(top, len(per_account))} account(s) (threshold "
                                    f"{rules['burst_share']:.0%} from the top {top})"})
    return flags


def cutoff_bulk(counters: Mapping[str, int], rules: Mapping[str, Any]) -> list[Flag]:
    """Many approved filings filed in the last 14 days of the cycle."""
    near, approved = int(counters.get("filings_approved_near_cutoff", 0)), int(counters.get("filings_approved", 0))
    if near >= rules["cutoff_min_filings"] and approved and near / approved >= rules["cutoff_share"]:
        return [{"kind": "filings_near_cutoff",
                 "detail": f"{near} of {approved} approved filings ({near / approved:.0%}) were filed in the "
                           f"last 14 days of the cycle (threshold {rules['cutoff_share']:.0%}, at least "
                           f"{rules['cutoff_min_filings']})"}]
    return []


def form_checks(form: Mapping[str, Any] | None, counters: Mapping[str, int]) -> list[Flag]:
    """What the annual form says that the scores take on trust."""
    if not form:
        return []
    declared = form["projects"]["fiscal_funded"]
    filed = int(counters.get("filings_approved_fiscal", 0))
    if declared == 0 and filed > 0:
        return [{"kind": "fiscal_projects_declared_none",
                 "detail": f"the annual form declares no fiscal-funded projects but {filed} approved filings "
                           f"are fiscal-funded; the completeness ratio counts as full"}]
    if declared == 0:
        return [{"kind": "fiscal_projects_declared_none",
                 "detail": "the annual form declares no fiscal-funded projects; the completeness ratio counts as full"}]
    return []
