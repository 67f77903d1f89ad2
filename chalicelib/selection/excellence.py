"""Excellence selection (优秀项目遴选) per cycle: screening, push by field, online evaluation,
the candidate case library, expert scores and confirmation into bonus points.

Storage (records table):
- `EXCELLENCE` / `RULES`: the screening and ranking rules (kind `excellence_rules`).
- `EXPERT#{sub}` / `FIELDS`: the industry fields national admins assigned to an expert.
- `CANDIDATE#{cycle}` / `{filing id}`: a candidate and its state (kind `excellence_candidate`).
- `EXPERTSCORE#{cycle}` / `{filing id}#{expert}`: one expert's score of one candidate; only the scores of
  the experts on the candidate's named panel (its `panel`) count.
Every step writes an audit entry (entity `excellence_candidate`, id `{cycle}/{filing}`) in
the same transaction, so a candidate's journey can be read back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from chalicelib.core import audit, keys
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.cycles import Cycle, cycle_or_404
from chalicelib.core.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.paging import Page, decode_cursor, encode_cursor, scope_of
from chalicelib.core.reference import INDUSTRIES
from chalicelib.core.schemas import Body, FieldErrors, IndustryCodes, Text
from chalicelib.core.store import TransactWriteError, cancelled_by_condition, transaction
from chalicelib.core.vocabulary import CANDIDATE_STATUSES, RESULT_KINDS, SIDES, ResultKind
from chalicelib.documents import filings, notifications
from chalicelib.scoring import bonus
from chalicelib.selection import home_provinces, subscriptions
from chalicelib.usage import running_counters
from chalicelib.usage.counting_rules import filing_key

ENTITY = "excellence_candidate"
STEPS = (
    "declared",
    "nominated",
    "pushed",
    "assigned",
    "shortlisted",
    "panel",
    "expert_score",
    "selected",
    "not_selected",
    "revoked",
)  # a journey's order within one instant
STATUSES = CANDIDATE_STATUSES
ELIGIBLE_KINDS = RESULT_KINDS  # proofs of application are not results and are never selected
MAX_ID, MAX_SUB = 64, 256
MAX_PANEL = 50  # experts one candidate's panel names at most
# The notice's order (参与意愿 → 初筛 → 推送至用户端 → 组织线上评价 → 备选案例库 → 专家评选).
ORDER = ("declaration", "screening", "push", "organised_evaluation", "candidate_library", "expert_panel")


# ---- request bodies --------------------------------------------------------------------


class RulesIn(Body):
    """The selection's rules in the notice's order (national admins change them)."""

    declaration_days_after_close: int = Field(
        default=31,
        ge=0,
        le=366,
        description="参与意愿: provinces declare from the cycle's first day until this many days after it closes",
    )
    kinds: list[ResultKind] = Field(
        default_factory=lambda: list(ELIGIBLE_KINDS),
        min_length=1,
        max_length=len(RESULT_KINDS),
        description="初筛: result kinds that may become candidates",
    )
    evaluation_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="组织线上评价: days an assignment stays open when no due date is given",
    )
    min_evaluations: int = Field(
        default=3,
        ge=0,
        le=10000,
        description="备选案例库: online evaluations a candidate needs to enter the library",
    )
    min_mean: float = Field(
        default=3.0, ge=1, le=5, description="备选案例库: the mean online evaluation (1-5) a candidate needs"
    )
    top_per_field: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="备选案例库: at most this many candidates per industry field, best first",
    )
    min_sample: int = Field(
        default=3,
        ge=1,
        le=10000,
        description="a mean (overall or by side) is shown only with at least this many evaluations",
    )
    prior_mean: float = Field(
        default=3.0, ge=1, le=5, description="the 1-5 score every candidate is pulled towards when ranking"
    )
    prior_weight: int = Field(
        default=5, ge=0, le=10000, description="how many evaluations' worth the prior counts for"
    )
    panel_size: int = Field(
        default=5,
        ge=1,
        le=MAX_PANEL,
        description="专家评选: the experts (of the candidate's field, without a conflict of interest) "
        "a candidate's named panel holds at least",
    )
    min_expert_scores: int = Field(
        default=3,
        ge=1,
        le=100,
        description="专家评选: the panel's quorum, scores by experts on the candidate's panel needed "
        "before it decides",
    )
    trim_from: int = Field(
        default=5,
        ge=3,
        le=100,
        description="with at least this many expert scores the highest and lowest are dropped",
    )
    pass_score: float = Field(
        default=60, ge=0, le=100, description="the panel score (0-100) a candidate needs to be selected"
    )

    @field_validator("kinds")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return [k for k in ELIGIBLE_KINDS if k in v]

    @model_validator(mode="after")
    def _quorum_within_the_panel(self) -> RulesIn:
        if self.min_expert_scores > self.panel_size:
            raise FieldErrors(
                [("min_expert_scores", "the quorum cannot exceed panel_size, the smallest panel")]
            )
        return self


DEFAULT_RULES = RulesIn().model_dump()


class ExpertFieldsIn(Body):
    industries: IndustryCodes = Field(
        max_length=len(INDUSTRIES), description="industry codes from /industries the expert scores"
    )


class NominationIn(Body):
    filing: Text(1, 64) = Field(description="id of an approved filing of the cycle")
    note: Text(0, 2000, multiline=True) | None = None


class PanelIn(Body):
    experts: list[Text(1, MAX_SUB)] = Field(
        min_length=1,
        max_length=MAX_PANEL,
        description="the experts (their subs) who sit on the candidate's panel; at least the rules' panel_size",
    )

    @field_validator("experts")
    @classmethod
    def _once_each(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(Message("names an expert more than once"))
        return v


class ExpertScoreIn(Body):
    score: int = Field(ge=0, le=100)
    comment: Text(0, 2000, multiline=True) | None = None


# ---- keys and small reads --------------------------------------------------------------

RULES_KEY = ("EXCELLENCE", "RULES")


def candidates_pk(cycle_id: str) -> str:
    """The partition holding every candidate of one cycle (sort key: the filing id)."""
    return f"CANDIDATE#{cycle_id}"


def candidate_key(cycle_id: str, filing_id: str) -> tuple[str, str]:
    return candidates_pk(cycle_id), filing_id


def score_key(cycle_id: str, filing_id: str, expert: str) -> tuple[str, str]:
    return f"EXPERTSCORE#{cycle_id}", f"{filing_id}#{keys.part(expert)}"


def fields_key(expert: str) -> tuple[str, str]:
    return f"EXPERT#{keys.part(expert)}", "FIELDS"


def _get(key: tuple[str, str]) -> Record | None:
    try:
        return Record.get(*key, consistent_read=True)
    except Record.DoesNotExist:
        return None


def find_candidate(cycle_id: str, filing_id: str) -> Record | None:
    """The filing's candidate record of the cycle, None when it is not a candidate."""
    return _get(candidate_key(cycle_id, filing_id))


def candidate_or_404(cycle_id: str, filing_id: str) -> Record:
    """The filing's candidate record of the cycle; 404 for an unknown cycle or a non-candidate."""
    cycle_or_404(cycle_id)
    found = find_candidate(cycle_id, filing_id) if len(filing_id) <= MAX_ID else None
    if found is None:
        raise NotFound(
            Message(
                "Filing %(filing_id)s is not a candidate of cycle %(cycle_id)s",
                filing_id=filing_id,
                cycle_id=cycle_id,
            )
        )
    return found


def _entity_id(cycle_id: str, filing_id: str) -> str:
    return f"{cycle_id}/{filing_id}"


def evaluations_of(filing_id: str) -> dict[str, int]:
    """The filing's evaluation counters (missing means none yet)."""
    return running_counters.values(*filing_key(filing_id))


# ---- rules -----------------------------------------------------------------------------


def rules() -> dict[str, Any]:
    """The rules in force (defaults until a national admin stores others)."""
    stored = _get(RULES_KEY)
    return {**DEFAULT_RULES, **(stored.data if stored else {})}


def declaration_period(cycle: Cycle, current: dict[str, Any]) -> tuple[datetime, datetime]:
    """[opens, closes) of the cycle's declarations (参与意愿): its window and the days after it."""
    return cycle.starts_at, cycle.ends_before + timedelta(days=current["declaration_days_after_close"])


def panel_score(scores: list[float], current: dict[str, Any]) -> float | None:
    """The panel's score: the mean, trimmed of the highest and lowest score from `trim_from` scores."""
    if not scores:
        return None
    ordered = sorted(scores)
    if len(ordered) >= current["trim_from"]:
        ordered = ordered[1:-1]
    return round(sum(ordered) / len(ordered), 2)


def describe_rules() -> dict[str, Any]:
    stored = _get(RULES_KEY)
    current = rules()
    return {
        **current,
        "updated_at": iso(stored.updated_at) if stored and stored.updated_at else None,
        "order": list(ORDER),
        "declaration": (
            f"a province admin declares its own approved results of the cycle, from the cycle's "
            f"first day until {current['declaration_days_after_close']} days after it closes"
        ),
        "screening": [
            "its province declared it for the cycle",
            "the filing is approved",
            "the filing belongs to the cycle",
            f"its kind is one of: {', '.join(current['kinds'])}",
        ],
        "evaluation": (
            f"screened candidates are pushed to their field's users and invited organisations; "
            f"assigned evaluators have {current['evaluation_days']} days unless a due date is given"
        ),
        "library": (
            f"once every assignment is done or due, candidates with at least {current['min_evaluations']} "
            f"online evaluations and a mean of at least {current['min_mean']} enter the library, "
            f"at most {current['top_per_field']} per field by ranking score; the rest are not_selected"
        ),
        "ranking": (
            f"candidates rank by a shrunk mean (prior_weight x prior_mean + sum of scores) / "
            f"(prior_weight + evaluations); means are shown with at least {current['min_sample']} "
            "evaluations; ties break on the expert mean, then the evaluation count"
        ),
        "panel": (
            f"a national admin names each candidate's panel: at least {current['panel_size']} experts of "
            "the candidate's field whose registered home province is not the candidate's; only they score it"
        ),
        "confirmation": (
            f"the panel decides with at least {current['min_expert_scores']} scores by its experts; its "
            f"score is the mean (trimmed of the highest and lowest from {current['trim_from']} "
            f"scores); at least {current['pass_score']} is selected, below is not_selected"
        ),
    }


def put_rules(caller: Caller | None, body: RulesIn, now: datetime) -> dict[str, Any]:
    """Replace the rules (national admins); later screenings and rankings use them."""
    caller = require(caller)
    doc = _get(RULES_KEY) or Record(*RULES_KEY, kind="excellence_rules", created_at=now)
    before = doc.data
    doc.data, doc.updated_at = body.model_dump(), now
    audit.replace(
        doc,
        audit.entry("excellence_rules", "current", "replaced", caller, now, {"from": before, "to": doc.data}),
        Message("The rules changed meanwhile; read them again and retry"),
    )
    return describe_rules()


# ---- experts' fields -------------------------------------------------------------------


def assigned_fields(expert: str) -> list[str]:
    doc = _get(fields_key(expert))
    return list(doc.data["industries"]) if doc else []


def _check_sub(expert: str) -> None:
    if len(expert) > MAX_SUB:
        raise Invalid(
            Message("The expert id is too long"),
            errors=[{"field": "sub", "message": Message("at most %(max_sub)s characters", max_sub=MAX_SUB)}],
        )


def put_fields(caller: Caller | None, expert: str, body: ExpertFieldsIn, now: datetime) -> dict[str, Any]:
    """Assign an expert the industry fields they score (national admins; replaces the last assignment)."""
    caller = require(caller)
    _check_sub(expert)
    doc = _get(fields_key(expert)) or Record(*fields_key(expert), kind="expert_fields", created_at=now)
    before = doc.data["industries"] if doc.data else []
    doc.data = {
        "expert": expert,
        "industries": body.industries,
        "assigned_by": caller.sub,
        "assigned_at": iso(now),
    }
    doc.updated_at = now
    audit.replace(
        doc,
        audit.entry(
            "expert_fields", expert, "assigned", caller, now, {"from": before, "to": body.industries}
        ),
        Message("The assignment changed meanwhile; read it again and retry"),
    )
    return doc.data


def get_fields(caller: Caller | None, expert: str) -> dict[str, Any]:
    """An expert's fields: national admins see anyone's, an expert their own."""
    caller = require(caller)
    if not caller.is_national_admin and caller.sub != expert:
        raise Forbidden(Message("An expert sees only their own fields"))
    _check_sub(expert)
    doc = _get(fields_key(expert))
    return doc.data if doc else {"expert": expert, "industries": [], "assigned_by": None, "assigned_at": None}


# ---- screening into candidates ---------------------------------------------------------


def screening_failures(filing: Filing, cycle_id: str, current: dict[str, Any]) -> list[str]:
    """Which screening rules a filing breaks for becoming a candidate of `cycle_id` (empty: eligible).

    Online evaluations come after the push, so screening never asks for them: the library cut does.
    """
    failures = []
    if filing.status != "approved":
        failures.append(Message("the filing is %(status)s, not approved", status=filing.status))
    if filing.cycle != cycle_id:
        failures.append(
            Message(
                "the filing belongs to cycle %(cycle)s, not %(cycle_id)s",
                cycle=filing.cycle,
                cycle_id=cycle_id,
            )
        )
    if filing.kind not in current["kinds"]:
        failures.append(
            Message(
                "a %(kind)s cannot be a candidate (kinds: %(kinds)s)",
                kind=filing.kind,
                kinds=", ".join(current["kinds"]),
            )
        )
    return failures


def nominate(
    caller: Caller | None,
    cycle_id: str,
    body: NominationIn,
    now: datetime,
    is_declared: Callable[[str], bool],
) -> tuple[dict, bool]:
    """Screen a declared, approved filing into the cycle's candidates and push it to its field's users
    and invited organisations; (candidate, new?). `is_declared(filing id)` reads the declarations.

    Nominating again changes nothing but finishes an interrupted push.
    """
    caller = require(caller)
    cycle_or_404(cycle_id)
    filing = _nominated_filing(body.filing)
    existing = find_candidate(cycle_id, filing.id)
    if existing is not None:
        return render(_push(existing, caller, now)), False
    current = rules()
    evaluations = evaluations_of(filing.id).get("evaluations", 0)
    _check_screened(filing, cycle_id, current, is_declared)
    data = _candidate_data(filing, cycle_id, body, caller, evaluations, now)
    candidate = Record(
        *candidate_key(cycle_id, filing.id), kind=ENTITY, data=data, created_at=now, updated_at=now
    )
    try:
        with transaction() as tx:
            tx.save(candidate, condition=Record.pk.does_not_exist())
            tx.save(
                audit.entry(
                    ENTITY,
                    _entity_id(cycle_id, filing.id),
                    "nominated",
                    caller,
                    now,
                    {"note": body.note, "evaluations": evaluations, "rules": current},
                )
            )
    except TransactWriteError as error:
        if not cancelled_by_condition(error):
            raise
        return render(_push(candidate_or_404(cycle_id, filing.id), caller, now)), False
    return render(
        _push(Record.get(*candidate_key(cycle_id, filing.id), consistent_read=True), caller, now)
    ), True


def _nominated_filing(filing_id: str) -> Filing:
    try:
        return Filing.get(*filings.doc_key(filing_id))
    except Filing.DoesNotExist:
        raise Invalid(
            Message("No filing %(filing)s", filing=filing_id),
            errors=[{"field": "filing", "message": Message("no such filing")}],
        ) from None


def _check_screened(
    filing: Filing, cycle_id: str, current: dict[str, Any], is_declared: Callable[[str], bool]
) -> None:
    """初筛: a declared filing that breaks no screening rule (422 naming every rule it breaks)."""
    failures = screening_failures(filing, cycle_id, current)
    if not is_declared(filing.id):
        failures.insert(
            0, Message("its province has not declared it for cycle %(cycle)s (参与意愿)", cycle=cycle_id)
        )
    if failures:
        raise Invalid(
            Message("Filing %(id)s does not meet the excellence rules (see /excellence-rules)", id=filing.id),
            errors=[{"field": "filing", "message": f} for f in failures],
        )


def _candidate_data(
    filing: Filing, cycle_id: str, body: NominationIn, caller: Caller, evaluations: int, now: datetime
) -> dict[str, Any]:
    """A new candidate: the filing's shown facts, who nominated it, and nothing pushed or decided yet."""
    return {
        "filing": filing.id,
        "cycle": cycle_id,
        "title": filing.title,
        "kind": filing.kind,
        "industry": filing.industry,
        "province": filing.province,
        "unit": filing.unit,
        "status": "candidate",
        "note": body.note,
        "nominated_by": caller.sub,
        "nominated_at": iso(now),
        "evaluations_at_nomination": evaluations,
        "pushed_to": 0,
        "pushed_at": None,
        "confirmed_by": None,
        "confirmed_at": None,
        "decision": None,
    }


def _push(candidate: Record, caller: Caller, now: datetime) -> Record:
    """Push the candidate to the users of its field; records how many new pushes were made."""
    data = candidate.data
    filing = {k: data[k] for k in ("title", "kind", "industry", "province", "unit", "cycle")}
    filing["id"] = data["filing"]
    item = subscriptions.item_data(
        filing, approved_at(data["filing"], now), "candidate", now, cycle=data["cycle"]
    )
    delivered = subscriptions.push(filing, item, now)
    if not delivered and data["pushed_at"] is not None:
        return candidate
    candidate.data = {**data, "pushed_to": data["pushed_to"] + delivered, "pushed_at": iso(now)}
    candidate.updated_at = now
    try:
        with transaction() as tx:
            tx.save(candidate)
            tx.save(
                audit.entry(
                    ENTITY,
                    _entity_id(data["cycle"], data["filing"]),
                    "pushed",
                    caller,
                    now,
                    {"new_feed_items": delivered, "industry": data["industry"]},
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("The candidate changed while it was being pushed; nominate it again to finish")
        ) from None
    return candidate


def approved_at(filing_id: str, now: datetime) -> datetime:
    """When the filing was first approved (what a push is dated by); `now` when unknown."""
    try:
        filing = Filing.get(*filings.doc_key(filing_id))
    except Filing.DoesNotExist:
        return now
    return filing.first_approved_at or filing.reviewed_at or now


# ---- expert scores ---------------------------------------------------------------------


def score(caller: Caller | None, cycle_id: str, filing_id: str, body: ExpertScoreIn, now: datetime) -> dict:
    """An expert's score of a candidate in their fields; a second PUT replaces the first.

    Refused (403) outside the expert's assigned fields, without a registered home province, when
    the token's province claim disagrees with it, for candidates of the registered home province
    (conflict of interest) and off the candidate's panel; 409 outside the library or with no panel.
    """
    caller = require(caller)
    candidate = candidate_or_404(cycle_id, filing_id)
    home = _check_scorer(caller, candidate.data, filing_id)
    scored = {
        "filing": filing_id,
        "cycle": cycle_id,
        "expert": caller.sub,
        "expert_province": home,
        "score": body.score,
        "comment": body.comment,
        "scored_at": iso(now),
    }
    previous = _get(score_key(cycle_id, filing_id, caller.sub))
    with transaction() as tx:
        # Last write wins: an expert's own two PUTs are the only writers of this row.
        tx.update(
            Record(*score_key(cycle_id, filing_id, caller.sub)),
            add_version_condition=False,
            actions=[Record.kind.set("expert_score"), Record.data.set(scored), Record.updated_at.set(now)],
        )
        tx.save(
            audit.entry(
                ENTITY,
                _entity_id(cycle_id, filing_id),
                "expert_score",
                caller,
                now,
                {
                    "score": body.score,
                    "comment": body.comment,
                    "replaces": previous.data["score"] if previous else None,
                },
            )
        )
    return scored


def _check_scorer(caller: Caller, data: dict[str, Any], filing_id: str) -> str:
    """The expert's registered home province, once they may score the candidate now (403/409 otherwise)."""
    if data["industry"] not in assigned_fields(caller.sub):
        raise Forbidden(
            Message(
                "Industry field %(industry)s is not assigned to you; a national admin assigns fields at PUT /experts/{sub}/fields",
                industry=data["industry"],
            )
        )
    home = home_provinces.home_of(caller)
    if home == data["province"]:
        raise Forbidden(
            Message(
                "Conflict of interest: the candidate is from your registered home province %(home)s",
                home=home,
            )
        )
    if data["status"] != "shortlisted":
        raise Conflict(
            Message(
                "Filing %(filing_id)s is %(status)s: experts score candidates of the library (shortlisted) until the panel decides",
                filing_id=filing_id,
                status=data["status"],
            )
        )
    if caller.sub not in named_panel(data, filing_id)["experts"]:
        raise Forbidden(
            Message(
                "You are not on the expert panel of filing %(filing_id)s; only its panel scores it",
                filing_id=filing_id,
            )
        )
    return home


def named_panel(candidate: dict[str, Any], filing_id: str) -> dict[str, Any]:
    """The candidate's named panel; 409 before a national admin names it."""
    panel = candidate.get("panel")
    if not panel:
        raise Conflict(
            Message(
                "No expert panel is named for filing %(filing_id)s yet; a national admin names it at "
                "PUT /cycles/%(cycle)s/candidates/%(filing_id)s/panel",
                filing_id=filing_id,
                cycle=candidate["cycle"],
            )
        )
    return panel


def panel_refusals(experts: list[str], candidate: dict[str, Any]) -> list[dict[str, Any]]:
    """Why each proposed expert cannot sit on the candidate's panel: not of its field, no registered
    home province, or a conflict of interest (that province is the candidate's)."""
    errors = []
    for n, expert in enumerate(experts):
        home = home_provinces.registered(expert)
        if candidate["industry"] not in assigned_fields(expert):
            reason = Message(
                "%(expert)s is not an expert of field %(industry)s (PUT /experts/{sub}/fields)",
                expert=expert,
                industry=candidate["industry"],
            )
        elif home is None:
            reason = Message(
                "no home province is registered for %(expert)s, so conflicts of interest cannot be judged",
                expert=expert,
            )
        elif home == candidate["province"]:
            reason = Message(
                "conflict of interest: the registered home province of %(expert)s is the candidate's (%(home)s)",
                expert=expert,
                home=home,
            )
        else:
            continue
        errors.append({"field": f"experts.{n}", "message": reason})
    return errors


def name_panel(caller: Caller | None, cycle_id: str, filing_id: str, body: PanelIn, now: datetime) -> dict:
    """Name a candidate's expert panel (national admins), audited; naming it again replaces it until the
    panel decides. Each expert is of the candidate's field without a conflict of interest, and the
    panel holds at least the rules' panel_size (422 naming each refusal)."""
    caller = require(caller)
    candidate = candidate_or_404(cycle_id, filing_id)
    data = candidate.data
    if data["status"] not in ("candidate", "shortlisted"):
        raise Conflict(
            Message(
                "Filing %(filing_id)s is %(status)s: a panel is named before it decides",
                filing_id=filing_id,
                status=data["status"],
            )
        )
    needed = rules()["panel_size"]
    errors = panel_refusals(body.experts, data)
    if len(body.experts) < needed:
        errors.insert(
            0,
            {
                "field": "experts",
                "message": Message(
                    "%(count)s experts; a panel holds at least %(needed)s",
                    count=len(body.experts),
                    needed=needed,
                ),
            },
        )
    if errors:
        raise Invalid(Message("The panel cannot be named as proposed"), errors=errors)
    before = (data.get("panel") or {}).get("experts")
    panel = {"experts": body.experts, "size": len(body.experts), "named_by": caller.sub, "named_at": iso(now)}
    candidate.data, candidate.updated_at = {**data, "panel": panel}, now
    entry = audit.entry(
        ENTITY, _entity_id(cycle_id, filing_id), "panel", caller, now, {"from": before, "to": body.experts}
    )
    try:
        with transaction() as tx:
            for item in (candidate, entry):
                tx.save(item)
    except TransactWriteError:
        raise Conflict(Message("The candidate changed while its panel was being named; try again")) from None
    return render(candidate)


def expert_scores(cycle_id: str, filing_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Expert scores of the cycle (or one candidate), by filing id."""
    condition = Record.sk.startswith(f"{filing_id}#") if filing_id else None
    out: dict[str, list[dict[str, Any]]] = {}
    for row in Record.query(f"EXPERTSCORE#{cycle_id}", condition):
        out.setdefault(row.data["filing"], []).append(row.data)
    return out


# ---- the candidate library cut (备选案例库) --------------------------------------------------


class RevocationIn(Body):
    reason: Text(1, 2000, multiline=True) = Field(
        description="why the excellent project is revoked (shown and audited)"
    )


def cut(caller: Caller, cycle_id: str, now: datetime) -> dict[str, Any]:
    """Cut the library from the screened candidates by their online evaluations: the rules' minimum
    count and mean, then the top N per field by ranking score; the rest are not_selected."""
    current = rules()
    everyone = list(Record.query(candidates_pk(cycle_id)))
    waiting = [c for c in everyone if c.data["status"] == "candidate"]
    numbers = running_counters.read_many({c.sk: filing_key(c.sk) for c in waiting})
    decided = _decide_library(
        _ranked(waiting, numbers, current), _shortlisted_per_field(everyone), current, now
    )
    # One transaction per candidate: each keeps its audit entry, and a partial cut is resumable.
    for c in decided:
        with transaction() as tx:
            tx.save(c)
            tx.save(
                audit.entry(
                    ENTITY,
                    _entity_id(cycle_id, c.sk),
                    c.data["status"],
                    caller,
                    now,
                    {"stage": "candidate_library", **c.data["library"]},
                )
            )
    return {
        "cycle": cycle_id,
        "rules": {k: current[k] for k in ("min_evaluations", "min_mean", "top_per_field")},
        "shortlisted": sorted(c.sk for c in decided if c.data["status"] == "shortlisted"),
        "not_selected": sorted(c.sk for c in decided if c.data["status"] == "not_selected"),
    }


def _shortlisted_per_field(candidates: list[Record]) -> dict[str, int]:
    """Per field, the candidates an earlier cut already shortlisted (they keep their places)."""
    kept: dict[str, int] = {}
    for c in candidates:
        if c.data.get("shortlisted_at"):
            kept[c.data["industry"]] = kept.get(c.data["industry"], 0) + 1
    return kept


def _ranked(
    waiting: list[Record], numbers: dict[str, dict[str, int]], current: dict[str, Any]
) -> list[tuple[Record, dict[str, Any], list[str]]]:
    """(candidate, evaluation summary, library rules it breaks), best ranking score first."""
    ranked = []
    for c in waiting:
        n = numbers.get(c.sk, {})
        count, total = n.get("evaluations", 0), n.get("evaluation_score_sum", 0)
        mean = total / count if count else 0.0
        ranked.append((c, evaluation_summary(n, current), _library_failures(count, mean, current)))
    ranked.sort(key=lambda r: (-r[1]["ranking_score"], -r[1]["count"], r[0].sk))
    return ranked


def _library_failures(count: int, mean: float, current: dict[str, Any]) -> list[str]:
    """The library's minimum count and mean of online evaluations a candidate misses."""
    failures = []
    if count < current["min_evaluations"]:
        failures.append(
            Message(
                "%(count)s online evaluations; the library needs at least %(min_evaluations)s",
                count=count,
                min_evaluations=current["min_evaluations"],
            )
        )
    if count and mean < current["min_mean"]:
        failures.append(
            Message(
                "mean online evaluation %(mean)s; the library needs at least %(min_mean)s",
                mean=round(mean, 3),
                min_mean=current["min_mean"],
            )
        )
    return failures


def _decide_library(
    ranked: list[tuple[Record, dict[str, Any], list[str]]],
    already: dict[str, int],
    current: dict[str, Any],
    now: datetime,
) -> list[Record]:
    """Each ranked candidate shortlisted or not_selected (with why), in rank order, while its field has room
    beside the candidates `already` shortlisted."""
    kept = dict(already)
    decided = []
    for c, summary, failures in ranked:
        field = c.data["industry"]
        if not failures and kept.get(field, 0) >= current["top_per_field"]:
            failures = [f"not among the top {current['top_per_field']} of field {field}"]
        status = "not_selected" if failures else "shortlisted"
        if status == "shortlisted":
            kept[field] = kept.get(field, 0) + 1
        c.data = {
            **c.data,
            "status": status,
            "shortlisted_at": iso(now) if status == "shortlisted" else None,
            "library": {
                "evaluations": summary["count"],
                "ranking_score": summary["ranking_score"],
                "failures": failures,
            },
        }
        c.updated_at = now
        decided.append(c)
    return decided


# ---- the expert panel's decision ---------------------------------------------------------


def confirm(caller: Caller | None, cycle_id: str, filing_id: str, now: datetime) -> dict[str, Any]:
    """The panel decides a library candidate (national admins): with the quorum of its experts' scores,
    a panel score at the pass mark selects it as an excellent project (bonus points), below it is
    not_selected. A decided candidate is returned as it stands."""
    caller = require(caller)
    candidate = candidate_or_404(cycle_id, filing_id)
    status = candidate.data["status"]
    if status in ("selected", "not_selected", "revoked"):
        return render(candidate)
    if status != "shortlisted":
        raise Conflict(
            Message(
                "Filing %(filing_id)s is not in the candidate library yet; cut the library first (POST /cycles/%(cycle_id)s/candidate-library)",
                filing_id=filing_id,
                cycle_id=cycle_id,
            )
        )
    decided = _panel_decision(candidate.data, filing_id, rules())
    outcome = "selected" if decided["panel_score"] >= decided["pass_score"] else "not_selected"
    project = None
    if outcome == "selected":
        panel = {
            "size": decided["panel_size"],
            "scores": decided["expert_scores"],
            "panel_score": decided["panel_score"],
        }
        project, _ = bonus.record_excellent(cycle_id, filing_id, caller, now, source="selection", panel=panel)
    data = candidate.data
    candidate.data = {
        **data,
        "status": outcome,
        "confirmed_by": caller.sub,
        "confirmed_at": iso(now),
        "decision": decided,
    }
    candidate.updated_at = now
    told = _decision_notice(cycle_id, filing_id, data, outcome, decided["panel_score"], now)
    entry = audit.entry(
        ENTITY,
        _entity_id(cycle_id, filing_id),
        outcome,
        caller,
        now,
        {**decided, "excellent_project": project},
    )
    try:
        with transaction() as tx:
            for item in (candidate, entry, told):
                tx.save(item)
    except TransactWriteError:
        raise Conflict(Message("The candidate changed while it was being decided; try again")) from None
    return render(candidate)


def _decision_notice(
    cycle_id: str, filing_id: str, candidate: dict[str, Any], outcome: str, panel_score: float, now: datetime
) -> Record:
    """The notification telling the candidate's province the panel's decision."""
    return notifications.to_province(
        candidate["province"],
        f"excellent_project_{outcome}",
        {
            "cycle": cycle_id,
            "filing": filing_id,
            "title": candidate["title"],
            "panel_score": panel_score,
            "link": f"/cycles/{cycle_id}/candidates/{filing_id}",
        },
        now,
    )


def _panel_decision(candidate: dict[str, Any], filing_id: str, current: dict[str, Any]) -> dict[str, Any]:
    """The panel's score from the scores of the experts on it; 409 without a panel or below the quorum."""
    panel = named_panel(candidate, filing_id)
    scores = [
        s["score"]
        for s in expert_scores(candidate["cycle"], filing_id).get(filing_id, [])
        if s["expert"] in panel["experts"]
    ]
    needed = current["min_expert_scores"]
    if len(scores) < needed:
        raise Conflict(
            Message(
                "Filing %(filing_id)s has %(scores)s expert scores from its panel of %(size)s; "
                "the panel's quorum is %(needed)s",
                filing_id=filing_id,
                scores=len(scores),
                size=panel["size"],
                needed=needed,
            )
        )
    return {
        "panel_score": panel_score(scores, current),
        "panel_size": panel["size"],
        "expert_scores": len(scores),
        "trimmed": len(scores) >= current["trim_from"],
        "pass_score": current["pass_score"],
    }


def revoke(
    caller: Caller | None, cycle_id: str, filing_id: str, body: RevocationIn, now: datetime
) -> dict[str, Any]:
    """Revoke an excellent project with a reason (national admins): later runs leave its bonus out,
    its candidate ends revoked, and its province is told; audited in the same transaction."""
    caller = require(caller)
    cycle_or_404(cycle_id)
    project = _revocable_project(cycle_id, filing_id)
    project.data = {
        **project.data,
        "revoked_at": iso(now),
        "revoked_by": caller.sub,
        "revoked_reason": body.reason,
    }
    project.updated_at = now
    candidate = find_candidate(cycle_id, filing_id)
    if candidate is not None:
        candidate.data = {
            **candidate.data,
            "status": "revoked",
            "revoked_at": iso(now),
            "revoked_reason": body.reason,
        }
        candidate.updated_at = now
    try:
        with transaction() as tx:
            for item in _revocation_items(caller, cycle_id, filing_id, project, candidate, body.reason, now):
                tx.save(item)
    except TransactWriteError:
        raise Conflict(
            Message("The excellent project changed while it was being revoked; try again")
        ) from None
    return project.data


def _revocable_project(cycle_id: str, filing_id: str) -> Record:
    """The cycle's excellent project of the filing, not yet revoked (404 when none, 409 once revoked)."""
    project = bonus.find(cycle_id, filing_id) if len(filing_id) <= MAX_ID else None
    if project is None:
        raise NotFound(
            Message(
                "Filing %(filing_id)s is not an excellent project of cycle %(cycle_id)s",
                filing_id=filing_id,
                cycle_id=cycle_id,
            )
        )
    if project.data.get("revoked_at"):
        raise Conflict(
            Message(
                "The excellent project %(filing_id)s was already revoked on %(revoked_at)s",
                filing_id=filing_id,
                revoked_at=project.data["revoked_at"],
            )
        )
    return project


def _revocation_items(
    caller: Caller,
    cycle_id: str,
    filing_id: str,
    project: Record,
    candidate: Record | None,
    reason: str,
    now: datetime,
) -> Iterator[Record]:
    """What one revocation writes, in one transaction: the project and its audit entry, the revoked candidate
    (if any) and its entry, and the province's notification."""
    yield project
    yield audit.entry(
        "excellent_project", f"{cycle_id}/{filing_id}", "revoked", caller, now, {"reason": reason}
    )
    if candidate is not None:
        yield candidate
        yield audit.entry(ENTITY, _entity_id(cycle_id, filing_id), "revoked", caller, now, {"reason": reason})
    yield notifications.to_province(
        project.data["province"],
        "excellent_project_revoked",
        {
            "cycle": cycle_id,
            "filing": filing_id,
            "title": project.data["title"],
            "reason": reason,
            "link": f"/cycles/{cycle_id}/excellent-projects",
        },
        now,
    )


# ---- the candidate case library ----------------------------------------------------------


def _mean(total: float, count: int, min_sample: int) -> float | None:
    return round(total / count, 3) if count >= min_sample and count else None


def evaluation_summary(numbers: dict[str, int], current: dict[str, Any]) -> dict[str, Any]:
    """Count, mean (only with the minimum sample), by side, and the shrunk mean candidates rank by."""
    count, total = numbers.get("evaluations", 0), numbers.get("evaluation_score_sum", 0)
    k, prior = current["prior_weight"], current["prior_mean"]
    shrunk = (k * prior + total) / (k + count) if k + count else prior
    return {
        "count": count,
        "mean": _mean(total, count, current["min_sample"]),
        "by_side": {
            side: {
                "count": numbers.get(f"evaluations_{side}", 0),
                "mean": _mean(
                    numbers.get(f"evaluation_score_sum_{side}", 0),
                    numbers.get(f"evaluations_{side}", 0),
                    current["min_sample"],
                ),
            }
            for side in SIDES
        },
        "ranking_score": round(shrunk, 4),
    }


def expert_summary(scores: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "count": len(scores),
        "mean": round(sum(s["score"] for s in scores) / len(scores), 2) if scores else None,
    }


def _library_rows(cycle_id: str, industry: str | None, status: str | None) -> list[dict[str, Any]]:
    current = rules()
    candidates = [
        c
        for c in Record.query(candidates_pk(cycle_id))
        if (industry is None or c.data["industry"] == industry)
        and (status is None or c.data["status"] == status)
    ]
    numbers = running_counters.read_many({c.sk: filing_key(c.sk) for c in candidates})
    scores = expert_scores(cycle_id)
    rows = []
    for c in candidates:
        evaluation = evaluation_summary(numbers.get(c.sk, {}), current)
        experts = expert_summary(scores.get(c.sk, []))
        rows.append({**render(c), "evaluations": evaluation, "expert_scores": experts})
    rows.sort(
        key=lambda r: (
            -r["evaluations"]["ranking_score"],
            -(r["expert_scores"]["mean"] or -1),
            -r["evaluations"]["count"],
            r["filing"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def library(
    caller: Caller | None,
    cycle_id: str,
    industry: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    secret: str,
) -> dict[str, Any]:
    """The cycle's candidates ranked by online evaluation, with expert score summaries (admins, experts)."""
    require(caller)
    cycle_or_404(cycle_id)
    if industry is not None and industry not in INDUSTRIES:
        raise Invalid(
            Message("Unknown industry %(industry)r", industry=industry),
            errors=[{"field": "industry", "message": Message("unknown value")}],
        )
    if status is not None and status not in STATUSES:
        raise Invalid(
            Message("Unknown status %(status)r", status=status),
            errors=[{"field": "status", "message": Message("unknown value")}],
        )
    # A ranking is computed whole (a cycle has tens of candidates), so the cursor carries an offset.
    scope = scope_of("CANDIDATES", cycle=cycle_id, industry=industry, status=status)
    start = decode_cursor(cursor, scope, secret) or {"offset": 0}
    offset = start.get("offset")
    if not isinstance(offset, int) or offset < 0:
        raise BadRequest(
            Message("The cursor is not valid"),
            errors=[{"field": "cursor", "message": Message("not a cursor this server issued")}],
        )
    rows = _library_rows(cycle_id, industry, status)
    items = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    page = Page(items, encode_cursor({"offset": offset + limit}, scope, secret) if more else None)
    return {
        "rules": {k: rules()[k] for k in ("min_sample", "prior_mean", "prior_weight")},
        **page.to_dict(lambda r: r),
    }


def detail(caller: Caller | None, cycle_id: str, filing_id: str) -> dict[str, Any]:
    """One candidate with its evaluations, expert scores and its whole journey (audit trail).

    National admins see every expert's score and comment; an expert sees their own.
    """
    caller = require(caller)
    candidate = candidate_or_404(cycle_id, filing_id)
    scores = expert_scores(cycle_id, filing_id).get(filing_id, [])
    visible = scores if caller.is_national_admin else [s for s in scores if s["expert"] == caller.sub]
    # Steps of one request share an instant, and the trail orders those randomly.
    history = sorted(
        audit.trail(ENTITY, _entity_id(cycle_id, filing_id)),
        key=lambda h: (h["at"], STEPS.index(h["action"]) if h["action"] in STEPS else len(STEPS)),
    )
    if not caller.is_national_admin:
        history = [h for h in history if h["action"] != "expert_score" or h["actor"] == caller.sub]
    return {
        **render(candidate),
        "evaluations": evaluation_summary(evaluations_of(filing_id), rules()),
        "expert_scores": {**expert_summary(scores), "items": visible},
        "history": history,
    }


def render(candidate: Record) -> dict[str, Any]:
    return {
        **candidate.data,
        "links": {
            "filing": f"/filings/{candidate.sk}",
            "self": f"/cycles/{candidate.data['cycle']}/candidates/{candidate.sk}",
        },
    }
