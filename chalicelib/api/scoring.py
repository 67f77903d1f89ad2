"""Routes of the scoring capability: schemes, annual forms and their proofs, manual checks, excellent
projects, runs, provisional publication and objections, announcements, explanations and score exports
(chalicelib/scoring/)."""

from __future__ import annotations

from chalicelib.api import current
from chalicelib.api.documents import file_download
from chalicelib.api.responses import attachment, json_response
from chalicelib.api.routing import LIST_QUERY, Routes
from chalicelib.core import spreadsheets
from chalicelib.core.cycles import cycle_or_404
from chalicelib.core.request_parsing import param_schema
from chalicelib.documents import attachments
from chalicelib.documents.attachments import UploadIn
from chalicelib.documents.lifecycle import FILERS
from chalicelib.scoring import (
    adjustments,
    announcements,
    annual_forms,
    bonus,
    explanations,
    exports,
    flag_resolutions,
    objections,
    runs,
    scheme,
)
from chalicelib.scoring.adjustments import AdjustmentIn
from chalicelib.scoring.annual_forms import AnnualFormIn
from chalicelib.scoring.bonus import ExcellentIn
from chalicelib.scoring.scheme import SchemeIn
from chalicelib.selection import excellence

routes = Routes(__name__)
route = routes.route


RUN_QUERY = {"run_id": param_schema("id", description="national admins: a run other than the latest")}


@route(
    "/scoring-scheme",
    "GET",
    "The scoring scheme runs use: areas, indicators, weights, caps, flags",
    query={"version": {"type": "integer", "minimum": 1}},
    auth="none",
    tag="scoring",
)
def get_scoring_scheme():
    return scheme.describe_version(current.query("version", "digits"))


@route(
    "/scoring-scheme",
    "PUT",
    "Store a new scheme version (national admin); later runs use it",
    body=SchemeIn,
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def put_scoring_scheme():
    return json_response(
        scheme.describe(scheme.store_new(current.caller(), current.body(SchemeIn), current.now())), 201
    )


@route(
    "/provinces/{code}/annual-forms/{year}",
    "PUT",
    "File the province's annual information form (15–31 Oct of year, China time; its province_admin)",
    body=AnnualFormIn,
    roles=("province_admin",),
    tag="scoring",
)
def put_annual_form(code, year):
    caller = current.caller()
    form_year = annual_forms.parse_year(year)
    body = current.body(AnnualFormIn)
    rendered, created = annual_forms.put(caller, code, form_year, body, current.now())
    return json_response(rendered, 201 if created else 200)


@route(
    "/provinces/{code}/annual-forms/{year}",
    "GET",
    "A province's annual information form (its staff and national admins)",
    auth="required",
    tag="scoring",
)
def get_annual_form(code, year):
    return annual_forms.get(current.caller(), code, annual_forms.parse_year(year))


@route(
    "/provinces/{code}/annual-forms/{year}/reopen",
    "POST",
    "Reopen the annual-form window for one province "
    "until a deadline, with a reason (national admin; audited)",
    body=annual_forms.ReopenIn,
    roles=("national_admin",),
    tag="scoring",
)
def reopen_annual_form(code, year):
    return annual_forms.reopen(
        current.caller(),
        code,
        annual_forms.parse_year(year),
        current.body(annual_forms.ReopenIn),
        current.now(),
    )


def _form_proofs(code: str, year: str) -> str:
    return attachments.form_owner_id(code, annual_forms.parse_year(year))


FORM_FILES = "/provinces/{code}/annual-forms/{year}/files"


@route(
    FORM_FILES,
    "POST",
    "Declare a proof of the annual form's scored figures (funding_proof or proof_scan) and "
    "get its presigned upload (the province's staff)",
    body=UploadIn,
    roles=FILERS,
    status=201,
    tag="scoring",
)
def start_form_proof_upload(code, year):
    caller, owner_id = current.caller(), _form_proofs(code, year)
    attachments.writable(caller, attachments.FORM_OWNER, owner_id)
    return json_response(
        attachments.start_upload(
            caller,
            attachments.FORM_OWNER,
            owner_id,
            current.body(UploadIn),
            current.services().settings,
            current.now(),
        ),
        201,
    )


@route(
    FORM_FILES + "/{file_id}/complete",
    "POST",
    "Check an uploaded proof of the annual form and attach it",
    roles=FILERS,
    tag="scoring",
)
def complete_form_proof_upload(code, year, file_id):
    return attachments.complete_upload(
        current.caller(),
        attachments.FORM_OWNER,
        _form_proofs(code, year),
        file_id,
        current.services().settings,
        current.now(),
    )


@route(
    FORM_FILES,
    "GET",
    "The proofs attached to a province's annual form (its staff, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="scoring",
)
def list_form_proofs(code, year):
    return attachments.files_of(
        current.caller(), attachments.FORM_OWNER, _form_proofs(code, year), *current.paging()
    )


@route(
    FORM_FILES + "/{file_id}",
    "GET",
    "Download a proof of the annual form: 303 to a short-lived URL (its staff, "
    "national admins; not counted as usage)",
    auth="required",
    status=303,
    tag="scoring",
)
def download_form_proof(code, year, file_id):
    return file_download(attachments.FORM_OWNER, _form_proofs(code, year), file_id)


@route(
    "/annual-forms/{year}",
    "GET",
    "All 32 units' annual forms of a year: status, submitted at, completeness, "
    "late, reopened (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="scoring",
)
def get_annual_overview(year):
    return annual_forms.overview_page(current.caller(), annual_forms.parse_year(year), *current.paging())


@route(
    "/annual-forms/{year}/overview.xlsx",
    "GET",
    "The annual-form overview as an Excel workbook (national admin; "
    "send Accept: " + spreadsheets.XLSX_TYPE + ")",
    roles=("national_admin",),
    tag="scoring",
    media=(spreadsheets.XLSX_TYPE,),
)
def get_annual_overview_xlsx(year):
    form_year = annual_forms.parse_year(year)
    return attachment(
        exports.annual_overview_xlsx(annual_forms.overview(current.caller(), form_year)),
        spreadsheets.XLSX_TYPE,
        f"annual-forms-{form_year}.xlsx",
    )


@route(
    "/cycles/{cycle}/adjustments",
    "POST",
    "Record a manual-check adjustment with its reason (national admin)",
    body=AdjustmentIn,
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def post_adjustment(cycle):
    return json_response(
        adjustments.record_against_current(
            current.caller(), cycle, current.body(AdjustmentIn), current.now()
        ),
        201,
    )


@route(
    "/cycles/{cycle}/adjustments",
    "GET",
    "Every manual-check adjustment of a cycle, oldest first (national admin; "
    "a province admin its own once the result is published provisionally)",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="scoring",
)
def get_adjustments(cycle):
    return objections.visible_adjustments(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/excellent-projects",
    "POST",
    "Override: make an excellent project outside the expert panel, with a written reason (national admin; "
    "audited and announced as an override)",
    body=ExcellentIn,
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def post_excellent_project(cycle):
    caller = current.caller()
    project, created = bonus.record_override(caller, cycle, current.body(ExcellentIn), current.now())
    return json_response(project, 201 if created else 200)


@route(
    "/cycles/{cycle}/excellent-projects/{filing_id}/revoke",
    "POST",
    "Revoke an excellent project with a reason: later runs leave its bonus out (national admin; audited, "
    "its province is notified)",
    body=excellence.RevocationIn,
    roles=("national_admin",),
    tag="scoring",
)
def revoke_excellent_project(cycle, filing_id):
    return excellence.revoke(
        current.caller(), cycle, filing_id, current.body(excellence.RevocationIn), current.now()
    )


@route(
    "/cycles/{cycle}/excellent-projects",
    "GET",
    "Excellent projects of a cycle (public once the cycle's scores are published)",
    query=LIST_QUERY,
    tag="scoring",
)
def get_excellent_projects(cycle):
    return bonus.list_for(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/scoring-runs",
    "POST",
    "Score the cycle now (national admin; provisional while open)",
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def post_scoring_run(cycle):
    caller = current.caller()
    started = runs.run(cycle, caller, current.now(), trigger="api")
    return json_response(started, 201, {"Location": started["links"]["scores"]})


@route(
    "/cycles/{cycle}/scoring-runs",
    "GET",
    "Scoring runs of a cycle, newest first (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="scoring",
)
def get_scoring_runs(cycle):
    return runs.list_runs(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/scoring-runs/{run_id}/publish",
    "POST",
    "Publish a run with its notice (公布) and excellent projects (通报) (national admin); a later run with a "
    "written reason supersedes the published one",
    body=announcements.PublishIn,
    roles=("national_admin",),
    tag="scoring",
)
def publish_scoring_run(cycle, run_id):
    return objections.publish_final(
        current.caller(), cycle, run_id, current.optional_body(announcements.PublishIn).reason, current.now()
    )


@route(
    "/cycles/{cycle}/scoring-runs/{run_id}/provisional-publication",
    "POST",
    "Publish a final run provisionally (公示): every province is told, reads its own explanation and "
    "adjustments, and may object during the scheme's objection window (national admin)",
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def publish_provisionally(cycle, run_id):
    return json_response(
        objections.publish_provisionally(current.caller(), cycle, run_id, current.now()), 201
    )


@route(
    "/cycles/{cycle}/objections",
    "POST",
    "Object (异议) to your province's provisional result, with reasons and file references, while the window "
    "is open (province admin)",
    body=objections.ObjectionIn,
    roles=("province_admin",),
    status=201,
    tag="scoring",
)
def post_objection(cycle):
    return json_response(
        objections.file(current.caller(), cycle, current.body(objections.ObjectionIn), current.now()), 201
    )


@route(
    "/cycles/{cycle}/objections",
    "GET",
    "The provisional publication and its objections (national admin; a province admin its own)",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="scoring",
)
def get_objections(cycle):
    return objections.listing(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/objections/{objection_id}/answer",
    "POST",
    "Answer an objection: upheld (an adjustment with the reason and a superseding run) or rejected with the "
    "reason (national admin)",
    body=objections.AnswerIn,
    roles=("national_admin",),
    tag="scoring",
)
def answer_objection(cycle, objection_id):
    return objections.answer(
        current.caller(), cycle, objection_id, current.body(objections.AnswerIn), current.now()
    )


@route(
    "/cycles/{cycle}/announcement",
    "GET",
    "The newest publication of the cycle: notice, ranking, excellent projects, and what it corrected",
    auth="none",
    tag="scoring",
)
def get_announcement(cycle):
    cycle_or_404(cycle)
    return announcements.latest(cycle)


@route(
    "/cycles/{cycle}/announcements",
    "GET",
    "Every publication of the cycle, newest first, with the reasons for corrections",
    query=LIST_QUERY,
    auth="none",
    tag="scoring",
)
def get_announcements(cycle):
    cycle_or_404(cycle)
    return announcements.history(cycle, *current.paging())


@route(
    "/cycles/{cycle}/announcement/excellent-projects",
    "GET",
    "The excellent projects announced (通报) with the newest publication, by field and province",
    query={
        **LIST_QUERY,
        "industry": param_schema("industry"),
        "province": param_schema("province"),
    },
    auth="none",
    tag="scoring",
)
def get_announced_excellent(cycle):
    cycle_or_404(cycle)
    return announcements.excellent_projects(
        cycle,
        current.query("industry", "industry"),
        current.query("province", "province"),
        *current.paging(),
    )


@route(
    "/cycles/{cycle}/announcements/history",
    "GET",
    "Audit trail of the cycle's publications (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="scoring",
)
def get_announcement_trail(cycle):
    cycle_or_404(cycle)
    return announcements.trail(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/scoring-runs/{run_id}/units/{province}/explanation",
    "GET",
    "Why a unit scored what it did in a run: each indicator's points, the inputs and the counters behind "
    "them, the flags with their evidence and resolutions, the adjustments with their authors (national admin; "
    "a province admin its own, of a run published provisionally)",
    roles=("national_admin", "province_admin"),
    tag="scoring",
    response=explanations.SCHEMA,
)
def explain_unit(cycle, run_id, province):
    return explanations.explain(current.caller(), cycle, run_id, province)


@route(
    "/cycles/{cycle}/scoring-runs/{run_id}/units/{province}/flag-resolutions",
    "POST",
    "Resolve one of the unit's flags with a note: confirmed, adjusted (with the adjustment) or dismissed "
    "(national admin; audited, shown in the explanation)",
    body=flag_resolutions.ResolutionIn,
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def resolve_flag(cycle, run_id, province):
    return json_response(
        flag_resolutions.resolve(
            current.caller(),
            cycle,
            run_id,
            province,
            current.body(flag_resolutions.ResolutionIn),
            current.now(),
        ),
        201,
    )


def _scores(cycle: str):
    return runs.load(current.caller(), cycle, current.query("run_id", "id"))


@route(
    "/cycles/{cycle}/scores",
    "GET",
    "Scores of all 32 units, best first (public: the published run)",
    query=RUN_QUERY,
    tag="scoring",
)
def get_scores(cycle):
    return runs.render(_scores(cycle))


@route(
    "/cycles/{cycle}/scores.csv",
    "GET",
    "The scores as CSV (same visibility as /scores)",
    query=RUN_QUERY,
    tag="scoring",
    media=(spreadsheets.CSV_TYPE,),
)
def get_scores_csv(cycle):
    loaded = _scores(cycle)
    return attachment(
        exports.to_csv(loaded).decode("utf-8"), spreadsheets.CSV_TYPE, exports.filename(loaded, "csv")
    )


@route(
    "/cycles/{cycle}/scores.xlsx",
    "GET",
    "The scores as an Excel workbook with a bar chart (send Accept: " + spreadsheets.XLSX_TYPE + ")",
    query=RUN_QUERY,
    tag="scoring",
    media=(spreadsheets.XLSX_TYPE,),
)
def get_scores_xlsx(cycle):
    loaded = _scores(cycle)
    return attachment(exports.to_xlsx(loaded), spreadsheets.XLSX_TYPE, exports.filename(loaded, "xlsx"))
