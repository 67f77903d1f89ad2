"""Counting rules (COUNTER R5.1 as the contract states them), as pure functions of facts.

Every counter change is f(NewImage) - f(OldImage) for state-like facts (reactions,
comments, evaluations, filings, publications, application updates), so a replay, a
duplicate or an out-of-order record nets to the same final value. View and download
events are immutable; each counted one holds its place in its chain (same type, user and
filing or publication), given once when it was stored (event_chains.py): `prev_at`, the time of the
chain's event before it. An event's contribution is a function of its own stored image,
so the trigger and the recount agree whatever the delivery order or timing:

- total: an event within 30 s of the previous one of its chain replaces it, so a chain of
  such clicks counts once; an event adds 1 exactly when the chain's event before it lies
  more than 30 s earlier (or there is none).
- unique: distinct (user, filing, China date, hour); an event adds 1 exactly when the
  chain's event before it falls in another China hour (chain times never go back).
Robots and the evaluated province's own staff (own_staff.py) never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import keys, pseudonyms
from chalicelib.core.clock import china, parse_instant
from chalicelib.core.cycles import cycle_by_id, cycle_for
from chalicelib.core.vocabulary import (
    FILING_KINDS,
    NATIONAL_OFFICE,
    NEAR_CUTOFF,
    NO_REPORT_TYPE,
    PUBLICATION_KINDS,
    REPORT_TYPES,
    SIDES,
)
from chalicelib.documents import filings, publications
from chalicelib.usage import metrics

DOUBLE_CLICK = timedelta(seconds=30)

# What approved filings and publications add to their province×cycle item (filing_values).
# An approved filing out of its cycle's scope (filings.in_scope) adds only filings_approved_out_of_scope;
# funding_approved sums the funding (投入, yuan) of those in scope.
APPROVED_NAMES = (
    "filings_approved",
    "filings_approved_fiscal",
    "filings_approved_near_cutoff",
    "publications_approved",
    "filings_approved_out_of_scope",
    "funding_approved",
    *(f"filings_approved_{k}" for k in FILING_KINDS),
    *(f"reports_approved_{t}" for t in (*REPORT_TYPES, NO_REPORT_TYPE)),
    *(f"publications_approved_{k}" for k in PUBLICATION_KINDS),
)

Deltas = dict[tuple[str, str], dict[str, int]]  # (pk, sk) -> {counter name: change}


STATS = "STATS"  # sort key of a filing's or publication's counters in its own partition


def filing_key(filing_id: str) -> tuple[str, str]:
    return filings.key(filing_id), STATS


# What views and downloads count on: an event names exactly one of these (its attribute of that name).
TARGETS = ("filing", "publication")


def publication_key(publication_id: str) -> tuple[str, str]:
    return publications.key(publication_id), STATS


STATS_KEYS = {"filing": filing_key, "publication": publication_key}


MONTH = "MONTH#"  # sort-key prefix of the per-month counters under a province or an item


def month_of(instant: datetime) -> str:
    """The China-time month "YYYY-MM" that counts `instant`."""
    return f"{china(instant):%Y-%m}"


def month_sk(month: str) -> str:
    return f"{MONTH}{month}"


def item_month_key(kind: str, target: str, instant: datetime) -> tuple[str, str]:
    """One filing's or publication's views and downloads in one China month (usage reports)."""
    return STATS_KEYS[kind](target)[0], month_sk(month_of(instant))


def target_of(image: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, id) of the filing or publication an event names (ValueError unless exactly one)."""
    named = [(kind, image[kind]) for kind in TARGETS if image.get(kind)]
    if len(named) != 1:
        raise ValueError("an event names exactly one of " + ", ".join(TARGETS))
    return named[0]


PROVINCE, CYCLE = "PROV#", "CYCLE#"


def province_pk(province: str) -> str:
    """The partition of a province's counters (per cycle and per month)."""
    return f"{PROVINCE}{province}"


def cycle_sk(cycle_id: str) -> str:
    return f"{CYCLE}{cycle_id}"


def cycle_key(province: str, cycle_id: str) -> tuple[str, str]:
    return province_pk(province), cycle_sk(cycle_id)


# An evaluated unit of another population: its counters here, its registry entry in populations.py.
UNIT = "UNIT#"


def unit_pk(unit_ref: str) -> str:
    """The partition of the counters (per cycle and per month) of an evaluated unit of another population
    ("<population>#<code>", e.g. a national patent navigation service base) that filings are attributed
    to. Per-account counters name the unit by it (account_pk, unit_name), a province by its code."""
    return f"{UNIT}{unit_ref}"


def unit_cycle_key(unit_ref: str, cycle_id: str) -> tuple[str, str]:
    return unit_pk(unit_ref), cycle_sk(cycle_id)


def unit_month_key(unit_ref: str, month: str) -> tuple[str, str]:
    """A registered unit's counters of one China month "YYYY-MM" (its spike check)."""
    return unit_pk(unit_ref), month_sk(month)


def registered_unit(unit: str) -> bool:
    """Whether a unit as per-account counters name it is a registered one (a `unit_pk`), not a province: its
    activity is also its province's, which alone adds up to every counted fact."""
    return unit.startswith(UNIT)


def month_key(province: str, instant: datetime) -> tuple[str, str]:
    return province_month_key(province, month_of(instant))


def province_month_key(province: str, month: str) -> tuple[str, str]:
    """A province's counters of one China month "YYYY-MM"."""
    return province_pk(province), month_sk(month)


def account_pk(unit: str, cycle_id: str) -> str:
    """The partition of the per-account counters on one unit (a province code or a `unit_pk`) in one cycle
    (sort key: the user)."""
    return f"ACCT#{unit}#{cycle_id}"


def account_key(unit: str, cycle_id: str, user: str) -> tuple[str, str]:
    return account_pk(unit, cycle_id), user


# Per-account counters for the puppet-swarm check (flags.py). On a unit's account item:
# the account's counted facts (metrics.REGISTRY.account_activity), its evaluation score sum, and how many of
# its facts fall in each minute ("minute#<minutes since the epoch>"): the smallest minute
# holding any is its first action on the unit. On the account's own item: how many counted
# facts it has on each unit in each cycle ("<cycle>#<province>", and "<cycle>#UNIT#<population>#<code>" for
# a fact on a result attributed to a registered unit), which tells whether it is new in a cycle and whether
# all its activity lies on one unit. All are sums of facts, so f(new) - f(old) keeps them exact like every
# other counter.
MINUTE = "minute#"


def account_units_key(user: str) -> tuple[str, str]:
    return f"ACCOUNT#{keys.part(user)}", "UNITS"


def minute_name(at: datetime) -> str:
    return f"{MINUTE}{int(at.timestamp()) // 60}"


def unit_name(cycle_id: str, unit: str) -> str:
    return f"{cycle_id}#{unit}"


def unit_of(name: str) -> tuple[str, str]:
    """(cycle id, unit) of a `unit_name`."""
    cycle_id, _, unit = name.partition("#")
    return cycle_id, unit


def add(deltas: Deltas, key: tuple[str, str], values: Mapping[str, int], sign: int = 1) -> None:
    """Accumulate `values` (times `sign`) under `key`, dropping what nets to zero."""
    bucket = deltas.setdefault(key, {})
    for name, value in values.items():
        total = bucket.get(name, 0) + sign * value
        if total:
            bucket[name] = total
        else:
            bucket.pop(name, None)
    if not bucket:
        deltas.pop(key, None)


def merge(into: Deltas, other: Deltas) -> None:
    for key, values in other.items():
        add(into, key, values)


# What a record's usage added to every counter outside the record's own partition (its province's cycle and
# month, its service base's cycle, the per-account ones) is mirrored under the record, one mirror item per
# counter, so that a takedown excluding it from scoring takes exactly that back (withdrawn_usage).
MIRROR = "MIRROR#"


def mirror_key(record_pk: str, key: tuple[str, str]) -> tuple[str, str]:
    """The mirror under a record of what its usage added to `key` (both key parts escaped: one component each)."""
    return record_pk, f"{MIRROR}{keys.part(key[0])}{keys.SEPARATOR}{keys.part(key[1])}"


def mirrored_key(mirror_sk: str) -> tuple[str, str]:
    """The counter a mirror's sort key names (the inverse of mirror_key)."""
    pk, _, sk = mirror_sk.removeprefix(MIRROR).partition(keys.SEPARATOR)
    return keys.whole(pk), keys.whole(sk)


def excluded(image: Mapping[str, Any] | None) -> bool:
    """A record taken down and out of scoring: its usage counts for its own stats, never for its province's cycle."""
    return bool(image) and image.get("status") == "taken_down" and bool(image.get("excluded_from_scoring"))


def record_of(image: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, partition) of the filing or publication a usage fact counts on; None for other facts."""
    entity = image.get("entity")
    if entity in ("event", "reaction", "comment"):
        kind, target = target_of(image)
        return kind, STATS_KEYS[kind](target)[0]
    if entity in ("evaluation", "application_update"):
        return "filing", filing_key(image["filing"])[0]
    return None


def _mirrored(deltas: Deltas, image: Mapping[str, Any]) -> Deltas:
    """A usage fact's changes with their mirrors under its record (every counter outside its partition)."""
    record = record_of(image)
    if record is None:
        return deltas
    for key, values in list(deltas.items()):
        if key[0] != record[1]:
            add(deltas, mirror_key(record[1], key), values)
    return deltas


def unscored(deltas: Deltas, record_pk: str) -> Deltas:
    """A usage fact's changes to its record's own counters alone (stats, months): its record is excluded."""
    return {
        key: values for key, values in deltas.items() if key[0] == record_pk and not key[1].startswith(MIRROR)
    }


def _units(province: str, attributed_to: str | None) -> list[tuple[str, str]]:
    """(partition of its counters, its name in per-account counters) of each unit a fact on a filing counts
    for: its province and, when the fact carries an attribution, that service base or institution."""
    units = [(province_pk(province), province)]
    if attributed_to:
        units.append((unit_pk(attributed_to), unit_pk(attributed_to)))
    return units


def _usage(
    deltas: Deltas,
    filing: str,
    province: str,
    at: datetime,
    values: dict[str, int],
    actor: Mapping[str, Any] | None = None,
    account_values: dict[str, int] | None = None,
    attributed_to: str | None = None,
) -> None:
    cycle = cycle_for(at)
    add(deltas, filing_key(filing), values)
    if cycle is None:
        return
    for pk, unit in _units(province, attributed_to):
        add(deltas, (pk, cycle_sk(cycle.id)), values)
        add(deltas, (pk, month_sk(month_of(at))), values)
        if actor is not None and account_values:
            # Per-account counters name the cycle's pseudonym, as the account's usage events do.
            _activity(deltas, unit, cycle.id, account_of(actor, cycle.id), at, account_values)


def _activity(
    deltas: Deltas, unit: str, cycle_id: str, account: str, at: datetime, values: dict[str, int] | None = None
) -> None:
    """An account's counted fact on a unit: `values` with its minute on the unit's account item (none for a
    click), and one fact on that unit on the account's own item."""
    if values:
        add(deltas, account_key(unit, cycle_id, account), {**values, minute_name(at): 1})
    add(deltas, account_units_key(account), {unit_name(cycle_id, unit): 1})


def account_of(image: Mapping[str, Any], cycle_id: str) -> str:
    """The account a reaction, comment or evaluation counts for: its pseudonym in the cycle of its
    counted instant, as the account's usage events name it (stored as `account`; a fact stored while
    they held the user id is hashed here as it was then, so its change or removal nets exactly)."""
    return image.get("account") or pseudonyms.of(image["user"], cycle_id)


def state_contribution(image: Mapping[str, Any] | None) -> Deltas:
    """What one stored state of a fact adds to the counters (the f in f(new) - f(old)), a usage fact's with
    its mirrors."""
    deltas: Deltas = {}
    if image:
        rule = _STATE_RULES.get(image.get("entity"))
        if rule is not None:
            rule(deltas, image)
    return _mirrored(deltas, image) if image else deltas


def _reaction(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if image.get("active") and not image.get("author"):
        _held(deltas, image, _time(image["since"]), metrics.REGISTRY.reaction(image["kind"]))


def _comment(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if comment_counts(image):
        _held(deltas, image, _time(image["created_at"]), metrics.REGISTRY.comments)


def _evaluation(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if image.get("author"):
        return
    registry, score, side = metrics.REGISTRY, int(image["score"]), image["side"]
    given = {registry.evaluations: 1, registry.evaluation_score_sum: score}
    values = dict(given)
    if side in SIDES:
        values.update({registry.evaluations_of(side): 1, registry.evaluation_score_sum_of(side): score})
    at = _time(image["updated_at"])
    _usage(deltas, image["filing"], image["province"], at, values, image, given, image.get("attributed_to"))


def _application_update(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if image.get("earned"):  # a new state of the progression, with proof (filings.change_application)
        values = {metrics.REGISTRY.application_updates: 1}
        _usage(deltas, image["filing"], image["province"], _time(image["at"]), values)


def _filing(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if scored(image):
        add(deltas, cycle_key(image["province"], image["cycle"]), filing_values(image))
        if image.get("attributed_to"):  # also counts for the service base or institution it names
            add(deltas, unit_cycle_key(image["attributed_to"], image["cycle"]), filing_values(image))


def _publication(deltas: Deltas, image: Mapping[str, Any]) -> None:
    if scored(image) and image["province"] != NATIONAL_OFFICE:
        add(
            deltas,
            cycle_key(image["province"], image["cycle"]),
            {"publications_approved": 1, f"publications_approved_{image['kind']}": 1},
        )


_STATE_RULES = {
    "reaction": _reaction,
    "comment": _comment,
    "evaluation": _evaluation,
    "application_update": _application_update,
    "filing": _filing,
    "publication": _publication,
}


def scored(image: Mapping[str, Any]) -> bool:
    """An approved filing or publication counts; one taken down keeps counting for its cycle unless the
    takedown excluded it from scoring (lifecycle.take_down)."""
    status = image.get("status")
    return status == "approved" or (status == "taken_down" and not image.get("excluded_from_scoring"))


def comment_counts(image: Mapping[str, Any]) -> bool:
    """A comment counts while it is neither deleted nor hidden by a moderator, unless own staff wrote it."""
    return not image.get("deleted_at") and not image.get("hidden_at") and not image.get("author")


def _held(deltas: Deltas, image: Mapping[str, Any], at: datetime, name: str) -> None:
    """A like, favorite or comment held on a filing (with its account counters) or on a publication."""
    kind, target = target_of(image)
    if kind == "publication":
        _publication_usage(deltas, target, image["province"], at, {name: 1})
    else:
        _usage(deltas, target, image["province"], at, {name: 1}, image, {name: 1})


def filing_values(image: Mapping[str, Any]) -> dict[str, int]:
    """The province×cycle counters one approved filing adds."""
    cycle = cycle_by_id(image["cycle"])
    if filings.scope_reason(image.get("completed_on"), cycle) is not None:
        return {"filings_approved_out_of_scope": 1}
    kind = image["kind"]
    values = {"filings_approved": 1, f"filings_approved_{kind}": 1}
    if image.get("funding_amount"):
        values["funding_approved"] = int(image["funding_amount"])
    if kind == "report":
        values[f"reports_approved_{image.get('report_type') or NO_REPORT_TYPE}"] = 1
    if image.get("fiscal_funded"):
        values["filings_approved_fiscal"] = 1
    if cycle is not None and cycle.ends_before - _time(image["filed_at"]) <= NEAR_CUTOFF:
        values["filings_approved_near_cutoff"] = 1
    return values


def state_change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Deltas:
    """f(new) - f(old) for a state-like fact."""
    deltas = state_contribution(new)
    for key, values in state_contribution(old).items():
        add(deltas, key, values, -1)
    return deltas


def event_values(kind: str, at: datetime, prev_at: datetime | None) -> dict[str, int]:
    """What one counted event adds, given the time of its chain's event before it (its stored place)."""
    metric = metrics.REGISTRY.event(kind)
    values = {}
    if prev_at is None or at - prev_at > DOUBLE_CLICK:
        values[metric.total] = 1
    if prev_at is None or _hour(prev_at) != _hour(at):
        values[metric.unique] = 1
    return values


def counts(image: Mapping[str, Any]) -> bool:
    """Robots and the evaluated province's own staff are stored but never counted."""
    return not image.get("robot") and not image.get("author")


def event_contribution(image: Mapping[str, Any]) -> Deltas:
    """The counters one stored event adds, judged from its own stored place."""
    deltas: Deltas = {}
    if not counts(image):
        return deltas
    at = _time(image["at"])
    prev_at = _time(image["prev_at"]) if image.get("prev_at") else None
    values = event_values(image["type"], at, prev_at)
    kind, target = target_of(image)
    add(deltas, item_month_key(kind, target, at), values)
    if kind == "publication":
        _publication_usage(deltas, target, image["province"], at, values)
        return _mirrored(deltas, image)
    _usage(deltas, target, image["province"], at, values, attributed_to=image.get("attributed_to"))
    cycle = cycle_for(at)
    if cycle is not None:
        # A counted click is activity on its units: an account that reads widely is no single-purpose
        # puppet. Not per minute: a reader's clicks would grow its account item without bound.
        for _, unit in _units(image["province"], image.get("attributed_to")):
            _activity(deltas, unit, cycle.id, image["user"], at)
    return _mirrored(deltas, image)


def _publication_usage(
    deltas: Deltas, publication: str, province: str, at: datetime, values: dict[str, int]
) -> None:
    add(deltas, publication_key(publication), values)
    cycle = cycle_for(at)
    if cycle is None or province == NATIONAL_OFFICE:  # the national office's own: counted for no province
        return
    prefixed = {metrics.REGISTRY.publication_prefix + name: value for name, value in values.items()}
    add(deltas, cycle_key(province, cycle.id), prefixed)
    add(deltas, month_key(province, at), prefixed)


def recount(facts: Iterable[Mapping[str, Any]]) -> Deltas:
    """Every counter recomputed from the stored facts alone (the reference for drift). The usage of a
    record a takedown excluded counts only in the record's own counters (the rest is held back until every
    record is seen)."""
    totals: Deltas = {}
    held: dict[str, Deltas] = {}
    excluded_records: set[str] = set()
    for fact in facts:
        if fact.get("entity") in ("filing", "publication") and excluded(fact):
            excluded_records.add(fact["pk"])
        contribution = event_contribution(fact) if fact.get("entity") == "event" else state_contribution(fact)
        record = record_of(fact)
        if record is None:
            merge(totals, contribution)
            continue
        rest = unscored(contribution, record[1])
        merge(totals, rest)
        merge(held.setdefault(record[1], {}), {k: v for k, v in contribution.items() if k not in rest})
    for record_pk, scored_part in held.items():
        if record_pk not in excluded_records:
            merge(totals, scored_part)
    return totals


def _hour(at: datetime) -> datetime:
    return china(at).replace(minute=0, second=0, microsecond=0)


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return parse_instant(str(value))
