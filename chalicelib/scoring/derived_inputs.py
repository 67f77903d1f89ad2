"""Derived scheme inputs, declared once: each entry names an input an indicator may read beyond the
raw counters, says how it is derived and from which unit×cycle counters and annual-form figures, and
which proof files the form must carry for its figures to count. Scheme validation (scheme.INPUTS),
the run's inputs (runs.py) and the explanation's sources (explanations.py) all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.messages import Message
from chalicelib.core.vocabulary import SIDES
from chalicelib.scoring import annual_forms

FUNDING_PROOF = "funding_proof"  # the attachment purpose that proves the form's funding figures


@dataclass(frozen=True)
class FormFacts:
    """A unit's annual form as a run reads it: its year, its content and the purposes of its stored proofs."""

    year: int | None = None
    form: Mapping[str, Any] | None = None
    proofs: frozenset[str] = field(default_factory=frozenset)


NO_FORM = FormFacts()


@dataclass(frozen=True)
class DerivedInput:
    name: str
    derived: str  # how it is made, as the explanation shows it
    value: Callable[[Mapping[str, int], FormFacts], Any]
    counters: tuple[str, ...] = ()  # the unit×cycle counters it is made from
    proofs: tuple[str, ...] = ()  # proof purposes the form must carry for its figures to count
    claimed: Callable[[FormFacts], Any] = lambda facts: None  # the figure the form states (proofs only)

    def unproven(self, facts: FormFacts) -> Message | None:
        """Why the form's figure is not counted (a figure stated without its proofs), None when it counts."""
        missing = [p for p in self.proofs if p not in facts.proofs]
        figure = self.claimed(facts)
        if not missing or not figure:
            return None
        return not_counted_reason(year=facts.year, figure=f"{figure:g}", missing=", ".join(missing))


def not_counted_reason(**params: Any) -> Message:
    """Why a form's figure counted as 0; a run keeps these parameters, its explanation renders them."""
    return Message(
        "the %(year)s annual form states %(figure)s but carries no %(missing)s file: "
        "counted as 0 until the proof is attached",
        **params,
    )


def _funding(facts: FormFacts) -> float | None:
    funding = facts.form["funding"] if facts.form else None
    return round(funding["provincial_funds"] + funding["other_funds"], 6) if funding else None


DERIVED_INPUTS: tuple[DerivedInput, ...] = (
    DerivedInput(
        "form_filed",
        "1 when the province's annual form is on file, else 0",
        lambda numbers, facts: 1 if facts.form else 0,
    ),
    DerivedInput(
        "form_completeness",
        "share of the annual form's sections with substance",
        lambda numbers, facts: round(annual_forms.completeness(facts.form), 6),
    ),
    DerivedInput(
        "form_funding",
        "provincial_funds + other_funds declared on the annual form (10k yuan), "
        f"counted only with a {FUNDING_PROOF} file attached to the form",
        lambda numbers, facts: _funding(facts) if facts.form else 0,
        proofs=(FUNDING_PROOF,),
        claimed=_funding,
    ),
    DerivedInput(
        "form_fiscal_projects",
        "fiscal-funded projects declared on the annual form (none without a form)",
        lambda numbers, facts: facts.form["projects"]["fiscal_funded"] if facts.form else None,
    ),
    DerivedInput(
        "filings_on_time",
        "max(0, filings_approved - filings_approved_near_cutoff)",
        lambda numbers, facts: max(
            0, numbers.get("filings_approved", 0) - numbers.get("filings_approved_near_cutoff", 0)
        ),
        counters=("filings_approved", "filings_approved_near_cutoff"),
    ),
    DerivedInput(
        "evaluation_sides",
        "number of sides whose evaluations_<side> > 0",
        lambda numbers, facts: sum(1 for s in SIDES if numbers.get(f"evaluations_{s}", 0) > 0),
        counters=tuple(f"evaluations_{s}" for s in SIDES),
    ),
)
BY_NAME = {d.name: d for d in DERIVED_INPUTS}
NAMES = tuple(BY_NAME)


def needs_proofs(facts: FormFacts) -> bool:
    """Whether the form states a figure that counts only with proofs (else its proofs need not be read)."""
    return any(d.proofs and d.claimed(facts) for d in DERIVED_INPUTS)


def derive(
    numbers: Mapping[str, int], facts: FormFacts = NO_FORM
) -> tuple[dict[str, Any], dict[str, Message]]:
    """(input → value, input → why the form's figure was not counted) for one unit."""
    values: dict[str, Any] = {}
    not_counted: dict[str, Message] = {}
    for d in DERIVED_INPUTS:
        reason = d.unproven(facts)
        if reason:
            values[d.name], not_counted[d.name] = 0, reason
        else:
            values[d.name] = d.value(numbers, facts)
    return values, not_counted
