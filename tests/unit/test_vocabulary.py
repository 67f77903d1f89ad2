"""The closed vocabularies are declared once and everything else is derived from them (pure: no store)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from botocore.exceptions import ClientError
from pynamodb.connection.base import VerboseClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError

from chalicelib.core import store, vocabulary
from chalicelib.core.clock import CHINA
from chalicelib.core.cycles import cycle_by_id
from chalicelib.core.errors import Conflict
from chalicelib.documents.filings import ApplicationChangeIn, FilingIn
from chalicelib.documents.lifecycle import ReviewIn
from chalicelib.documents.publications import PublicationIn
from chalicelib.scoring import annual_forms, flags, scheme
from chalicelib.selection.excellence import RulesIn
from chalicelib.selection.subscriptions import SubscriptionsIn
from chalicelib.usage import counting_rules, metrics, running_counters
from chalicelib.usage.interactions import EventIn

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
SOURCES = {path: path.read_text(encoding="utf-8") for path in CHALICELIB.rglob("*.py")}

CLOSED_SETS = {
    "ROLES": vocabulary.Role,
    "PROVINCE_ROLES": vocabulary.ProvinceRole,
    "SIDES": vocabulary.Side,
    "FILING_KINDS": vocabulary.FilingKind,
    "RESULT_KINDS": vocabulary.ResultKind,
    "ACCESSIBLE_KINDS": vocabulary.AccessibleKind,
    "REPORT_TYPES": vocabulary.ReportType,
    "PUBLICATION_KINDS": vocabulary.PublicationKind,
    "REVIEW_STATUSES": vocabulary.ReviewStatus,
    "REVIEW_DECISIONS": vocabulary.ReviewDecision,
    "APPLICATION_PROGRESSION": vocabulary.ApplicationProgression,
    "APPLICATION_STATES": vocabulary.ApplicationState,
    "CANDIDATE_STATUSES": vocabulary.CandidateStatus,
    "EXCELLENT_SOURCES": vocabulary.ExcellentSource,
    "FLAG_RESOLUTIONS": vocabulary.FlagResolution,
    "OBJECTION_STATUSES": vocabulary.ObjectionStatus,
    "OBJECTION_DECISIONS": vocabulary.ObjectionDecision,
}


@pytest.mark.parametrize("name", sorted(CLOSED_SETS))
def test_each_tuple_is_its_literals_members(name):
    assert getattr(vocabulary, name) == get_args(CLOSED_SETS[name])


@pytest.mark.parametrize("name", sorted(CLOSED_SETS))
def test_no_other_module_spells_a_closed_set(name):
    members = getattr(vocabulary, name)
    spelled = r"\s*,\s*".join(rf"[\"']{re.escape(m)}[\"']" for m in members)
    others = [
        str(p.relative_to(CHALICELIB))
        for p, text in SOURCES.items()
        if p.name != "vocabulary.py" and re.search(spelled, text)
    ]
    assert others == []


def test_sides_are_declared_once():
    lines = [line for text in SOURCES.values() for line in text.splitlines() if "SIDES =" in line]
    assert len(lines) == 1


def test_subsets_lie_inside_their_sets():
    assert set(vocabulary.PROVINCE_ROLES) <= set(vocabulary.ROLES)
    assert set(vocabulary.RESULT_KINDS) <= set(vocabulary.FILING_KINDS)
    assert set(vocabulary.ACCESSIBLE_KINDS) <= set(vocabulary.RESULT_KINDS)
    assert (
        vocabulary.APPLICATION_STATES[: len(vocabulary.APPLICATION_PROGRESSION)]
        == vocabulary.APPLICATION_PROGRESSION
    )


# ---- request models take their enums from the vocabulary ---------------------------------


def _enum(model, field):
    props = model.model_json_schema()["properties"][field]
    for option in props.get("anyOf", [props]):
        if "enum" in option:
            return tuple(option["enum"])
        if "const" in option:
            return (option["const"],)
        if "items" in option:
            return tuple(option["items"]["enum"])
    raise AssertionError(f"{model.__name__}.{field} has no enum")


@pytest.mark.parametrize(
    "model, field, expected",
    [
        (FilingIn, "kind", vocabulary.FILING_KINDS),
        (FilingIn, "report_type", vocabulary.REPORT_TYPES),
        (PublicationIn, "kind", vocabulary.PUBLICATION_KINDS),
        (ReviewIn, "decision", vocabulary.REVIEW_DECISIONS),
        (ApplicationChangeIn, "status", vocabulary.APPLICATION_STATES),
        (SubscriptionsIn, "kinds", vocabulary.RESULT_KINDS),
        (RulesIn, "kinds", vocabulary.RESULT_KINDS),
    ],
)
def test_request_enums_are_the_vocabulary(model, field, expected):
    assert _enum(model, field) == expected


def test_clients_send_views_only():
    assert get_args(metrics.ClientEventType) == metrics.REGISTRY.client_kinds == ("view",)
    assert _enum(EventIn, "type") == ("view",)
    assert set(metrics.REGISTRY.client_kinds) <= set(metrics.REGISTRY.event_kinds)


# ---- the scheme can read every counter the counting rules write ----------------------------


def _filing_image(kind, report_type=None, fiscal=False, filed_at=datetime(2024, 3, 1, tzinfo=CHINA)):
    return {
        "kind": kind,
        "report_type": report_type,
        "fiscal_funded": fiscal,
        "cycle": "2024",
        "filed_at": filed_at,
    }


def test_scheme_inputs_cover_every_filing_counter():
    near = cycle_by_id("2024").ends_before - timedelta(days=1)
    written = set()
    for kind in vocabulary.FILING_KINDS:
        for report_type in (None, *vocabulary.REPORT_TYPES) if kind == "report" else (None,):
            written |= set(
                counting_rules.filing_values(_filing_image(kind, report_type, fiscal=True, filed_at=near))
            )
    assert written <= set(scheme.INPUTS)
    assert {f"reports_approved_{t}" for t in vocabulary.REPORT_TYPES} <= written


def test_scheme_inputs_cover_every_publication_and_usage_counter():
    image = {"entity": "publication", "status": "approved", "province": "110000", "cycle": "2024"}
    for kind in vocabulary.PUBLICATION_KINDS:
        (names,) = counting_rules.state_contribution({**image, "kind": kind}).values()
        assert set(names) <= set(scheme.INPUTS)
    usage = metrics.REGISTRY.usage_counters + metrics.REGISTRY.publication_usage_counters
    assert set(usage) <= set(scheme.INPUTS)
    assert {f"evaluations_{side}" for side in vocabulary.SIDES} <= set(scheme.INPUTS)


def test_an_indicator_may_read_each_report_type():
    for report_type in vocabulary.REPORT_TYPES:
        scheme.IndicatorIn.model_validate(
            {
                "id": "x",
                "name": "x",
                "inputs": {f"reports_approved_{report_type}": 1},
                "normalise": "log_best",
                "weight": 1,
            }
        )


# ---- prose generated from the rule constants ----------------------------------------------


def test_near_cutoff_prose():
    assert vocabulary.days_text(timedelta(days=1)) == "1 day"
    assert vocabulary.NEAR_CUTOFF_TEXT == vocabulary.days_text(vocabulary.NEAR_CUTOFF) == "14 days"
    assert vocabulary.NEAR_CUTOFF_TEXT in scheme.FlagRulesIn.model_fields["cutoff_share"].description
    [flag] = flags.cutoff_bulk(
        {"filings_approved": 40, "filings_approved_near_cutoff": 30},
        {"cutoff_min_filings": 20, "cutoff_share": 0.5},
    )
    assert f"last {vocabulary.NEAR_CUTOFF_TEXT} of the cycle" in flag["detail"]


def test_annual_form_window_prose():
    opens, closes = annual_forms.window(2024)
    assert (
        annual_forms.window_text()
        == f"{opens.day}–{(closes - timedelta(days=1)).day} {opens:%B}"
        == "15–31 October"
    )
    with pytest.raises(Conflict) as refused:
        annual_forms.check_window(2024, opens - timedelta(seconds=1))
    assert f"({annual_forms.window_text()} 2024, China time)" in refused.value.detail


# ---- one counter decoder, one condition-failed check -----------------------------------------


def test_counter_decoder():
    assert running_counters.decode(None) == {}
    assert running_counters.decode({"views_total": 3, "likes": "2"}) == {"views_total": 3, "likes": 2}


def _client_error(code):
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


def _cancelled(*codes):
    reasons = [CancellationReason(code=c) if c is not None else None for c in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "x"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("cancelled", cause=cause)


def test_condition_failed_check():
    assert store.cancelled_by_condition(PutError("x", cause=_client_error("ConditionalCheckFailedException")))
    assert not store.cancelled_by_condition(PutError("x", cause=_client_error("ThrottlingException")))
    assert store.cancelled_by_condition(_cancelled(None, "ConditionalCheckFailed"))
    assert not store.cancelled_by_condition(_cancelled("TransactionConflict", None))
    assert store.cancellation_codes(_cancelled(None, "ConditionalCheckFailed")) == [
        "None",
        "ConditionalCheckFailed",
    ]


# ---- each key prefix is built in one module ---------------------------------------------------


def test_each_key_prefix_lives_in_one_module():
    owners: dict[str, set[str]] = {}
    for path, text in SOURCES.items():
        for prefix in re.findall(r"[\"']([A-Z_]{3,}#)", text):
            owners.setdefault(prefix, set()).add(str(path.relative_to(CHALICELIB)))
    shared = {prefix: sorted(modules) for prefix, modules in owners.items() if len(modules) > 1}
    assert shared == {}


def test_organisation_kinds_evaluate_as_known_sides():
    from chalicelib.selection import organisations

    assert {side for side, _ in organisations.KINDS.values()} <= set(vocabulary.SIDES)
    assert _enum(organisations.OrganisationIn, "kind") == organisations.ORGANISATION_KINDS
