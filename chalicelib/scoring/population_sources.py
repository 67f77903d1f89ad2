"""Evaluated populations and what differs between them: who a run ranks, by which scheme, from which
inputs. The 32 provincial units (reference data), and under the same notice the national patent
navigation service bases (国家级专利导航服务基地) and support institutions (专利导航支撑服务机构), each
with a stored registry and its own built-in scheme. Everything else about a run (gather, compute,
store, load, publish, export, explain) is one code path (runs.py) reading a `Population`.

Storage (records table): `POPULATION#{population}` / `UNIT#{code}` a registered unit (kind
`population_unit`); `SCHEME#{population}` / `V#{version}` a population's stored scheme versions (the
provinces' are `SCHEME` / `V#…`). A population's runs, adjustments, flag resolutions and publications are
kept under its scope: the cycle for the provinces (their keys predate populations), else
"<population>#<cycle>".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.cycles import Cycle
from chalicelib.core.errors import NotFound
from chalicelib.core.messages import Message
from chalicelib.core.models import Filing, Record
from chalicelib.core.reference import PROVINCES
from chalicelib.documents import filings
from chalicelib.scoring import announcements, annual_forms, bonus, derived_inputs
from chalicelib.scoring import scheme as scheme_mod
from chalicelib.scoring.derived_inputs import FormFacts
from chalicelib.scoring.scheme import indicator_spec
from chalicelib.usage import counting_rules, running_counters

PROVINCES_ID = "provinces"

Units = dict[str, dict[str, Any]]  # code → {"code", "name", "province"}


@dataclass(frozen=True)
class ScoresAnswer:
    """What GET .../scores shows of a run: the list's name, the header's fields and each row's fields."""

    rows: str
    header: tuple[str, ...]
    row: tuple[str, ...]


@dataclass(frozen=True)
class Population:
    id: str
    name: str
    key: str  # the field a result row names its unit in
    subject: str  # what its announcements publish the results of
    stored_as: str | None  # the name its records are scoped by (None: by the cycle alone)
    registered: bool  # its units are a stored registry (else reference data)
    units: Callable[[], Units]
    counter_key: Callable[[str, str], tuple[str, str]]  # (code, cycle) → the unit's cycle counters
    # (code, "YYYY-MM") → the unit's month counters (spikes), (code, cycle) → its per-account counters
    # (bursts, swarms), code → how accounts' own counters name the unit (swarms: counting_rules.unit_name)
    month_key: Callable[[str, str], tuple[str, str]]
    accounts: Callable[[str, str], dict[str, dict[str, int]]]
    account_name: Callable[[str], str]
    forms: Callable[[Cycle, bool], dict[str, FormFacts]]  # code → its annual form, as a run reads it
    excellent: Callable[
        [str, Units], list[dict[str, Any]]
    ]  # the bonus projects, naming the unit in `province`
    scheme_pk: str
    default_scheme: Callable[[], dict[str, Any]]
    answer: ScoresAnswer
    announcement: str  # the path under base_path where its publications are read

    def scope(self, cycle_id: str) -> str:
        return announcements.scope_key(cycle_id, self.stored_as)

    def tag(self) -> dict[str, str]:
        """What its run headers and adjustments carry to name the population."""
        return {"population": self.id} if self.stored_as else {}

    def base_path(self, cycle_id: str) -> str:
        return f"/populations/{self.id}/cycles/{cycle_id}" if self.stored_as else f"/cycles/{cycle_id}"

    def current_scheme(self) -> dict[str, Any]:
        return scheme_mod.current(self.scheme_pk, self.default_scheme)

    def scheme_version(self, version: int) -> dict[str, Any]:
        return scheme_mod.get_version(version, self.scheme_pk, self.default_scheme)


# ---- registries ------------------------------------------------------------------------------


def registry_pk(population: str) -> str:
    return f"POPULATION#{population}"


def registry_key(population: str, code: str) -> tuple[str, str]:
    """A unit's entry in its population's registry (the prefix is the one its counters use)."""
    return registry_pk(population), f"{counting_rules.UNIT}{code}"


def registered(population: str) -> Units:
    """Every unit of a stored registry, by code."""
    return {
        r.data["code"]: r.data
        for r in Record.query(registry_pk(population), Record.sk.startswith(counting_rules.UNIT))
    }


def _provinces() -> Units:
    return {code: {"code": code, "name": name, "province": code} for code, name in PROVINCES.items()}


# ---- where the provinces' inputs come from ---------------------------------------------------


def _province_form(code: str, year: int, form: Mapping[str, Any]) -> FormFacts:
    facts = FormFacts(year, form)
    if derived_inputs.needs_proofs(facts):  # one Query, only for a form stating a figure that needs proof
        return FormFacts(year, form, annual_forms.proofs_of(code, year))
    return facts


def _province_forms(cycle: Cycle, provisional: bool) -> dict[str, FormFacts]:
    """province → its form of the cycle's closing year. A provisional run falls back to the year
    before, since the cycle's own form is only due after it closes."""
    year = cycle.closing_year
    found = {code: (year, form) for code, form in annual_forms.forms_of(year).items()}
    if provisional and len(found) < len(PROVINCES):
        for code, form in annual_forms.forms_of(year - 1).items():
            found.setdefault(code, (year - 1, form))
    return {code: _province_form(code, y, form) for code, (y, form) in sorted(found.items())}


# ---- where a registered unit's inputs come from -----------------------------------------------


def _excellent_of(population: str) -> Callable[[str, Units], list[dict[str, Any]]]:
    def excellent(cycle_id: str, units: Units) -> list[dict[str, Any]]:
        """The cycle's standing excellent projects whose filing is attributed to a unit of the population,
        each named by that unit (what the bonus counts), in one BatchGet of their filings."""
        projects = bonus.excellent_projects(cycle_id)
        if not projects:
            return []
        attributed = {
            f.id: f.attributed_to
            for f in Filing.batch_get(
                [filings.doc_key(p["filing"]) for p in projects],
                attributes_to_get=["pk", "sk", "id", "attributed_to"],
            )
        }
        out = []
        for p in projects:
            population_of, _, code = (attributed.get(p["filing"]) or "").partition("#")
            if population_of == population and code in units:
                out.append({**p, "province": code, "filing_province": p["province"]})
        return out

    return excellent


_REPORTS = {
    "reports_approved_regional_planning": 1.0,
    "reports_approved_industry_planning": 1.5,
    "reports_approved_enterprise_operation": 1.5,
    "reports_approved_rd_activity": 1.2,
    "reports_approved_talent_management": 1.0,
    "reports_approved_other": 0.8,
    "reports_approved_none": 0.8,
}


def _unit_scheme(name: str, note: str, own_area: dict[str, Any], proof_weight: float) -> dict[str, Any]:
    """A registered population's built-in scheme: its own area first, then the application (with the
    usage of its attributed results) and conduct areas they share; excellent projects attributed to a
    unit add its bonus, as for provinces."""
    application = [
        indicator_spec(
            "application_proofs", "成果应用证明", {"filings_approved_application_proof": 1}, proof_weight
        ),
        indicator_spec("views", "浏览（COUNTER 唯一调查）", {"views_unique": 1}, 10),
        indicator_spec("downloads", "下载（COUNTER 唯一请求）", {"downloads_unique": 1}, 5),
        indicator_spec(
            "evaluation_mean",
            "在线评价均分",
            {"evaluation_score_sum": 1},
            10,
            "mean",
            measure="mean",
            count="evaluations",
            prior=3.0,
            prior_weight=10.0,
        ),
    ]
    timeliness = indicator_spec(
        "timeliness",
        "备案及时性",
        {"filings_on_time": 1},
        10,
        "ratio",
        measure="ratio",
        denominator="filings_approved",
    )
    return {
        "name": name,
        "note": note,
        "areas": [
            own_area,
            {"id": "application", "name": "应用成效", "indicators": application},
            {"id": "conduct", "name": "规范运行", "indicators": [timeliness]},
        ],
        "bonus": {"points_per_excellent_project": 2.0, "cap": 6.0},
    }


# The built-in version 1 of each registered population's scheme (platform proposals; national admins
# store others).
DEFAULT_SCHEMES: dict[str, dict[str, Any]] = {
    "service_bases": _unit_scheme(
        "国家级专利导航服务基地评价指标（平台建议稿）",
        "Service bases are judged on the navigation services they deliver and how they are applied.",
        {
            "id": "services",
            "name": "导航服务成果",
            "indicators": [
                indicator_spec("reports", "导航报告（按类型加权）", _REPORTS, 25),
                indicator_spec("databases", "专题数据库", {"filings_approved_database": 1}, 10),
                indicator_spec("tools", "导航工具", {"filings_approved_tool": 1}, 5),
            ],
        },
        proof_weight=25,
    ),
    "support_institutions": _unit_scheme(
        "专利导航支撑服务机构评价指标（平台建议稿）",
        "Support institutions are judged on the databases and tools they build and their use.",
        {
            "id": "support",
            "name": "支撑能力",
            "indicators": [
                indicator_spec("databases", "专题数据库", {"filings_approved_database": 1}, 25),
                indicator_spec("tools", "导航工具", {"filings_approved_tool": 1}, 15),
                indicator_spec("reports", "导航报告", _REPORTS, 10),
            ],
        },
        proof_weight=15,
    ),
}


def _built_in(population: str) -> Callable[[], dict[str, Any]]:
    def built_in() -> dict[str, Any]:
        body = scheme_mod.SchemeIn.model_validate(copy.deepcopy(DEFAULT_SCHEMES[population])).model_dump()
        return {"version": scheme_mod.DEFAULT_VERSION, "created_at": None, "created_by": "built-in", **body}

    return built_in


# ---- the populations -------------------------------------------------------------------------

_PROVINCES_ANSWER = ScoresAnswer(
    "provinces",
    ("run_id", "cycle", "scheme_version", "published", "provisional", "created_at", "published_at"),
    (
        "province",
        "name",
        "rank",
        "total",
        "areas",
        "indicators",
        "bonus",
        "excellent_projects",
        "adjustments",
        "total_adjustment",
        "flags",
    ),
)
_UNITS_ANSWER = ScoresAnswer(
    "units",
    (
        "run_id",
        "population",
        "cycle",
        "scheme_version",
        "scheme_name",
        "provisional",
        "published",
        "created_at",
    ),
    ("unit", "name", "rank", "total", "areas", "indicators", "flags"),
)


def _registered_population(population: str, name: str) -> Population:
    """A population of registered units: its counters are the `UNIT#` counters (per cycle, per month, per
    account) its attributed filings and their usage add to."""

    def ref(code: str) -> str:
        return f"{population}#{code}"  # what a filing's `attributed_to` names

    return Population(
        id=population,
        name=name,
        key="unit",
        subject=name,
        stored_as=population,
        registered=True,
        units=lambda: registered(population),
        counter_key=lambda code, cycle_id: counting_rules.unit_cycle_key(ref(code), cycle_id),
        month_key=lambda code, month: counting_rules.unit_month_key(ref(code), month),
        accounts=lambda code, cycle_id: running_counters.accounts(
            counting_rules.unit_pk(ref(code)), cycle_id
        ),
        account_name=lambda code: counting_rules.unit_pk(ref(code)),
        forms=lambda cycle, provisional: {},
        excellent=_excellent_of(population),
        scheme_pk=f"{scheme_mod.PK}#{population}",
        default_scheme=_built_in(population),
        answer=_UNITS_ANSWER,
        announcement="announcements",
    )


POPULATIONS: dict[str, Population] = {
    PROVINCES_ID: Population(
        id=PROVINCES_ID,
        name="省级专利导航工作（32个省级单位）",
        key="province",
        subject="专利导航工作",
        stored_as=None,
        registered=False,
        units=_provinces,
        counter_key=counting_rules.cycle_key,
        month_key=counting_rules.province_month_key,
        accounts=running_counters.accounts,
        account_name=lambda code: code,
        forms=_province_forms,
        excellent=lambda cycle_id, units: bonus.excellent_projects(cycle_id),
        scheme_pk=scheme_mod.PK,
        default_scheme=scheme_mod.default_scheme,
        answer=_PROVINCES_ANSWER,
        announcement="announcement",
    ),
    "service_bases": _registered_population("service_bases", "国家级专利导航服务基地"),
    "support_institutions": _registered_population("support_institutions", "专利导航支撑服务机构"),
}
PROVINCIAL = POPULATIONS[PROVINCES_ID]


def population_or_404(population: str) -> Population:
    found = POPULATIONS.get(population)
    if found is None:
        raise NotFound(
            Message("No evaluated population %(population)s; see /populations", population=population)
        )
    return found
