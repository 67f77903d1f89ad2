"""Anomaly checks: what a run flags for a manual check instead of scoring it silently.

Each check is a pure function of counters and returns `{"kind", "detail"}` dicts. Flags do
not change points: a national admin reviews them and records adjustments (adjustments.py).
Thresholds come from the scheme's `flags` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.cycles import Cycle, cycle_by_id
from chalicelib.core.vocabulary import NEAR_CUTOFF_TEXT
from chalicelib.usage import metrics
from chalicelib.usage.counting_rules import MINUTE, registered_unit, unit_of

Flag = dict[str, Any]  # {"kind", "detail"} and, where a check has it, "evidence"
NAMED_ACCOUNTS = 100  # a flag names at most this many accounts (and says how many there are)


def _month(key: str) -> tuple[int, int]:
    year, month = key.split("-")
    return int(year), int(month)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _label(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def usage_spikes(
    months: Mapping[str, Mapping[str, int]], first_day: date, last_day: date, rules: Mapping[str, Any]
) -> list[Flag]:
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
                    flags.append(
                        {
                            "kind": "usage_spike",
                            "detail": f"{name} in {_label(ym)} was {value}, at least "
                            f"{rules['spike_margin']:g} above {rules['spike_multiple']:g}× the "
                            f"mean of the {len(history)} months before ({mean:.1f}); "
                            f"COUNTER R5.1 §7.12 asks for a manual check",
                        }
                    )
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
            flags.append(
                {
                    "kind": f"{name}_burst",
                    "detail": f"{held} of the unit's {total} {name} ({held / total:.0%}) come from "
                    f"{min(top, len(per_account))} account(s) (threshold "
                    f"{rules['burst_share']:.0%} from the top {top})",
                }
            )
    return flags


def cutoff_bulk(counters: Mapping[str, int], rules: Mapping[str, Any]) -> list[Flag]:
    """Many approved filings filed within NEAR_CUTOFF of the cycle's end."""
    near, approved = (
        int(counters.get("filings_approved_near_cutoff", 0)),
        int(counters.get("filings_approved", 0)),
    )
    if near >= rules["cutoff_min_filings"] and approved and near / approved >= rules["cutoff_share"]:
        return [
            {
                "kind": "filings_near_cutoff",
                "detail": f"{near} of {approved} approved filings ({near / approved:.0%}) were filed in the "
                f"last {NEAR_CUTOFF_TEXT} of the cycle (threshold {rules['cutoff_share']:.0%}, at least "
                f"{rules['cutoff_min_filings']})",
            }
        ]
    return []


def form_checks(form: Mapping[str, Any] | None, counters: Mapping[str, int]) -> list[Flag]:
    """What the annual form says that the scores take on trust."""
    if not form:
        return []
    declared = form["projects"]["fiscal_funded"]
    filed = int(counters.get("filings_approved_fiscal", 0))
    if declared == 0 and filed > 0:
        return [
            {
                "kind": "fiscal_projects_declared_none",
                "detail": f"the annual form declares no fiscal-funded projects but {filed} approved filings "
                f"are fiscal-funded; the completeness ratio counts as full",
            }
        ]
    if declared == 0:
        return [
            {
                "kind": "fiscal_projects_declared_none",
                "detail": "the annual form declares no fiscal-funded projects; the completeness ratio counts as full",
            }
        ]
    return []


# ---- puppet swarms ---------------------------------------------------------------------
# A swarm is many accounts that are new in the cycle and single-purpose (all their counted
# activity of the cycle lies on this unit) acting on the unit within a short window, or
# giving it uniformly extreme scores. The run reads the unit's account counters, picks the
# accounts that could belong to a swarm (swarm_candidates), reads only those accounts' own
# counters, and judges (puppet_swarms). See counting_rules.py for the counters.


@dataclass(frozen=True)
class _Account:
    id: str
    first_minute: int
    activity: int
    evaluations: int
    score_sum: int

    def extreme(self, rules: Mapping[str, Any]) -> bool:
        """It gave at least `swarm_extreme_min_evaluations` scores, all 5s (or all 1s)."""
        return self.evaluations >= rules["swarm_extreme_min_evaluations"] and self.score_sum in (
            self.evaluations,
            5 * self.evaluations,
        )


def _accounts(accounts: Mapping[str, Mapping[str, int]]) -> list[_Account]:
    out = []
    for account, numbers in sorted(accounts.items()):
        minutes = [
            int(name[len(MINUTE) :]) for name, v in numbers.items() if name.startswith(MINUTE) and v > 0
        ]
        if minutes:
            out.append(
                _Account(
                    account,
                    min(minutes),
                    sum(int(numbers.get(n, 0)) for n in metrics.REGISTRY.account_activity),
                    int(numbers.get(metrics.REGISTRY.evaluations, 0)),
                    int(numbers.get(metrics.REGISTRY.evaluation_score_sum, 0)),
                )
            )
    return out


def _windows(accounts: list[_Account], minutes: int) -> tuple[list[_Account], list[tuple[int, int]]]:
    """The accounts by first action, and for each one the span [start, end) of those whose
    first action lies within `minutes` from its own (two pointers: linear in the accounts)."""
    ordered = sorted(accounts, key=lambda a: (a.first_minute, a.id))
    spans, end = [], 0
    for start, account in enumerate(ordered):
        end = max(end, start)
        while end < len(ordered) and ordered[end].first_minute < account.first_minute + minutes:
            end += 1
        spans.append((start, end))
    return ordered, spans


def swarm_candidates(accounts: Mapping[str, Mapping[str, int]], rules: Mapping[str, Any]) -> set[str]:
    """Accounts whose own counters the swarm check needs: those in a window crowded enough to
    flag, and (when there are enough of them to flag) those giving only extreme scores."""
    parsed = _accounts(accounts)
    ordered, spans = _windows(parsed, rules["swarm_window_minutes"])
    found: set[str] = set()
    covered = 0
    for start, end in spans:
        if end - start >= rules["swarm_min_accounts"]:
            found.update(a.id for a in ordered[max(start, covered) : end])
            covered = max(covered, end)
    extreme = {a.id for a in parsed if a.extreme(rules)}
    if len(extreme) >= rules["swarm_extreme_min_accounts"]:
        found |= extreme
    return found


def _suspect(units: Mapping[str, int], unit: str, cycle: Cycle) -> bool:
    """New in the cycle (no counted activity in an earlier one) and single-purpose (all its
    counted activity in the cycle lies on `unit`). Every counted fact names its province, and one
    on an attributed result its service base or institution as well: the provinces' names add up
    to all its activity."""
    on_unit = everywhere = 0
    for name, value in units.items():
        if value <= 0:
            continue
        cycle_id, code = unit_of(name)
        earlier = cycle_by_id(cycle_id)
        if earlier is not None and earlier.starts_at < cycle.starts_at:
            return False
        if cycle_id != cycle.id:
            continue
        on_unit += value if code == unit else 0
        everywhere += 0 if registered_unit(code) else value
    return on_unit == everywhere


def puppet_swarms(
    accounts: Mapping[str, Mapping[str, int]],
    units_of: Mapping[str, Mapping[str, int]],
    unit: str,
    cycle: Cycle,
    rules: Mapping[str, Any],
) -> list[Flag]:
    """Flags for swarms of new, single-purpose accounts on the unit (named as the accounts' own
    counters name it: counting_rules.unit_name); `units_of` holds each candidate account's activity
    per unit and cycle (accounts missing from it are not suspects)."""
    parsed = _accounts(accounts)
    unit_activity = sum(a.activity for a in parsed)
    unit_evaluations = sum(a.evaluations for a in parsed)
    suspects = [a for a in parsed if a.id in units_of and _suspect(units_of[a.id], unit, cycle)]
    flags: list[Flag] = []
    ordered, spans = _windows(suspects, rules["swarm_window_minutes"])
    start, end = max(spans, key=lambda span: (span[1] - span[0], -span[0]), default=(0, 0))
    crowded = ordered[start:end]
    if len(crowded) >= rules["swarm_min_accounts"]:
        share = sum(a.activity for a in crowded) / unit_activity if unit_activity else 0.0
        flags.append(
            _swarm_flag(
                "puppet_swarm",
                crowded,
                share,
                "activity",
                f"{len(crowded)} accounts new in cycle {cycle.id}, whose whole activity lies on this unit, first acted "
                f"on it within {rules['swarm_window_minutes']} minute(s) and hold {share:.0%} of its counted activity "
                f"(threshold {rules['swarm_min_accounts']} accounts)",
            )
        )
    evaluators = [a for a in suspects if a.evaluations]
    extreme = [a for a in evaluators if a.extreme(rules)]
    if (
        len(extreme) >= rules["swarm_extreme_min_accounts"]
        and len(extreme) / len(evaluators) >= rules["swarm_extreme_share"]
    ):
        share = sum(a.evaluations for a in extreme) / unit_evaluations
        flags.append(
            _swarm_flag(
                "puppet_extreme_scores",
                extreme,
                share,
                "evaluations",
                f"{len(extreme)} of the {len(evaluators)} accounts new in cycle {cycle.id} that evaluated only this "
                f"unit gave nothing but extreme scores; they hold {share:.0%} of its evaluations (threshold "
                f"{rules['swarm_extreme_min_accounts']} accounts and {rules['swarm_extreme_share']:.0%} of such evaluators)",
            )
        )
    return flags


def _swarm_flag(kind: str, members: list[_Account], share: float, of: str, detail: str) -> Flag:
    names = sorted(a.id for a in members)
    first = min(a.first_minute for a in members)
    last = max(a.first_minute for a in members)
    return {
        "kind": kind,
        "detail": detail,
        "evidence": {
            "accounts": names[:NAMED_ACCOUNTS],
            "account_count": len(names),
            "window": {"first_action_from": _minute(first), "first_action_until": _minute(last + 1)},
            "share": round(share, 4),
            "share_of": of,
        },
    }


def _minute(index: int) -> str:
    return iso(datetime.fromtimestamp(index * 60, tz=UTC))
