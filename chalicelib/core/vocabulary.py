"""The platform's closed vocabularies and rule durations, each declared once.

Every closed set is a `Literal` (what request models and OpenAPI use) and the tuple of its
members derived from it (what code iterates and checks against). Adding a member here is the
one edit a new kind, report type or side needs: request models, the scoring scheme's allowed
inputs, counter names and list filters all derive from these. The set of industry fields is
reference data (core/reference.py) and its codes are derived here from it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, get_args

from chalicelib.core.reference import INDUSTRIES

# ---- who calls ---------------------------------------------------------------------------

Role = Literal["national_admin", "province_admin", "filer", "user", "expert"]
ROLES = get_args(Role)
ProvinceRole = Literal["filer", "province_admin"]  # staff of one province: write its records
PROVINCE_ROLES = get_args(ProvinceRole)

# The four sides of users whose evaluations the scheme weighs separately.
Side = Literal["government", "enterprise", "university", "research_institute"]
SIDES = get_args(Side)

# ---- what is filed and published ----------------------------------------------------------

FilingKind = Literal["report", "database", "tool", "application_proof"]
FILING_KINDS = get_args(FilingKind)
# Navigation results proper (a proof of application is not one): pushed to subscribers and
# eligible for the excellent-project selection.
ResultKind = Literal["report", "database", "tool"]
RESULT_KINDS = get_args(ResultKind)
AccessibleKind = Literal["database", "tool"]  # results used online: they name where (access_url)
ACCESSIBLE_KINDS = get_args(AccessibleKind)

ReportType = Literal[
    "regional_planning",
    "industry_planning",
    "enterprise_operation",
    "rd_activity",
    "talent_management",
    "other",
]
REPORT_TYPES = get_args(ReportType)
NO_REPORT_TYPE = "none"  # a report filed without a report_type counts under this name

PublicationKind = Literal["news", "notice", "policy", "navigation_info"]
PUBLICATION_KINDS = get_args(PublicationKind)
# The publisher named in place of a province by the national office's own publications (national admins
# publish them directly: they are the reviewers). They count for no province.
NationalOffice = Literal["national"]
NATIONAL_OFFICE = get_args(NationalOffice)[0]

# Where a result's funding came from (投入): the filing's scope fields and a province's funded-projects list.
FundingSource = Literal["central_fiscal", "local_fiscal", "enterprise", "other"]
FUNDING_SOURCES = get_args(FundingSource)

# Demands and suggestions users send to a province or to the national office (demands.py).
DemandKind = Literal["demand", "suggestion"]
DEMAND_KINDS = get_args(DemandKind)
DemandStatus = Literal["open", "answered", "closed"]
DEMAND_STATUSES = get_args(DemandStatus)

# ---- review -------------------------------------------------------------------------------

# taken_down: a national admin removed an approved record from public view (lifecycle.take_down).
ReviewStatus = Literal["pending", "approved", "rejected", "withdrawn", "taken_down"]
REVIEW_STATUSES = get_args(ReviewStatus)
ReviewDecision = Literal["approve", "reject"]
REVIEW_DECISIONS = get_args(ReviewDecision)

# ---- how a result is applied --------------------------------------------------------------
# A result earns application points for each state of the progression it reaches, in this
# order and once each; a pause or a discontinuation is recorded and earns nothing, and so does
# a change back or to a state already reached.

ApplicationProgression = Literal["not_started", "in_progress", "applied"]
APPLICATION_PROGRESSION = get_args(ApplicationProgression)
ApplicationState = Literal[ApplicationProgression, "paused", "discontinued"]
APPLICATION_STATES = get_args(ApplicationState)

# ---- the excellent-project selection ------------------------------------------------------

# A candidate is screened in (candidate), kept by the library cut (shortlisted) or not, and the
# expert panel decides: selected (an excellent project) or not_selected; a selected one can be
# revoked later with a reason.
CandidateStatus = Literal["candidate", "shortlisted", "selected", "not_selected", "revoked"]
CANDIDATE_STATUSES = get_args(CandidateStatus)
# How an excellent project came about: the expert panel, or a national admin's reasoned override.
ExcellentSource = Literal["selection", "override"]
EXCELLENT_SOURCES = get_args(ExcellentSource)

# ---- checks that close, results a province can contest -------------------------------------

# How a national admin closes an anomaly flag (adjusted: with an adjustment of the points).
FlagResolution = Literal["confirmed", "adjusted", "dismissed"]
FLAG_RESOLUTIONS = get_args(FlagResolution)
# A province's objection (异议) to a provisional result, and how it is answered (upheld: with an
# adjustment and a superseding run).
ObjectionStatus = Literal["open", "upheld", "rejected"]
OBJECTION_STATUSES = get_args(ObjectionStatus)
ObjectionDecision = Literal["upheld", "rejected"]
OBJECTION_DECISIONS = get_args(ObjectionDecision)

# What an invitation's list shows: stored open, used (accepted) or revoked; an open code past its
# expiry lists as expired, judged on the clock at read time.
InvitationStatus = Literal["open", "used", "expired", "revoked"]
INVITATION_STATUSES = get_args(InvitationStatus)

# ---- industry fields (reference data) -----------------------------------------------------

INDUSTRY_CODES = tuple(INDUSTRIES)

# ---- rule durations -----------------------------------------------------------------------

# An approved filing filed this close to its cycle's end counts as "near cutoff" (a flag looks
# for bulk filing just before the deadline, and the timeliness indicator rewards the rest).
NEAR_CUTOFF = timedelta(days=14)


def days_text(span: timedelta) -> str:
    """A whole-day duration as prose: '14 days' (what docs and messages print)."""
    days = span.days
    return f"{days} day" if days == 1 else f"{days} days"


NEAR_CUTOFF_TEXT = days_text(NEAR_CUTOFF)

# Raw usage facts (views and downloads, their chain heads) expire by TTL this long after their
# cycle closes (30 September): the year-end run (31 December), its publication, objections and
# corrections all fall within it, so the result is final by then; the grace covers a late
# correction. Counters, scores and audit trails are kept.
RAW_FACTS_UNTIL_FINAL = timedelta(days=180)
RAW_FACTS_GRACE = timedelta(days=30)
RAW_FACTS_KEPT_TEXT = (
    f"{days_text(RAW_FACTS_UNTIL_FINAL)} after the cycle closes + {days_text(RAW_FACTS_GRACE)} grace"
)
