"""Routes and triggers of patentnavi-eval. Each handler parses, authorizes, calls one domain
function and shapes the answer; the rules live in chalicelib/."""
from __future__ import annotations

import functools
import os
import re
from typing import Any, Callable

from aws_lambda_powertools import Logger
from chalice import Chalice, Cron, Response

from chalicelib.core import cors, cycles, http, reference, runtime
from chalicelib.documents import filings, publications
from chalicelib.core.auth import Authenticator, Caller, require
from chalicelib.core.vocabulary import SIDES
from chalicelib.core.cycles import cycles_until
from chalicelib.core.errors import Problem, Unauthorized
from chalicelib.core.observability import flush, flushed
from chalicelib.core.paging import parse_limit
from chalicelib.core.schemas import parse
from chalicelib.documents.filings import ApplicationChangeIn, FilingIn
from chalicelib.documents.lifecycle import ReviewIn
from chalicelib.documents.publications import PublicationIn
from chalicelib.usage.interactions import CommentIn, EvaluationIn, EventsIn

app = Chalice(app_name="patentnavi-eval", configure_logs=False)  # Powertools writes the log lines
logger = Logger(service="patentnavi-eval", json_serializer=http.redacted_json)  # no token reaches a log

# Chalice packages this literal; the merge template in infra/ rewires it to the table's stream.
FACTS_STREAM_ARN = os.environ.get(
    "NAVI_FACTS_STREAM_ARN", "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-facts/stream/placeholder")

_authenticator: Authenticator | None = None


def _services():
    return runtime.services()


def _now():
    return _services().clock.now()


def _caller() -> Caller | None:
    global _authenticator
    request = app.current_request
    if hasattr(request, "navi_caller"):  # the token is decoded once per request
        return request.navi_caller
    settings = _services().settings
    if _authenticator is None or _authenticator._settings is not settings:
        _authenticator = Authenticator(settings)
    request.navi_caller = _authenticator.caller(request.headers.get("authorization"))
    return request.navi_caller


def _body(model):
    request = app.current_request
    return parse(model, http.json_body(request.raw_body, request.headers.get("content-type")))


def _query(name: str, kind: str) -> str | None:
    """A query parameter in its declared format (chalicelib.core.http.PARAM_FORMATS); 422 otherwise."""
    return http.param(name, (app.current_request.query_params or {}).get(name), kind)


def _limit() -> int:
    return parse_limit((app.current_request.query_params or {}).get("limit"))


def _problem_response(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(body=http.dumps(body), status_code=status,
                    headers={"Content-Type": http.PROBLEM_TYPE, **(headers or {})})


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body=http.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def route(path: str, method: str, summary: str, *, body: type | None = None, query: dict | None = None,
          auth: str = "optional", status: int = 200, tag: str = "platform", response: dict | None = None,
          **chalice_kw):
    """Register a Chalice route, record it for the OpenAPI document, render Problems."""
    http.ROUTES.append(http.RouteDoc(method, path, summary, body, query or {}, auth, status, response, tag=tag))
    path_params = {name: http.PATH_PARAMS[name] for name in re.findall(r"{(\w+)}", path)}  # KeyError: declare it
    _preflight_route(path)

    def decorate(view: Callable[..., Any]):
        @functools.wraps(view)
        def handle(**params):
            try:
                for name, kind in path_params.items():
                    http.param(name, params[name], kind)
                # A write without a good token is 401 before its body is even read.
                if auth == "required" and _caller() is None:
                    raise Unauthorized("This action needs a bearer token")
                answer = view(**params)
                return answer if isinstance(answer, Response) else _json(answer, status)
            except Problem as problem:
                return _problem_response(*http.problem_body(problem))
        # Accept any content type here so a wrong one gets our 415 problem, not Chalice's.
        return app.route(path, methods=[method], content_types=["*/*"], **chalice_kw)(handle)
    return decorate


# ---- CORS: the stage's portal origins (NAVI_CORS_ORIGINS), answered by the app itself so the
# local server and API Gateway (which proxies OPTIONS to the function) behave the same.
_PREFLIGHTS: set[str] = set()


def _preflight_route(path: str) -> None:
    """Register the OPTIONS handler of `path` once; it answers CORS preflights."""
    if path in _PREFLIGHTS:
        return
    _PREFLIGHTS.add(path)
    http.ROUTES.append(http.RouteDoc("OPTIONS", path, "CORS preflight: allowed for the stage's portal origins",
                                     auth="none", status=204, tag="platform"))

    def preflight(**_params):
        request = app.current_request
        allowed = sorted(m for m in app.routes[path] if m != "OPTIONS") + ["OPTIONS"]
        headers = cors.preflight_headers(request.headers.get("origin"),
                                         request.headers.get("access-control-request-method"),
                                         allowed, _services().settings.cors_origins)
        if headers is None:
            return _problem_response(403, http.generic_problem(
                403, "This origin may not call the API from a browser"), {"Allow": ", ".join(allowed)})
        return Response(body="", status_code=204, headers={"Allow": ", ".join(allowed), **headers})
    preflight.__name__ = "preflight_" + (re.sub(r"\W+", "_", path).strip("_") or "root")
    app.route(path, methods=["OPTIONS"], content_types=["*/*"])(preflight)


@app.middleware("http")
def problems_and_logging(event, get_response):
    """Every error leaves as problem+json, including Chalice's own (405, bad JSON, 500)."""
    context = app.lambda_context
    # Per thread: the local server runs requests side by side, and each line must name its own.
    logger.thread_safe_append_keys(request_id=getattr(context, "aws_request_id", None),
                                   method=event.method, path=event.path)
    try:
        response = _as_problem(get_response(event))
    except Exception:
        logger.exception("unhandled error")
        response = _problem_response(500, http.generic_problem(500, "An internal error occurred"))
    try:
        response.headers.update(cors.response_headers(event.headers.get("origin"),
                                                      _services().settings.cors_origins))
        return response
    finally:
        flush()
        # The request's keys must not leak into the next invocation's log lines.
        logger.thread_safe_remove_keys(["request_id", "method", "path"])


def _as_problem(response: Response) -> Response:
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    if response.status_code >= 400 and http.PROBLEM_TYPE not in content_type:
        detail = response.body.get("Message") if isinstance(response.body, dict) else None
        if response.status_code >= 500:
            logger.error("server error", extra={"status": response.status_code})
        body = http.generic_problem(response.status_code, detail or "The request could not be served")
        extra = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
        response = _problem_response(response.status_code, body, extra)
    logger.info("request", extra={"status": response.status_code})
    return response


def _list(domain, filters: dict) -> dict:
    """One page of filings or publications: filters, limit and cursor from the query string."""
    caller = _caller()
    params = {name: _query(name, kind) for name, kind in filters.items()}
    page = domain.list_page(caller, params, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret)
    return page.to_dict(domain.render)


# ---- platform ------------------------------------------------------------------------

@route("/health", "GET", "Liveness of the API and its store", auth="none")
def health():
    from chalicelib.core.models import Counter
    try:
        Counter.count("HEALTH")
    except Exception:  # any store failure means not healthy
        logger.exception("store unreachable")
        return _problem_response(503, http.generic_problem(503, "The store is not reachable"))
    return {"status": "ok"}


@route("/openapi.json", "GET", "This API's OpenAPI 3.1 document", auth="none")
def openapi_document():
    from chalicelib.core.openapi import document
    return document(http.ROUTES)


@route("/provinces", "GET", "The 32 evaluated provincial units", auth="none")
def list_provinces():
    return {"items": reference.province_list()}


@route("/industries", "GET", "Industry fields filings are tagged and pushed by", auth="none")
def list_industries():
    return {"classification": reference.INDUSTRY_CLASSIFICATION, "items": reference.industry_list()}


@route("/cycles", "GET", "Evaluation cycles up to the current one", auth="none")
def list_cycles():
    now = _now()
    return {"items": [c.to_dict(now) for c in cycles_until(now)]}


# ---- filings -------------------------------------------------------------------------

LIST_QUERY = {"limit": {"type": "integer", "minimum": 1, "maximum": 200}, "cursor": http.param_schema("cursor")}
# List filters and the parameter format each is checked against.
FILING_FILTERS = {"province": "province", "kind": "word", "status": "word", "cycle": "cycle", "industry": "industry"}
PUBLICATION_FILTERS = {"province": "province", "kind": "word", "status": "word", "cycle": "cycle"}


def _documented(filters: dict[str, str]) -> dict[str, dict]:
    return {name: http.param_schema(kind) for name, kind in filters.items()}


@route("/filings", "POST", "File a result (备案) for the caller's province", body=FilingIn, auth="required",
       status=201, tag="filings")
def create_filing():
    caller = require(_caller(), *filings.FILERS)  # 403 before the body is judged
    filing = filings.create(caller, _body(FilingIn), _now())
    return _json(filings.render(filing), 201, {"Location": f"/filings/{filing.id}"})


@route("/filings", "GET", "List filings visible to the caller", query={**LIST_QUERY, **_documented(FILING_FILTERS)},
       tag="filings")
def list_filings():
    return _list(filings, FILING_FILTERS)


@route("/filings/{filing_id}", "GET", "One filing", tag="filings")
def get_filing(filing_id):
    from chalicelib.documents import attachments
    return attachments.with_files("filing", filings.render(filings.get(_caller(), filing_id)))


@route("/filings/{filing_id}/review", "POST", "Approve or reject a filing (national admin)", body=ReviewIn,
       auth="required", tag="filings")
def review_filing(filing_id):
    caller = require(_caller(), "national_admin")
    return filings.render(filings.review(caller, filing_id, _body(ReviewIn), _now()))


@route("/filings/{filing_id}/application", "PUT", "Record a change of how the result is applied",
       body=ApplicationChangeIn, auth="required", tag="filings")
def change_application(filing_id):
    caller = _caller()
    filings.writable(caller, filing_id)  # 401/403/404 before the body is judged
    update = filings.change_application(caller, filing_id, _body(ApplicationChangeIn), _now())
    return filings.render_application(update)


@route("/filings/{filing_id}/application", "GET", "Every application change of a filing", tag="filings")
def application_history(filing_id):
    return {"items": [filings.render_application(u) for u in filings.application_history(_caller(), filing_id)]}


@route("/filings/{filing_id}/history", "GET", "Audit trail of a filing (its province, national admins)",
       auth="required", tag="filings")
def filing_history(filing_id):
    return {"items": filings.history(_caller(), filing_id)}


@route("/filings/{filing_id}/revisions", "POST", "Correct and resubmit a filing (its province): back to review; "
       "an approved one stays public as approved until the change is", body=FilingIn, auth="required", tag="filings")
def revise_filing(filing_id):
    caller = _caller()
    filings.writable(caller, filing_id)
    return filings.render(filings.revise(caller, filing_id, _body(FilingIn), _now()))


@route("/filings/{filing_id}/withdraw", "POST", "Withdraw a filing before approval (its province)", auth="required",
       tag="filings")
def withdraw_filing(filing_id):
    return filings.render(filings.withdraw(_caller(), filing_id, _now()))


# ---- publications --------------------------------------------------------------------

@route("/publications", "POST", "Publish news, a notice, a policy or navigation info", body=PublicationIn,
       auth="required", status=201, tag="publications")
def create_publication():
    caller = require(_caller(), *filings.FILERS)
    publication = publications.create(caller, _body(PublicationIn), _now())
    return _json(publications.render(publication), 201, {"Location": f"/publications/{publication.id}"})


@route("/publications", "GET", "List publications visible to the caller",
       query={**LIST_QUERY, **_documented(PUBLICATION_FILTERS)}, tag="publications")
def list_publications():
    return _list(publications, PUBLICATION_FILTERS)


@route("/publications/{publication_id}", "GET", "One publication", tag="publications")
def get_publication(publication_id):
    from chalicelib.documents import attachments
    return attachments.with_files("publication", publications.render(publications.get(_caller(), publication_id)))


@route("/publications/{publication_id}/review", "POST", "Approve or reject a publication (national admin)",
       body=ReviewIn, auth="required", tag="publications")
def review_publication(publication_id):
    caller = require(_caller(), "national_admin")
    return publications.render(publications.review(caller, publication_id, _body(ReviewIn), _now()))


@route("/publications/{publication_id}/revisions", "POST", "Correct and resubmit a publication (its province): "
       "back to review", body=PublicationIn, auth="required", tag="publications")
def revise_publication(publication_id):
    caller = _caller()
    publications.writable(caller, publication_id)
    return publications.render(publications.revise(caller, publication_id, _body(PublicationIn), _now()))


@route("/publications/{publication_id}/withdraw", "POST", "Withdraw a publication before approval (its province)",
       auth="required", tag="publications")
def withdraw_publication(publication_id):
    return publications.render(publications.withdraw(_caller(), publication_id, _now()))


@route("/me/notifications", "GET", "What concerns you, newest first: review decisions on what you filed",
       query=LIST_QUERY, auth="required", tag="push")
def get_notifications():
    from chalicelib.documents import notifications
    return notifications.page(_caller(), _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret)


# ---- files of filings and publications ------------------------------------------------
# Upload by presigned PUT, checked on completion; downloads answer 303 to a short-lived URL
# and are counted by the platform (chalicelib/attachments.py).
from chalicelib.documents.attachments import UploadIn  # noqa: E402


def _file_routes(owner: str) -> None:
    param = f"{owner}_id"  # API Gateway wants one name per path level: /filings/{filing_id}
    base = f"/{owner}s/{{{param}}}/files"
    tag = f"{owner}s"

    @route(base, "POST", f"Declare a file of a {owner} and get its presigned upload (its province, before "
           "approval)", body=UploadIn, auth="required", status=201, tag=tag)
    def start_upload(**path):
        from chalicelib.documents import attachments
        caller = _caller()
        attachments.writable(caller, owner, path[param])  # 401/403/404/409 before the body is judged
        return _json(attachments.start_upload(caller, owner, path[param], _body(UploadIn), _services().settings,
                                              _now()), 201)

    @route(f"{base}/{{file_id}}/complete", "POST", f"Check an uploaded file of a {owner} and attach it",
           auth="required", tag=tag)
    def complete_upload(file_id, **path):
        from chalicelib.documents import attachments
        return attachments.complete_upload(_caller(), owner, path[param], file_id, _services().settings, _now())

    @route(base, "GET", f"The files of a {owner}", tag=tag)
    def list_files(**path):
        from chalicelib.documents import attachments
        return attachments.files_of(_caller(), owner, path[param])

    @route(f"{base}/{{file_id}}", "GET", f"Download a file of a {owner}: 303 to a short-lived URL; the "
           "platform counts the download", auth="required", status=303, tag=tag)
    def download_file(file_id, **path):
        from chalicelib.documents import attachments
        from chalicelib.usage import robots
        url = attachments.download(_caller(), owner, path[param], file_id,
                                   app.current_request.headers.get("user-agent"), robots.counter(),
                                   _services().settings, _now())
        return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})

    for view in (start_upload, complete_upload, list_files, download_file):
        view.__name__ = f"{view.__name__}_{owner}"


_file_routes("filing")
_file_routes("publication")


# ---- interactions and counters (stream triggers) -------------------------------------

@route("/events", "POST", "Record views of filings and publications (at most 100; resent ids are duplicates)",
       body=EventsIn, auth="required", status=202, tag="interactions")
def post_events():
    from chalicelib.usage import interactions, robots
    caller = _caller()
    batch = _body(EventsIn)
    receipt = interactions.record_events(caller, batch, app.current_request.headers.get("user-agent"),
                                         robots.counter(), _now())
    from chalicelib.core import observability as obs
    for name, value in ((obs.EVENTS_ACCEPTED, receipt.accepted), (obs.EVENTS_DUPLICATE, receipt.duplicates),
                        (obs.ROBOTS_DROPPED, receipt.robots)):
        obs.metrics.add_metric(name=name, unit=obs.MetricUnit.Count, value=value)
    return _json(receipt.to_dict(), 202)


def _reaction_routes(kind: str) -> None:
    path = f"/filings/{{filing_id}}/{kind}"

    @route(path, "PUT", f"Hold a {kind} on an approved filing (idempotent)", auth="required", tag="interactions")
    def hold(filing_id):
        from chalicelib.usage import interactions
        return interactions.set_reaction(_caller(), filing_id, kind, True, _now())

    @route(path, "DELETE", f"Let go of a {kind} (idempotent)", auth="required", tag="interactions")
    def release(filing_id):
        from chalicelib.usage import interactions
        return interactions.set_reaction(_caller(), filing_id, kind, False, _now())

    hold.__name__, release.__name__ = f"hold_{kind}", f"release_{kind}"


_reaction_routes("like")
_reaction_routes("favorite")


@route("/filings/{filing_id}/comments", "POST", "Comment on an approved filing", body=CommentIn,
       auth="required", status=201, tag="interactions")
def post_comment(filing_id):
    from chalicelib.usage import interactions
    caller = _caller()
    comment = interactions.add_comment(caller, filing_id, _body(CommentIn), _now())
    return _json(interactions.render_comment(comment), 201)


@route("/filings/{filing_id}/comments", "GET", "Comments of a filing, oldest first", tag="interactions")
def get_comments(filing_id):
    from chalicelib.usage import interactions
    return {"items": [interactions.render_comment(c) for c in interactions.list_comments(_caller(), filing_id)]}


@route("/filings/{filing_id}/comments/{comment_id}", "DELETE", "Delete a comment (its author or a national admin)",
       auth="required", status=204, tag="interactions")
def delete_comment(filing_id, comment_id):
    from chalicelib.usage import interactions
    interactions.delete_comment(_caller(), filing_id, comment_id, _now())
    return Response(body="", status_code=204)


@route("/filings/{filing_id}/evaluation", "PUT", "Evaluate an approved filing (role user; replaces your last)",
       body=EvaluationIn, auth="required", tag="interactions")
def put_evaluation(filing_id):
    from chalicelib.usage import interactions
    from chalicelib.selection.organisations import as_member
    caller = as_member(_caller())  # a member evaluates as its organisation's side
    evaluation = interactions.evaluate(caller, filing_id, _body(EvaluationIn), _now())
    return interactions.render_evaluation(evaluation)


@route("/filings/{filing_id}/evaluations", "GET", "A filing's evaluations with their feedback, oldest first "
       "(its province's staff, national admins)", query=LIST_QUERY, auth="required", tag="interactions")
def get_filing_evaluations(filing_id):
    from chalicelib.documents import feedback
    return feedback.filing_evaluations(_caller(), filing_id, _limit(), _query("cursor", "cursor"),
                                       _services().settings.cursor_secret)


FEEDBACK_FILTERS = {"industry": "industry", "side": "word"}  # and the format each is checked against
FEEDBACK_QUERY = {**LIST_QUERY, "industry": http.param_schema("industry"),
                  "side": {"type": "string", "enum": list(SIDES)}}


@route("/provinces/{code}/feedback", "GET", "Feedback (意见建议) users left on a province's results, newest first "
       "(its staff, national admins)", query=FEEDBACK_QUERY, auth="required", tag="interactions")
def get_province_feedback(code):
    from chalicelib.documents import feedback
    return feedback.province_feed(_caller(), code, {name: _query(name, kind) for name, kind in FEEDBACK_FILTERS.items()},
                                  _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret)


@route("/filings/{filing_id}/stats", "GET", "Usage counters of a filing (settle within seconds)", tag="interactions")
def get_filing_stats(filing_id):
    from chalicelib.usage import stats
    return stats.filing_stats(_caller(), filing_id)


@route("/publications/{publication_id}/stats", "GET", "Usage counters of a publication (settle within seconds)",
       tag="interactions")
def get_publication_stats(publication_id):
    from chalicelib.usage import stats
    return stats.publication_stats(_caller(), publication_id)


@route("/provinces/{code}/activity", "GET", "A province's running counters for a cycle",
       query={"cycle": http.param_schema("cycle")}, tag="interactions")
def get_province_activity(code):
    from chalicelib.usage import stats
    from chalicelib.core.cycles import cycle_by_id, cycle_for
    from chalicelib.core.errors import Invalid, NotFound
    if code not in reference.PROVINCES:
        raise NotFound(f"No provincial unit {code}")
    cycle_id = _query("cycle", "cycle")
    cycle = cycle_by_id(cycle_id) if cycle_id is not None else cycle_for(_now())
    if cycle is None:
        raise Invalid("Unknown cycle", errors=[{"field": "cycle", "message": "not a cycle id from /cycles"}])
    return stats.province_activity(code, cycle)


@route("/activity", "GET", "Every unit's running counters for a cycle in one call (the national overview)",
       query={"cycle": http.param_schema("cycle")}, tag="interactions")
def get_national_activity():
    from chalicelib.usage import stats
    return stats.national_activity(_query("cycle", "cycle"), _now())


# ---- usage reports (COUNTER R5.1 tabular shape) ---------------------------------------
USAGE_QUERY = {"begin": http.param_schema("month", description="first month (default: 11 months before end)"),
               "end": http.param_schema("month", description="last month (default: this month, China time)")}


def _usage_report_routes(path: str, summary: str, build: Callable[..., Any]) -> None:
    from chalicelib.usage import usage_reports

    def answer(report, extension: str) -> Response:
        body = usage_reports.to_tsv(report) if extension == "tsv" else usage_reports.to_xlsx(report)
        return Response(body=body, status_code=200, headers={
            "Content-Type": usage_reports.TSV_TYPE if extension == "tsv" else usage_reports.XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{usage_reports.filename(report, extension)}"'})

    for extension in ("tsv", "xlsx"):
        note = "" if extension == "tsv" else " (send Accept: " + XLSX_TYPE + ")"

        @route(f"{path}.{extension}", "GET", f"{summary} as {extension.upper()}{note}", query=USAGE_QUERY,
               tag="interactions")
        def view(_extension=extension, **params):
            return answer(build(_caller(), params, _query("begin", "month"), _query("end", "month"), _now()),
                          _extension)

        view.__name__ = f"usage_report_{path.strip('/').split('/')[0]}_{extension}"


def _province_usage(caller, params, begin, end, now):
    from chalicelib.usage import usage_reports
    return usage_reports.province_report(caller, params["code"], begin, end, now)


def _item_usage(kind: str):
    def build(caller, params, begin, end, now):
        from chalicelib.usage import usage_reports
        return usage_reports.item_report(caller, kind, params[f"{kind}_id"], begin, end, now)
    return build


# ---- scoring -------------------------------------------------------------------------
# Schemes, annual forms, manual checks, excellent projects, runs and exports; the rules live in
# chalicelib/scheme.py, annual_forms.py, adjustments.py, bonus.py, flags.py, runs.py, exports.py.
# The .xlsx export is binary: Chalice/API Gateway return it base64-encoded only because its content
# type is in app.api.binary_types AND the request's Accept header names that type; without the
# header Chalice answers 400 (a problem). Clients send
# `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`.
from chalicelib.scoring import announcements as _announcements  # noqa: E402
from chalicelib.scoring.adjustments import AdjustmentIn  # noqa: E402
from chalicelib.scoring.annual_forms import AnnualFormIn  # noqa: E402
from chalicelib.core.auth import require as _require  # noqa: E402
from chalicelib.scoring.bonus import ExcellentIn  # noqa: E402
from chalicelib.scoring.scheme import SchemeIn  # noqa: E402

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
if XLSX_TYPE not in app.api.binary_types:
    app.api.binary_types.append(XLSX_TYPE)
RUN_QUERY = {"run_id": http.param_schema("id", description="national admins: a run other than the latest")}
_usage_report_routes("/provinces/{code}/usage-report", "A province's monthly usage (its staff, national admins)",
                     _province_usage)
_usage_report_routes("/filings/{filing_id}/usage-report", "A filing's monthly usage", _item_usage("filing"))
_usage_report_routes("/publications/{publication_id}/usage-report", "A publication's monthly usage",
                     _item_usage("publication"))


@route("/scoring-scheme", "GET", "The scoring scheme runs use: areas, indicators, weights, caps, flags",
       query={"version": {"type": "integer", "minimum": 1}}, auth="none", tag="scoring")
def get_scoring_scheme():
    from chalicelib.scoring import scheme
    version = scheme.parse_version(_query("version", "digits"))
    return scheme.describe(scheme.current() if version is None else scheme.get_version(version))


@route("/scoring-scheme", "PUT", "Store a new scheme version (national admin); later runs use it",
       body=SchemeIn, auth="required", status=201, tag="scoring")
def put_scoring_scheme():
    from chalicelib.scoring import scheme
    caller = _require(_caller(), "national_admin")
    return _json(scheme.describe(scheme.store_new(caller, _body(SchemeIn), _now())), 201)


@route("/provinces/{code}/annual-forms/{year}", "PUT",
       "File the province's annual information form (15–31 Oct of year, China time; its province_admin)",
       body=AnnualFormIn, auth="required", tag="scoring")
def put_annual_form(code, year):
    from chalicelib.scoring import annual_forms
    caller = _require(_caller(), "province_admin")
    form_year = annual_forms.parse_year(year)
    body = _body(AnnualFormIn)
    rendered, created = annual_forms.put(caller, code, form_year, body, _now())
    return _json(rendered, 201 if created else 200)


@route("/provinces/{code}/annual-forms/{year}", "GET",
       "A province's annual information form (its staff and national admins)", auth="required", tag="scoring")
def get_annual_form(code, year):
    from chalicelib.scoring import annual_forms
    caller = _caller()
    return annual_forms.get(caller, code, annual_forms.parse_year(year))


@route("/cycles/{cycle}/adjustments", "POST", "Record a manual-check adjustment with its reason (national admin)",
       body=AdjustmentIn, auth="required", status=201, tag="scoring")
def post_adjustment(cycle):
    from chalicelib.scoring import adjustments, scheme
    caller = _require(_caller(), "national_admin")
    body = _body(AdjustmentIn)
    ids = {ind["id"] for _, ind in scheme.indicators(scheme.current())}
    return _json(adjustments.record(caller, cycle, body, ids, _now()), 201)


@route("/cycles/{cycle}/adjustments", "GET", "Every manual-check adjustment of a cycle (national admin)",
       auth="required", tag="scoring")
def get_adjustments(cycle):
    from chalicelib.scoring import adjustments
    return {"items": adjustments.list_for(_caller(), cycle)}


@route("/cycles/{cycle}/excellent-projects", "POST", "Record an excellent project of the cycle (national admin)",
       body=ExcellentIn, auth="required", status=201, tag="scoring")
def post_excellent_project(cycle):
    from chalicelib.scoring import bonus
    caller = _require(_caller(), "national_admin")
    project, created = bonus.record_direct(caller, cycle, _body(ExcellentIn), _now())
    return _json(project, 201 if created else 200)


@route("/cycles/{cycle}/excellent-projects", "GET",
       "Excellent projects of a cycle (public once the cycle's scores are published)", tag="scoring")
def get_excellent_projects(cycle):
    from chalicelib.scoring import bonus
    return {"items": bonus.list_for(_caller(), cycle)}


@route("/cycles/{cycle}/scoring-runs", "POST", "Score the cycle now (national admin; provisional while open)",
       auth="required", status=201, tag="scoring")
def post_scoring_run(cycle):
    from chalicelib.scoring import runs
    caller = _require(_caller(), "national_admin")
    started = runs.run(cycle, caller, _now(), trigger="api")
    return _json(started, 201, {"Location": started["links"]["scores"]})


@route("/cycles/{cycle}/scoring-runs", "GET", "Scoring runs of a cycle, newest first (national admin)",
       query=LIST_QUERY, auth="required", tag="scoring")
def get_scoring_runs(cycle):
    from chalicelib.scoring import runs
    return runs.list_runs(_caller(), cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret)


def _publish_body():
    from chalicelib.scoring.announcements import PublishIn
    raw = app.current_request.raw_body
    return _body(PublishIn) if raw else PublishIn()


@route("/cycles/{cycle}/scoring-runs/{run_id}/publish", "POST",
       "Publish a run with its notice (公布) and excellent projects (通报) (national admin); a later run with a "
       "written reason supersedes the published one", body=_announcements.PublishIn, auth="required", tag="scoring")
def publish_scoring_run(cycle, run_id):
    from chalicelib.scoring import runs
    caller = _require(_caller(), "national_admin")
    return runs.publish(caller, cycle, run_id, _publish_body().reason, _now())


@route("/cycles/{cycle}/announcement", "GET", "The newest publication of the cycle: notice, ranking, excellent "
       "projects, and what it corrected", auth="none", tag="scoring")
def get_announcement(cycle):
    from chalicelib.scoring import runs
    cycles.cycle_or_404(cycle)
    return _announcements.latest(cycle)


@route("/cycles/{cycle}/announcements", "GET", "Every publication of the cycle, newest first, with the reasons "
       "for corrections", query=LIST_QUERY, auth="none", tag="scoring")
def get_announcements(cycle):
    from chalicelib.scoring import runs
    cycles.cycle_or_404(cycle)
    return _announcements.history(cycle, _limit(), _query("cursor", "cursor"),
                                  _services().settings.cursor_secret)


@route("/cycles/{cycle}/announcement/excellent-projects", "GET",
       "The excellent projects announced (通报) with the newest publication, by field and province",
       query={**LIST_QUERY, "industry": http.param_schema("industry"), "province": http.param_schema("province")}, auth="none",
       tag="scoring")
def get_announced_excellent(cycle):
    from chalicelib.scoring import runs
    cycles.cycle_or_404(cycle)
    return _announcements.excellent_projects(cycle, _query("industry", "industry"), _query("province", "province"),
                                             _limit(), _query("cursor", "cursor"),
                                             _services().settings.cursor_secret)


@route("/cycles/{cycle}/announcements/history", "GET", "Audit trail of the cycle's publications (national admin)",
       auth="required", tag="scoring")
def get_announcement_trail(cycle):
    from chalicelib.scoring import runs
    cycles.cycle_or_404(cycle)
    return {"items": _announcements.trail(_caller(), cycle)}


def _explanation_schema() -> dict:
    from chalicelib.scoring.explanations import SCHEMA
    return SCHEMA


@route("/cycles/{cycle}/scoring-runs/{run_id}/units/{province}/explanation", "GET",
       "Why a unit scored what it did in a run: each indicator's points, the inputs and the counters behind "
       "them, the flags with their evidence, the adjustments with their authors (national admin)",
       auth="required", tag="scoring", response=_explanation_schema())
def explain_unit(cycle, run_id, province):
    from chalicelib.scoring import explanations
    return explanations.explain(_caller(), cycle, run_id, province)


def _scores():
    from chalicelib.scoring import runs
    return runs.load(_caller(), app.current_request.uri_params["cycle"], _query("run_id", "id"))


@route("/cycles/{cycle}/scores", "GET", "Scores of all 32 units, best first (public: the published run)",
       query=RUN_QUERY, tag="scoring")
def get_scores(cycle):
    from chalicelib.scoring import runs
    return runs.render(_scores())


@route("/cycles/{cycle}/scores.csv", "GET", "The scores as CSV (same visibility as /scores)", query=RUN_QUERY,
       tag="scoring")
def get_scores_csv(cycle):
    from chalicelib.scoring import exports
    loaded = _scores()
    return Response(body=exports.to_csv(loaded).decode("utf-8"), status_code=200, headers={
        "Content-Type": exports.CSV_TYPE,
        "Content-Disposition": f'attachment; filename="{exports.filename(loaded, "csv")}"'})


@route("/cycles/{cycle}/scores.xlsx", "GET",
       "The scores as an Excel workbook with a bar chart (send Accept: " + XLSX_TYPE + ")", query=RUN_QUERY,
       tag="scoring")
def get_scores_xlsx(cycle):
    from chalicelib.scoring import exports
    loaded = _scores()
    return Response(body=exports.to_xlsx(loaded), status_code=200, headers={
        "Content-Type": XLSX_TYPE,
        "Content-Disposition": f'attachment; filename="{exports.filename(loaded, "xlsx")}"'})


# ---- push and excellence -------------------------------------------------------------
# Subscriptions and the feed (role user or expert), the approval push trigger, and the
# excellence selection. Rules and storage: chalicelib/subscriptions.py, chalicelib/excellence.py.
from chalicelib.selection import excellence as _excellence  # noqa: E402  (body models for the OpenAPI document)
from chalicelib.selection import home_provinces as _home_provinces  # noqa: E402
from chalicelib.selection import subscriptions as _subscriptions  # noqa: E402

FEED_QUERY = {**LIST_QUERY, "unread": {"type": "boolean", "description": "true: only items not read yet"}}
CANDIDATE_QUERY = {**LIST_QUERY, "industry": http.param_schema("industry"),
                   "status": {"type": "string", "enum": list(_excellence.STATUSES)}}


def _flag(name: str) -> bool:
    return _query(name, "flag") == "true"


@route("/me/subscriptions", "GET", "The industry fields and kinds pushed to you (user, expert)",
       auth="required", tag="push")
def get_subscriptions():
    return _subscriptions.get(_caller())


@route("/me/subscriptions", "PUT", "Choose the industry fields and kinds pushed to you (replaces; user, expert)",
       body=_subscriptions.SubscriptionsIn, auth="required", tag="push")
def put_subscriptions():
    caller = _caller()
    from chalicelib.core.auth import require
    require(caller, *_subscriptions.SUBSCRIBERS)
    return _subscriptions.put(caller, _body(_subscriptions.SubscriptionsIn), _now())


@route("/me/feed", "GET", "Results pushed to you, newest first, with read and evaluated state",
       query=FEED_QUERY, auth="required", tag="push")
def get_feed():
    caller = _caller()
    found = _subscriptions.page(caller, _flag("unread"), _limit(), _query("cursor", "cursor"),
                                _services().settings.cursor_secret)
    return _subscriptions.render_page(caller, found)


@route("/me/feed/{filing_id}/read", "POST", "Mark a feed item read (idempotent)", auth="required", tag="push")
def read_feed_item(filing_id):
    return _subscriptions.mark_read(_caller(), filing_id, _now())


@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                        name="push_stream")
def on_approval_push(event):
    """Push each newly approved filing to its field's subscribers; reports records it could not use."""
    return _subscriptions.handle_stream_batch(event.to_dict(), _now())


@route("/excellence-rules", "GET", "Rules of the excellence selection: screening, ranking, confirmation",
       auth="none", tag="excellence")
def get_excellence_rules():
    return _excellence.describe_rules()


@route("/excellence-rules", "PUT", "Replace the excellence selection rules (national admin)",
       body=_excellence.RulesIn, auth="required", tag="excellence")
def put_excellence_rules():
    caller = _caller()
    from chalicelib.core.auth import require
    require(caller, "national_admin")
    return _excellence.put_rules(caller, _body(_excellence.RulesIn), _now())


@route("/experts/{sub}/fields", "PUT", "Assign an expert the industry fields they score (national admin)",
       body=_excellence.ExpertFieldsIn, auth="required", tag="excellence")
def put_expert_fields(sub):
    caller = _caller()
    from chalicelib.core.auth import require
    require(caller, "national_admin")
    return _excellence.put_fields(caller, sub, _body(_excellence.ExpertFieldsIn), _now())


@route("/experts/{sub}/fields", "GET", "An expert's assigned fields (national admin, or the expert)",
       auth="required", tag="excellence")
def get_expert_fields(sub):
    return _excellence.get_fields(_caller(), sub)


@route("/experts/{sub}/home-province", "PUT",
       "Register the home province conflicts of interest are judged from (national admin)",
       body=_home_provinces.HomeProvinceIn, auth="required", tag="excellence")
def put_home_province(sub):
    caller = _require(_caller(), "national_admin")
    return _home_provinces.register(caller, sub, _body(_home_provinces.HomeProvinceIn), _now())


@route("/experts/{sub}/home-province", "GET", "A registered home province (national admin, or the person)",
       auth="required", tag="excellence")
def get_home_province(sub):
    return _home_provinces.describe(_caller(), sub)


@route("/cycles/{cycle}/candidates", "POST",
       "Screen an approved filing into the cycle's candidates and push it to its field (national admin)",
       body=_excellence.NominationIn, auth="required", status=201, tag="excellence")
def post_candidate(cycle):
    caller = _caller()
    from chalicelib.core.auth import require
    require(caller, "national_admin")
    candidate, created = _excellence.nominate(caller, cycle, _body(_excellence.NominationIn), _now())
    return _json(candidate, 201 if created else 200, {"Location": candidate["links"]["self"]})


@route("/cycles/{cycle}/candidates", "GET",
       "The candidate case library, ranked by online evaluation (national admin, expert)",
       query=CANDIDATE_QUERY, auth="required", tag="excellence")
def get_candidates(cycle):
    return _excellence.library(_caller(), cycle, _query("industry", "industry"), _query("status", "word"),
                               _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret)


@route("/cycles/{cycle}/candidates/{filing_id}", "GET",
       "One candidate with evaluations, expert scores and its history (national admin, expert)",
       auth="required", tag="excellence")
def get_candidate(cycle, filing_id):
    return _excellence.detail(_caller(), cycle, filing_id)


@route("/cycles/{cycle}/candidates/{filing_id}/expert-score", "PUT",
       "Score a candidate of your fields 0-100 (expert; not your own province; replaces your last)",
       body=_excellence.ExpertScoreIn, auth="required", tag="excellence")
def put_expert_score(cycle, filing_id):
    caller = _caller()
    from chalicelib.core.auth import require
    require(caller, "expert")
    return _excellence.score(caller, cycle, filing_id, _body(_excellence.ExpertScoreIn), _now())


@route("/cycles/{cycle}/candidates/{filing_id}/confirm", "POST",
       "Confirm a candidate as an excellent project: bonus points for its province (national admin)",
       auth="required", tag="excellence")
def confirm_candidate(cycle, filing_id):
    return _excellence.confirm(_caller(), cycle, filing_id, _now())



# ---- invited organisations -----------------------------------------------------------
# National admins register national organisations, province admins their own departments;
# invitations are single-use codes. Rules and storage: chalicelib/organisations.py.
from chalicelib.selection import organisations as _organisations  # noqa: E402


@route("/organisations", "POST", "Register an invited organisation (national admin; province admin: its own "
       "province's departments)", body=_organisations.OrganisationIn, auth="required", status=201,
       tag="organisations")
def post_organisation():
    caller = _require(_caller(), "national_admin", "province_admin")
    org = _organisations.register(caller, _body(_organisations.OrganisationIn), _now())
    return _json(org, 201, {"Location": f"/organisations/{org['id']}"})


@route("/organisations", "GET", "Organisations the caller manages", auth="required", tag="organisations",
       query={**LIST_QUERY, "province": http.param_schema("province")})
def get_organisations():
    return _organisations.list_page(_caller(), _query("province", "province"), _limit(), _query("cursor", "cursor"),
                                    _services().settings.cursor_secret)


@route("/organisations/{org_id}", "GET", "One organisation (its managers)", auth="required", tag="organisations")
def get_organisation(org_id):
    return _organisations.get(_caller(), org_id)


@route("/organisations/{org_id}/invitations", "POST", "Issue a single-use invitation code (its managers)",
       body=_organisations.InvitationIn, auth="required", status=201, tag="organisations")
def post_invitation(org_id):
    caller = _require(_caller(), "national_admin", "province_admin")
    _organisations.get(caller, org_id)  # 403/404 before the body is judged
    return _json(_organisations.invite(caller, org_id, _body(_organisations.InvitationIn), _now()), 201)


@route("/organisations/{org_id}/invitations", "GET", "The organisation's invitations, newest first",
       auth="required", tag="organisations")
def get_invitations(org_id):
    return {"items": _organisations.invitations(_caller(), org_id), "next_cursor": None}


@route("/organisations/{org_id}/members", "GET", "Users who accepted the organisation's invitations",
       auth="required", tag="organisations")
def get_members(org_id):
    return {"items": _organisations.members(_caller(), org_id), "next_cursor": None}


@route("/invitations/{invitation}/accept", "POST", "Join the invitation's organisation (signed-in user; single use)",
       auth="required", tag="organisations")
def accept_invitation(invitation):
    return _organisations.accept(_caller(), invitation, _now())


@route("/me/organisation", "GET", "The organisation you belong to", auth="required", tag="organisations")
def get_my_organisation():
    return _organisations.mine(_caller())


# ---- selection workflow --------------------------------------------------------------
# Declarations (参与意愿), screening (初筛), assignments to invited evaluators, completion and
# reminders. Rules and storage: chalicelib/selection.py.
from chalicelib.selection import workflow as _selection  # noqa: E402


@route("/cycles/{cycle}/declarations/{filing_id}", "PUT",
       "Declare a result of your province for the cycle's selection (参与意愿; province admin)", auth="required",
       tag="excellence")
def put_declaration(cycle, filing_id):
    declared, created = _selection.declare(_caller(), cycle, filing_id, _now())
    return _json(declared, 201 if created else 200)


@route("/cycles/{cycle}/declarations/{filing_id}", "DELETE",
       "Withdraw a declaration before the result becomes a candidate (province admin)", auth="required",
       status=204, tag="excellence")
def delete_declaration(cycle, filing_id):
    _selection.withdraw(_caller(), cycle, filing_id, _now())
    return Response(body="", status_code=204)


@route("/cycles/{cycle}/declarations", "GET", "The cycle's declarations (national admin; province admin: its own)",
       auth="required", tag="excellence")
def get_declarations(cycle):
    return {"items": _selection.declarations(_caller(), cycle), "next_cursor": None}


@route("/cycles/{cycle}/screening", "GET",
       "Every declared result of the cycle, eligible first, with the rules each ineligible one broke (national admin)",
       auth="required", tag="excellence")
def get_screening(cycle):
    return _selection.screening(_caller(), cycle)


@route("/cycles/{cycle}/candidates/{filing_id}/assignments", "POST",
       "Ask invited evaluators of the candidate's field to evaluate it; it appears in their feed (national admin)",
       body=_selection.AssignmentIn, auth="required", tag="excellence")
def post_assignments(cycle, filing_id):
    caller = _require(_caller(), "national_admin")
    return _selection.assign(caller, cycle, filing_id, _body(_selection.AssignmentIn), _now())


@route("/cycles/{cycle}/assignments", "GET",
       "Assignments with completion per candidate and per evaluator (national admin)",
       query={"filing": http.param_schema("id"), "evaluator": http.param_schema("sub")}, auth="required", tag="excellence")
def get_assignments(cycle):
    return _selection.completion(_caller(), cycle, _query("filing", "id"), _query("evaluator", "sub"))


@route("/me/assignments", "GET", "Candidates you were asked to evaluate, with whether you did", auth="required",
       tag="excellence")
def get_my_assignments():
    return _selection.mine(_caller())


@app.schedule(Cron(0, 1, "*", "*", "?", "*"), name="selection_reminders")
def selection_reminders(event):
    """09:00 China time daily: remind evaluators of candidates they have not evaluated yet."""
    sent = _selection.remind(_now())
    logger.info("selection reminders", extra=sent)
    return sent


# ---- evaluated populations -----------------------------------------------------------
# The provincial units, national patent navigation service bases and support institutions:
# registries, schemes, attribution of filings, runs and publications. chalicelib/populations.py.
from chalicelib.scoring import populations as _populations  # noqa: E402

POPULATION_BASE = "/populations/{population}/cycles/{cycle}"


@route("/populations", "GET", "The evaluated populations", auth="none", tag="populations")
def get_populations():
    return {"items": _populations.describe()}


@route("/populations/{population}/units", "GET", "A population's registry of evaluated units", auth="none",
       tag="populations")
def get_population_units(population):
    return {"items": _populations.units(population), "next_cursor": None}


@route("/populations/{population}/units", "POST", "Register a service base or support institution (national admin)",
       body=_populations.UnitIn, auth="required", status=201, tag="populations")
def post_population_unit(population):
    caller = _require(_caller(), "national_admin")
    return _json(_populations.register_unit(caller, population, _body(_populations.UnitIn), _now()), 201)


@route("/populations/{population}/scoring-scheme", "GET", "The population's own scoring scheme",
       query={"version": {"type": "integer", "minimum": 1}}, auth="none", tag="populations")
def get_population_scheme(population):
    from chalicelib.scoring import scheme
    version = scheme.parse_version(_query("version", "digits"))
    found = (_populations.current_scheme(population) if version is None
             else _populations.scheme_version(population, version))
    return scheme.describe(found)


@route("/populations/{population}/scoring-scheme", "PUT", "Store a new version of the population's scheme "
       "(national admin)", body=SchemeIn, auth="required", status=201, tag="populations")
def put_population_scheme(population):
    from chalicelib.scoring import scheme
    caller = _require(_caller(), "national_admin")
    _populations.population_or_404(population)
    return _json(scheme.describe(_populations.store_scheme(caller, population, _body(SchemeIn), _now())), 201)


@route("/filings/{filing_id}/attribution", "PUT", "Attribute a filing to a service base or support institution "
       "(the filing's province staff for a unit there, or a national admin)", body=_populations.AttributionIn,
       auth="required", tag="populations")
def put_attribution(filing_id):
    caller = _require(_caller(), "national_admin", "province_admin", "filer")
    return _populations.attribute(caller, filing_id, _body(_populations.AttributionIn), _now())


@route(POPULATION_BASE + "/scoring-runs", "POST", "Score the population for the cycle (national admin)",
       auth="required", status=201, tag="populations")
def post_population_run(population, cycle):
    return _json(_populations.run(_caller(), population, cycle, _now()), 201)


@route(POPULATION_BASE + "/scores", "GET", "The population's scores, best first (public: the newest publication)",
       query=RUN_QUERY, tag="populations")
def get_population_scores(population, cycle):
    return _populations.scores(_caller(), population, cycle, _query("run_id", "id"))


@route(POPULATION_BASE + "/scoring-runs/{run_id}/publish", "POST", "Publish the population's run with its notice; "
       "a later run with a written reason supersedes it (national admin)", body=_announcements.PublishIn,
       auth="required", tag="populations")
def publish_population_run(population, cycle, run_id):
    caller = _require(_caller(), "national_admin")
    return _populations.publish(caller, population, cycle, run_id, _publish_body().reason, _now())


@route(POPULATION_BASE + "/announcements", "GET", "Every publication of the population's cycle, newest first",
       query=LIST_QUERY, auth="none", tag="populations")
def get_population_announcements(population, cycle):
    from chalicelib.scoring import runs
    _populations.population_or_404(population)
    cycles.cycle_or_404(cycle)
    scope = _announcements.scope_key(cycle, None if population == _populations.PROVINCES_ID else population)
    return _announcements.history(scope, _limit(), _query("cursor", "cursor"),
                                  _services().settings.cursor_secret)


@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON",
                        name="facts_stream")
@flushed
def on_fact_change(event):
    """Keep the running counters in step with the facts; reports records it could not use."""
    import time

    from chalicelib.usage import counters
    from chalicelib.core import observability as obs
    raw = event.to_dict()
    answer = counters.handle_stream_batch(raw, _now(), _services().settings.marker_ttl)
    obs.metrics.add_metric(name=obs.BATCH_FAILURES, unit=obs.MetricUnit.Count,
                           value=len(answer.get("batchItemFailures", [])))
    written = [r["dynamodb"].get("ApproximateCreationDateTime") for r in raw.get("Records", [])]
    if any(written):
        obs.metrics.add_metric(name=obs.COUNTER_LAG_SECONDS, unit=obs.MetricUnit.Seconds,
                               value=max(0.0, time.time() - min(float(w) for w in written if w)))
    return answer


@app.schedule(Cron(1, 16, "*", "*", "?", "*"), name="annual_form_reminders")
def annual_form_reminders(event):
    """00:01 China time each day: tell province admins the annual-form window opens or closes soon."""
    from chalicelib.documents import notifications
    return {"written": notifications.remind_province_admins(_now())}


@app.schedule(Cron(0, 15, 31, 12, "?", "*"), name="year_end")
def year_end_scoring(event):
    """23:00 China time on 31 December: score every cycle that closed this year."""
    from chalicelib.scoring import populations, runs
    scored = runs.year_end(_now()) + populations.year_end(_now())
    logger.info("year-end scoring", extra={"runs": [r["run_id"] for r in scored]})
    return {"scored": [{"cycle": r["cycle"], "run_id": r["run_id"]} for r in scored]}
