"""The scoring scheme: areas, indicators, weights, normalisation, caps, bonus and flag thresholds.

The official scheme (国知办发运字〔2023〕4号) names three first-level areas but publishes no
sub-indicators or weights, so the default below is this platform's proposal. It is data:
a national admin stores a new version with `PUT /scoring-scheme` and every run records the
version it used. Version 1 is the built-in default and is never stored.

How a unit's points on one indicator are made (see scoring_math.py):
  value  = Σ factor × input over the indicator's `inputs` (or a ratio / mean, by `measure`)
  score  ∈ [0, 1] by `normalise`:
    log_best  log(1 + min(value, cap)) / log(1 + best), best = the best unit's capped value
              and cap = `cap_median_multiple` × the median of the units' non-zero values:
              damping and the cap mean no single inflated number can buy a rank.
    ratio     min(value, 1)                (completeness shares)
    mean      Bayesian mean of 1..5 scores, shrunk towards `prior` by `prior_weight`
              pseudo-evaluations, mapped to [0, 1]   (a few 5s do not beat many 4s)
    flag      1 if value > 0
  points = weight × score
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chalicelib.core import audit
from chalicelib.core.auth import Caller, require
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Record
from chalicelib.core.schemas import Text
from chalicelib.core.store import TransactWriteError, transaction
from chalicelib.core.vocabulary import NEAR_CUTOFF_TEXT
from chalicelib.scoring import derived_inputs
from chalicelib.usage import metrics
from chalicelib.usage.counting_rules import APPROVED_NAMES

PK = "SCHEME"
DEFAULT_VERSION = 1

# Inputs an indicator may read: counter names of the province×cycle item, plus facts the run derives.
# Derived from the metrics registry and counting_rules.py's names, so a new metric, kind, report type or
# side is an input at once.
COUNTER_INPUTS = (
    list(metrics.REGISTRY.usage_counters)
    + list(APPROVED_NAMES)
    + list(metrics.REGISTRY.publication_usage_counters)  # usage of the unit's publications (活跃度)
)
DERIVED_INPUTS = derived_inputs.NAMES  # each declared once, with how it is derived
INPUTS = tuple(COUNTER_INPUTS) + DERIVED_INPUTS

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Name = Text(1, 100)


OBJECTION_DAYS = 7


class Strict(BaseModel):
    # NaN and Infinity would pass every ge/le bound and turn scores and the stored scheme into NaN.
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, defer_build=True
    )  # as Body's, for cold starts


class IndicatorIn(Strict):
    id: Id
    name: Name
    measure: Literal["sum", "ratio", "mean"] = Field(
        "sum", description="sum: Σ factor×input; ratio: inputs ÷ denominator; mean: score sum ÷ count"
    )
    inputs: dict[str, float] = Field(min_length=1, description="input name → factor")
    denominator: str | None = Field(None, description="ratio: the input divided by")
    if_denominator_zero: float = Field(
        0.0,
        ge=0,
        le=1,
        description="ratio: value when the denominator is 0 "
        "(a missing denominator, e.g. no annual form, always gives 0)",
    )
    count: str | None = Field(None, description="mean: the input holding the number of scores")
    normalise: Literal["log_best", "ratio", "mean", "flag"]
    cap_median_multiple: float | None = Field(None, gt=0, description="log_best: cap at k × median")
    prior: float = Field(3.0, ge=1, le=5, description="mean: the neutral score shrunk towards")
    prior_weight: float = Field(10.0, ge=0, description="mean: pseudo-evaluations at the prior")
    weight: float = Field(ge=0, le=100)
    note: Text(0, 1000, multiline=True) | None = None

    @model_validator(mode="after")
    def _known_inputs(self) -> IndicatorIn:
        for name in [*self.inputs, self.denominator, self.count]:
            if name is not None and name not in INPUTS:
                raise ValueError(Message("unknown input %(name)r; see the scheme's `inputs`", name=name))
        if self.measure == "ratio" and not self.denominator:
            raise ValueError(Message("a ratio needs a denominator"))
        if self.measure == "mean" and not self.count:
            raise ValueError(Message("a mean needs a count"))
        return self


class AreaIn(Strict):
    id: Id
    name: Name
    indicators: list[IndicatorIn] = Field(min_length=1, max_length=40)


class BonusIn(Strict):
    points_per_excellent_project: float = Field(ge=0, le=20)
    cap: float = Field(ge=0, le=20)


class FlagRulesIn(Strict):
    spike_multiple: float = Field(
        3.0, gt=0, description="COUNTER R5.1 §7.12: month ≥ k × previous-12 mean + margin"
    )
    spike_margin: float = Field(100, ge=0)
    spike_min_history_months: int = Field(3, ge=1, le=12)
    spike_counters: list[str] = ["views_total", "downloads_total"]
    burst_min_total: int = Field(30, ge=1, description="bursts: ignore units with fewer reactions")
    burst_top_accounts: int = Field(3, ge=1)
    burst_share: float = Field(0.5, gt=0, le=1, description="share held by the top accounts that flags")
    burst_counters: list[str] = ["evaluations", "likes"]
    cutoff_min_filings: int = Field(20, ge=1)
    cutoff_share: float = Field(
        0.5, gt=0, le=1, description=f"share of approved filings filed in the last {NEAR_CUTOFF_TEXT}"
    )
    swarm_min_accounts: int = Field(
        20,
        ge=2,
        description="puppet swarm: accounts new in the cycle whose whole "
        "activity lies on the unit, first acting on it within the window",
    )
    swarm_window_minutes: int = Field(10, ge=1, le=1440, description="puppet swarm: the window, in minutes")
    swarm_extreme_min_accounts: int = Field(
        20, ge=2, description="puppet scores: such accounts giving only extreme scores (all 5s or all 1s)"
    )
    swarm_extreme_min_evaluations: int = Field(
        3,
        ge=1,
        description="puppet scores: an account's scores are "
        "uniformly extreme when it gave at least this many, all 5 or all 1",
    )
    swarm_extreme_share: float = Field(
        0.9, gt=0, le=1, description="puppet scores: their share of such accounts that evaluated the unit"
    )


class SchemeIn(Strict):
    """A new scheme version (PUT /scoring-scheme). Indicator weights must add up to 100."""

    name: Name
    note: Text(0, 2000, multiline=True) | None = None
    areas: list[AreaIn] = Field(min_length=1, max_length=10)
    bonus: BonusIn
    flags: FlagRulesIn = FlagRulesIn()
    objection_days: int = Field(
        OBJECTION_DAYS,
        ge=1,
        le=60,
        description="异议期: days a provisional publication stays open to provinces' objections",
    )

    @model_validator(mode="after")
    def _weights(self) -> SchemeIn:
        ids = [i.id for a in self.areas for i in a.indicators]
        if len(set(ids)) != len(ids) or len({a.id for a in self.areas}) != len(self.areas):
            raise ValueError(Message("area and indicator ids must be unique"))
        total = sum(i.weight for a in self.areas for i in a.indicators)
        if abs(total - 100) > 1e-6:
            raise ValueError(Message("indicator weights add up to %(total)g, not 100", total=total))
        return self


def indicator_spec(id, name, inputs, weight, normalise="log_best", **kw) -> dict:
    """A built-in scheme's indicator: a log_best one is capped at 3 × the median unless told otherwise."""
    body = {"id": id, "name": name, "inputs": inputs, "weight": weight, "normalise": normalise}
    if normalise == "log_best":
        body["cap_median_multiple"] = 3.0
    body.update(kw)
    return body


DEFAULT_SCHEME: dict[str, Any] = {
    "version": DEFAULT_VERSION,
    "name": "默认指标体系（平台建议稿）",
    "note": "Proposal: 国知办发运字〔2023〕4号 names the three areas; sub-indicators and weights are ours.",
    "areas": [
        {
            "id": "implementation",
            "name": "项目实施",
            "indicators": [
                indicator_spec(
                    "reports",
                    "备案导航报告（按类型加权）",
                    {
                        "reports_approved_regional_planning": 1.5,
                        "reports_approved_industry_planning": 1.5,
                        "reports_approved_enterprise_operation": 1.0,
                        "reports_approved_rd_activity": 1.0,
                        "reports_approved_talent_management": 1.0,
                        "reports_approved_other": 0.8,
                        "reports_approved_none": 0.8,
                    },
                    12,
                    note="Planning reports guide a whole region or industry, so they weigh more.",
                ),
                indicator_spec("databases", "专题数据库", {"filings_approved_database": 1}, 6),
                indicator_spec("tools", "导航工具", {"filings_approved_tool": 1}, 5),
                indicator_spec(
                    "publications",
                    "信息发布（按类型加权）",
                    {
                        "publications_approved_policy": 1.5,
                        "publications_approved_navigation_info": 1.2,
                        "publications_approved_notice": 1.0,
                        "publications_approved_news": 0.8,
                    },
                    6,
                ),
                indicator_spec(
                    "fiscal_completeness",
                    "财政资助项目备案完整率",
                    {"filings_approved_fiscal": 1},
                    10,
                    "ratio",
                    measure="ratio",
                    denominator="form_fiscal_projects",
                    if_denominator_zero=1.0,
                    note="Approved fiscal-funded filings ÷ fiscal-funded projects declared on the annual form, "
                    "capped at 1; no form means 0, a form declaring none means 1 (and a flag).",
                ),
                indicator_spec(
                    "timeliness",
                    "备案及时性",
                    {"filings_on_time": 1},
                    6,
                    "ratio",
                    measure="ratio",
                    denominator="filings_approved",
                    note=f"Share of approved filings filed before the last {NEAR_CUTOFF_TEXT} of the cycle.",
                ),
            ],
        },
        {
            "id": "application",
            "name": "应用成效",
            "indicators": [
                indicator_spec(
                    "application_proofs", "成果应用证明", {"filings_approved_application_proof": 1}, 9
                ),
                indicator_spec("application_updates", "应用情况更新", {"application_updates": 1}, 4),
                indicator_spec("views", "浏览（COUNTER 唯一调查）", {"views_unique": 1}, 5),
                indicator_spec("downloads", "下载（COUNTER 唯一请求）", {"downloads_unique": 1}, 5),
                indicator_spec("evaluation_count", "在线评价数量", {"evaluations": 1}, 4),
                indicator_spec(
                    "evaluation_mean",
                    "在线评价均分",
                    {"evaluation_score_sum": 1},
                    5,
                    "mean",
                    measure="mean",
                    count="evaluations",
                    prior=3.0,
                    prior_weight=10.0,
                ),
                indicator_spec(
                    "evaluation_sides",
                    "评价主体覆盖（政府/企业/高校/科研院所）",
                    {"evaluation_sides": 0.25},
                    2,
                    "ratio",
                ),
                indicator_spec("comments", "评论", {"comments": 1}, 2),
                indicator_spec("likes", "点赞", {"likes": 1}, 2),
                indicator_spec("favorites", "收藏", {"favorites": 1}, 2),
            ],
        },
        {
            "id": "support",
            "name": "基本保障",
            "indicators": [
                indicator_spec("annual_form", "年度信息表按期报送", {"form_filed": 1}, 4, "flag"),
                indicator_spec(
                    "form_completeness", "年度信息表内容完整度", {"form_completeness": 1}, 6, "ratio"
                ),
                indicator_spec("funding", "导航工作经费投入", {"form_funding": 1}, 5),
            ],
        },
    ],
    "bonus": {"points_per_excellent_project": 2.0, "cap": 6.0},
    "flags": FlagRulesIn().model_dump(),
}


def _validated(data: dict) -> dict:
    """Normalise a scheme through its pydantic model (fills defaults, checks weights)."""
    return SchemeIn.model_validate({k: v for k, v in data.items() if k in SchemeIn.model_fields}).model_dump()


def default_scheme() -> dict[str, Any]:
    """The built-in version 1."""
    return {
        "version": DEFAULT_VERSION,
        "created_at": None,
        "created_by": "built-in",
        **_validated(copy.deepcopy(DEFAULT_SCHEME)),
    }


def _sk(version: int) -> str:
    return f"V#{version:06d}"


def current(pk: str = PK, default: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The newest scheme version (the built-in default until a national admin stores one).

    Another evaluated population keeps its own versions under its own `pk`, with its own default."""
    for record in Record.query(pk, Record.sk.startswith("V#"), scan_index_forward=False, limit=1):
        return record.data
    return (default or default_scheme)()


def get_version(
    version: int, pk: str = PK, default: Callable[[], dict[str, Any]] | None = None
) -> dict[str, Any]:
    if version == DEFAULT_VERSION:
        return (default or default_scheme)()
    try:
        return Record.get(pk, _sk(version)).data
    except Record.DoesNotExist:
        raise NotFound(Message("No scoring scheme version %(version)s", version=version)) from None


def parse_version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 999999:
        raise Invalid(
            Message("version must be a positive integer"),
            errors=[{"field": "version", "message": Message("must be a positive integer")}],
        )
    return int(raw)


def store_new(
    caller: Caller | None,
    body: SchemeIn,
    now: datetime,
    pk: str = PK,
    default: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store `body` as the next version; runs from now on use it (older runs keep theirs)."""
    caller = require(caller)
    version = current(pk, default)["version"] + 1
    data = {"version": version, "created_at": iso(now), "created_by": caller.sub, **body.model_dump()}
    record = Record(pk, _sk(version), kind="scoring_scheme", data=data, created_at=now, updated_at=now)
    try:
        with transaction() as tx:
            tx.save(record, condition=Record.pk.does_not_exist())
            entity_id = str(version) if pk == PK else f"{pk}/{version}"
            tx.save(
                audit.entry(
                    "scoring_scheme",
                    entity_id,
                    "created",
                    caller,
                    now,
                    {"name": body.name, "note": body.note},
                )
            )
    except TransactWriteError:
        raise Conflict(
            Message("Another scheme version was stored at the same time; read it and retry")
        ) from None
    return data


def objection_days(scheme: dict[str, Any]) -> int:
    """The scheme's objection window in days; a version stored before it existed gets the default."""
    return int(scheme.get("objection_days", OBJECTION_DAYS))


def flag_rules(scheme: dict[str, Any]) -> dict[str, Any]:
    """The scheme's flag thresholds; a version stored before a check existed gets its defaults."""
    return {**FlagRulesIn().model_dump(), **scheme.get("flags", {})}


def indicators(scheme: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(area id, indicator) pairs in the scheme's order."""
    return [(area["id"], ind) for area in scheme["areas"] for ind in area["indicators"]]


def describe(scheme: dict[str, Any]) -> dict[str, Any]:
    """The scheme as served, with the list of inputs indicators may use."""
    return {
        **scheme,
        "total_weight": round(sum(i["weight"] for _, i in indicators(scheme)), 6),
        "inputs": {"counters": list(COUNTER_INPUTS), "derived": list(DERIVED_INPUTS)},
    }


def describe_version(raw_version: str | None) -> dict[str, Any]:
    """GET /scoring-scheme: the version asked for (a query parameter, checked), else the current one."""
    version = parse_version(raw_version)
    return describe(current() if version is None else get_version(version))
