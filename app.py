"""Routes and triggers of patentnavi-eval. Each handler parses, authorizes, calls one domain
function and shapes the answer; the rules live in chalicelib/."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Cron, Response

from chalicelib import composition
from chalicelib.core import cors, http, openapi, reference, spreadsheets, store
from chalicelib.core.auth import Caller, admit
from chalicelib.core.cycles import cycle_or_404, cycles_until
from chalicelib.core.errors import Problem
from chalicelib.core.observability import flush, flushed
from chalicelib.core.paging import DEFAULT_LIMIT, MAX_LIMIT, computed_page, parse_limit, scope_of
from chalicelib.core.schemas import parse
from chalicelib.core.vocabulary import DEMAND_STATUSES, SIDES
from chalicelib.documents import (
    attachments,
    demands,
    feedback,
    filings,
    funded_projects,
    imports,
    notifications,
    publications,
)
from chalicelib.documents.attachments import UploadIn
from chalicelib.documents.filings import ApplicationChangeIn, FilingIn
from chalicelib.documents.imports import ImportIn
from chalicelib.documents.lifecycle import ReviewIn, TakedownIn
from chalicelib.documents.publications import PublicationIn
from chalicelib.scoring import (
    adjustments,
    announcements,
    annual_forms,
    bonus,
    explanations,
    exports,
    flag_resolutions,
    objections,
    populations,
    reminders,
    runs,
    scheme,
)
from chalicelib.scoring.adjustments import AdjustmentIn
from chalicelib.scoring.annual_forms import AnnualFormIn
from chalicelib.scoring.bonus import ExcellentIn
from chalicelib.scoring.scheme import SchemeIn
from chalicelib.selection import (
    excellence,
    home_provinces,
    organisations,
    personal_data,
    subscriptions,
    workflow,
)
from chalicelib.usage import downloads, interactions, running_counters, stats, sushi, usage_reports
from chalicelib.usage.interactions import CommentIn, EvaluationIn, EventsIn

app = Chalice(app_name="patentnavi-eval", configure_logs=False)  # Powertools writes the log lines
logger = Logger(service="patentnavi-eval", json_serializer=http.redacted_json)  # no token reaches a log

# Chalice packages this literal; the merge template in infra/ rewires it to the table's stream.
FACTS_STREAM_ARN = os.environ.get(
    "NAVI_FACTS_STREAM_ARN", "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-facts/stream/placeholder"
)


def _services() -> composition.Services:
    return composition.services()


def _now():
    return _services().clock.now()


def _caller() -> Caller | None:
    request = app.current_request
    if hasattr(request, "navi_caller"):  # the token is decoded once per request
        return request.navi_caller
    request.navi_caller = _services().authenticator.caller(request.headers.get("authorization"))
    return request.navi_caller


def _body(model):
    request = app.current_request
    return parse(model, http.json_body(request.raw_body, request.headers.get("content-type")))


def _query(name: str, kind: str) -> str | None:
    """A query parameter in its declared format (chalicelib.core.http.PARAM_FORMATS); 422 otherwise."""
    return http.param(name, (app.current_request.query_params or {}).get(name), kind)


def _limit() -> int:
    return parse_limit((app.current_request.query_params or {}).get("limit"))


def _paging() -> tuple[int, str | None, str]:
    """limit, cursor and the stage's cursor secret: what every list's domain function pages with."""
    return _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret


def _reference_page(name: str, items: list[dict]) -> dict:
    """A page of a reference list (a few dozen entries known to the code, in their fixed order): paged
    like every list."""
    limit, cursor, secret = _paging()
    page = computed_page(enumerate(items), limit, cursor, scope_of(name), secret, lambda pair: (pair[0],))
    return page.to_dict(lambda pair: pair[1])


def _problem_response(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(
        body=http.dumps(body),
        status_code=status,
        headers={"Content-Type": http.PROBLEM_TYPE, **(headers or {})},
    )


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=http.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def route(
    path: str,
    method: str,
    summary: str,
    *,
    roles: tuple[str, ...] = (),
    body: type | None = None,
    query: dict | None = None,
    auth: str = "optional",
    status: int = 200,
    tag: str = "platform",
    response: dict | None = None,
    media: tuple[str, ...] = (http.JSON_TYPE,),
    errors: dict | None = None,
    **chalice_kw,
):
    """Register a Chalice route, record it for the OpenAPI document, render Problems.

    `roles`: who may call it; anyone else is refused (401 anonymous, 403 another role) before
    the handler runs, so before its body is judged. Declaring roles makes the token required.
    Checks that depend on the record (the filing's province...) stay in the domain.
    `media`: the media types a success answers, each documented (a 303 or 204 answers none).
    `errors`: the JSON schema of a protocol's own error body, where it answers no problem (SUSHI)."""
    if roles:
        auth = "required"
    http.ROUTES.append(
        http.RouteDoc(
            method,
            path,
            summary,
            body,
            query or {},
            auth,
            status,
            response,
            tag=tag,
            roles=tuple(roles),
            media=() if status in (204, 303) else tuple(media),
            errors=errors,
        )
    )
    path_params = {
        name: http.PATH_PARAMS[name] for name in re.findall(r"{(\w+)}", path)
    }  # KeyError: declare it
    _preflight_route(path)

    def decorate(view: Callable[..., Any]):
        @functools.wraps(view)
        def handle(**params):
            try:
                for name, kind in path_params.items():
                    http.param(name, params[name], kind)
                # A write without a good token is 401 before its body is even read.
                if auth == "required":
                    admit(_caller(), roles)  # the one role check of the API's routes
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
    http.ROUTES.append(
        http.RouteDoc(
            "OPTIONS",
            path,
            "CORS preflight: allowed for the stage's portal origins",
            auth="none",
            status=204,
            tag="platform",
        )
    )

    def preflight(**_params):
        request = app.current_request
        allowed = sorted(m for m in app.routes[path] if m != "OPTIONS") + ["OPTIONS"]
        headers = cors.preflight_headers(
            request.headers.get("origin"),
            request.headers.get("access-control-request-method"),
            allowed,
            _services().settings.cors_origins,
        )
        if headers is None:
            return _problem_response(
                403,
                http.generic_problem(403, "This origin may not call the API from a browser"),
                {"Allow": ", ".join(allowed)},
            )
        return Response(body="", status_code=204, headers={"Allow": ", ".join(allowed), **headers})

    preflight.__name__ = "preflight_" + (re.sub(r"\W+", "_", path).strip("_") or "root")
    app.route(path, methods=["OPTIONS"], content_types=["*/*"])(preflight)


@app.middleware("http")
def problems_and_logging(event, get_response):
    """Every error leaves as problem+json, including Chalice's own (405, bad JSON, 500)."""
    context = app.lambda_context
    # Per thread: the local server runs requests side by side, and each line must name its own.
    logger.thread_safe_append_keys(
        request_id=getattr(context, "aws_request_id", None), method=event.method, path=event.path
    )
    try:
        response = _as_problem(get_response(event))
    except Exception:
        logger.exception("unhandled error")
        response = _problem_response(500, http.generic_problem(500, "An internal error occurred"))
    try:
        response.headers.update(
            cors.response_headers(event.headers.get("origin"), _services().settings.cors_origins)
        )
        return response
    finally:
        flush()
        # The request's keys must not leak into the next invocation's log lines.
        logger.thread_safe_remove_keys(["request_id", "method", "path"])


def _as_problem(response: Response) -> Response:
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    # A SUSHI Exception is the protocol's own error shape: harvesters read its Code, not a problem.
    if (
        response.status_code >= 400
        and http.PROBLEM_TYPE not in content_type
        and not getattr(response, "sushi", False)
    ):
        detail = response.body.get("Message") if isinstance(response.body, dict) else None
        if response.status_code >= 500:
            logger.error("server error", extra={"status": response.status_code})
        body = http.generic_problem(response.status_code, detail or "The request could not be served")
        extra = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
        response = _problem_response(response.status_code, body, extra)
    logger.info("request", extra={"status": response.status_code})
    return response


def _filters(filters: dict[str, str]) -> dict[str, str | None]:
    """The list filters of the query string, each checked against its declared format."""
    return {name: _query(name, kind) for name, kind in filters.items()}


def _list(domain, filters: dict) -> dict:
    """One page of filings or publications: filters, limit and cursor from the query string."""
    page = domain.list_page(
        _caller(), _filters(filters), _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )
    return page.to_dict(domain.render)


# ---- platform ------------------------------------------------------------------------


@route("/health", "GET", "Liveness of the API and its store", auth="none")
def health():
    try:
        store.ping()
    except Exception:  # any store failure means not healthy
        logger.exception("store unreachable")
        return _problem_response(503, http.generic_problem(503, "The store is not reachable"))
    return {"status": "ok"}


@route("/openapi.json", "GET", "This API's OpenAPI 3.1 document", auth="none")
def openapi_document():
    return openapi.document(http.ROUTES)


# Every list's query: `limit` (1..MAX_LIMIT, default 50) and the opaque `cursor` of the page before.
LIST_QUERY = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "cursor": http.param_schema("cursor"),
}


@route(
    "/docs",
    "GET",
    "This API's document for a person (Swagger UI, served with its assets by the API)",
    auth="none",
    media=("text/html; charset=utf-8",),
)
def docs_page():
    return Response(
        body=openapi.DOCS_PAGE,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": openapi.DOCS_POLICY},
    )


def _docs_asset_route(name: str, media: str) -> None:
    @route(f"/docs/{name}", "GET", f"An asset of /docs: {name}", auth="none", media=(media,))
    def asset():
        return Response(
            body=openapi.docs_asset(name),
            status_code=200,
            headers={"Content-Type": media, "Cache-Control": "public, max-age=86400"},
        )

    asset.__name__ = "docs_" + re.sub(r"\W+", "_", name)


for _name, (_media, _file) in openapi.DOCS_ASSETS.items():
    _docs_asset_route(_name, _media)


@route("/provinces", "GET", "The 32 evaluated provincial units", query=LIST_QUERY, auth="none")
def list_provinces():
    return _reference_page("PROVINCES", reference.province_list())


@route(
    "/industries", "GET", "Industry fields filings are tagged and pushed by", query=LIST_QUERY, auth="none"
)
def list_industries():
    return {
        "classification": reference.INDUSTRY_CLASSIFICATION,
        **_reference_page("INDUSTRIES", reference.industry_list()),
    }


@route("/cycles", "GET", "Evaluation cycles up to the current one", query=LIST_QUERY, auth="none")
def list_cycles():
    now = _now()
    return _reference_page("CYCLES", [c.to_dict(now) for c in cycles_until(now)])


# ---- filings -------------------------------------------------------------------------

# List filters and the parameter format each is checked against.
FILING_FILTERS = {
    "province": "province",
    "kind": "word",
    "status": "word",
    "cycle": "cycle",
    "industry": "industry",
}
PUBLICATION_FILTERS = {"province": "publisher", "kind": "word", "status": "word", "cycle": "cycle"}


def _documented(filters: dict[str, str]) -> dict[str, dict]:
    return {name: http.param_schema(kind) for name, kind in filters.items()}


@route(
    "/filings",
    "POST",
    "File a result (备案) for the caller's province",
    body=FilingIn,
    roles=filings.FILERS,
    status=201,
    tag="filings",
)
def create_filing():
    caller = _caller()
    filing = filings.create(caller, _body(FilingIn), _now())
    return _json(filings.render(filing), 201, {"Location": f"/filings/{filing.id}"})


@route(
    "/filings/import-template.csv",
    "GET",
    "The bulk-import template of filings as CSV (UTF-8)",
    auth="none",
    tag="filings",
    media=(spreadsheets.CSV_TYPE,),
)
def filing_import_template_csv():
    return Response(
        body=imports.template_csv(),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.CSV_TYPE,
            "Content-Disposition": 'attachment; filename="filings-import.csv"',
        },
    )


@route(
    "/filings/import-template.xlsx",
    "GET",
    "The bulk-import template of filings as xlsx (send Accept: " + spreadsheets.XLSX_TYPE + ")",
    auth="none",
    tag="filings",
    media=(spreadsheets.XLSX_TYPE,),
)
def filing_import_template_xlsx():
    return Response(
        body=imports.template_xlsx(),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.XLSX_TYPE,
            "Content-Disposition": 'attachment; filename="filings-import.xlsx"',
        },
    )


@route(
    "/filings/imports",
    "POST",
    "Bulk-import the province's filings from the template: dry run (per-row "
    "problems, nothing stored) or commit (idempotent by the sheet's reference column)",
    body=ImportIn,
    roles=filings.FILERS,
    tag="filings",
)
def import_filings():
    caller = _caller()
    return imports.run(caller, _body(ImportIn), _now())


@route(
    "/provinces/{code}/filing-imports",
    "GET",
    "A province's bulk imports with their counts, newest first (its staff, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="filings",
)
def list_filing_imports(code):
    return imports.jobs_page(_caller(), code, *_paging())


@route(
    "/filings",
    "GET",
    "List filings visible to the caller",
    query={**LIST_QUERY, **_documented(FILING_FILTERS)},
    tag="filings",
)
def list_filings():
    return _list(filings, FILING_FILTERS)


@route(
    "/filings/{filing_id}",
    "GET",
    "One filing with the first page of its files (files_next_cursor continues at /filings/{filing_id}/files)",
    tag="filings",
)
def get_filing(filing_id):
    filing = filings.get(_caller(), filing_id)
    return attachments.with_files(
        "filing", filing, filings.render(filing), _services().settings.cursor_secret
    )


@route(
    "/filings/{filing_id}/review",
    "POST",
    "Approve or reject a filing (national admin)",
    body=ReviewIn,
    roles=("national_admin",),
    tag="filings",
)
def review_filing(filing_id):
    return filings.render(filings.review(_caller(), filing_id, _body(ReviewIn), _now()))


@route(
    "/filings/{filing_id}/application",
    "PUT",
    "Record a change of how the result is applied",
    body=ApplicationChangeIn,
    roles=filings.FILERS,
    tag="filings",
)
def change_application(filing_id):
    caller = _caller()
    filings.writable(caller, filing_id)  # 401/403/404 before the body is judged
    update = filings.change_application(caller, filing_id, _body(ApplicationChangeIn), _now())
    return filings.render_application(update)


@route(
    "/filings/{filing_id}/application",
    "GET",
    "Every application change of a filing, oldest first",
    query=LIST_QUERY,
    tag="filings",
)
def application_history(filing_id):
    return filings.application_history(_caller(), filing_id, *_paging())


@route(
    "/filings/{filing_id}/history",
    "GET",
    "Audit trail of a filing (its province, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="filings",
)
def filing_history(filing_id):
    return filings.history(_caller(), filing_id, *_paging())


@route(
    "/filings/{filing_id}/revisions",
    "POST",
    "Correct and resubmit a filing (its province): back to review; "
    "an approved one stays public as approved until the change is",
    body=FilingIn,
    roles=filings.FILERS,
    tag="filings",
)
def revise_filing(filing_id):
    caller = _caller()
    filings.writable(caller, filing_id)
    return filings.render(filings.revise(caller, filing_id, _body(FilingIn), _now()))


@route(
    "/filings/{filing_id}/withdraw",
    "POST",
    "Withdraw a filing before approval (its province)",
    roles=filings.FILERS,
    tag="filings",
)
def withdraw_filing(filing_id):
    return filings.render(filings.withdraw(_caller(), filing_id, _now()))


# ---- publications --------------------------------------------------------------------


@route(
    "/publications",
    "POST",
    "Publish news, a notice, a policy or navigation info: a province's waits for "
    "review; the national office's (national admins, province absent or 'national') is published at once",
    body=PublicationIn,
    roles=publications.PUBLISHERS,
    status=201,
    tag="publications",
)
def create_publication():
    caller = _caller()
    publication = publications.create(caller, _body(PublicationIn), _now())
    return _json(publications.render(publication), 201, {"Location": f"/publications/{publication.id}"})


@route(
    "/publications",
    "GET",
    "List publications visible to the caller",
    query={**LIST_QUERY, **_documented(PUBLICATION_FILTERS)},
    tag="publications",
)
def list_publications():
    return _list(publications, PUBLICATION_FILTERS)


@route(
    "/publications/{publication_id}",
    "GET",
    "One publication with the first page of its files "
    "(files_next_cursor continues at /publications/{publication_id}/files)",
    tag="publications",
)
def get_publication(publication_id):
    publication = publications.get(_caller(), publication_id)
    return attachments.with_files(
        "publication", publication, publications.render(publication), _services().settings.cursor_secret
    )


@route(
    "/publications/{publication_id}/review",
    "POST",
    "Approve or reject a publication (national admin)",
    body=ReviewIn,
    roles=("national_admin",),
    tag="publications",
)
def review_publication(publication_id):
    return publications.render(publications.review(_caller(), publication_id, _body(ReviewIn), _now()))


@route(
    "/publications/{publication_id}/revisions",
    "POST",
    "Correct and resubmit a publication (its province): back to review",
    body=PublicationIn,
    roles=filings.FILERS,
    tag="publications",
)
def revise_publication(publication_id):
    caller = _caller()
    publications.writable(caller, publication_id)
    return publications.render(publications.revise(caller, publication_id, _body(PublicationIn), _now()))


@route(
    "/publications/{publication_id}/withdraw",
    "POST",
    "Withdraw a publication before approval (its province)",
    roles=filings.FILERS,
    tag="publications",
)
def withdraw_publication(publication_id):
    return publications.render(publications.withdraw(_caller(), publication_id, _now()))


@route(
    "/me/notifications",
    "GET",
    "What concerns you, newest first: review decisions on what you filed",
    query=LIST_QUERY,
    auth="required",
    tag="push",
)
def get_notifications():
    return notifications.page(
        _caller(), _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


def _takedown_route(owner: str, module: Any) -> None:
    param = f"{owner}_id"

    @route(
        f"/{owner}s/{{{param}}}/takedown",
        "POST",
        f"Take an approved {owner} out of public view with a reason "
        "(national admin; audited, told to the filer; its counts stay unless exclude_from_scoring)",
        body=TakedownIn,
        roles=("national_admin",),
        tag=f"{owner}s",
    )
    def take_down(**params):
        return module.render(module.take_down(_caller(), params[param], _body(TakedownIn), _now()))

    take_down.__name__ = f"take_down_{owner}"


_takedown_route("filing", filings)
_takedown_route("publication", publications)


# ---- a province's fiscally funded projects, checked against its filings -----------------


@route(
    "/provinces/{code}/funded-projects/{cycle}",
    "PUT",
    "Upload the province's list of fiscally funded projects "
    "of a cycle (its province admin; JSON, or text/csv with the header number,title,funding_source,amount); "
    "answers which have no filing",
    body=funded_projects.FundedProjectsIn,
    roles=("province_admin",),
    tag="filings",
)
def put_funded_projects(code, cycle):
    request = app.current_request
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() == "text/csv":
        body = funded_projects.from_csv(request.raw_body)
    else:
        body = _body(funded_projects.FundedProjectsIn)
    return funded_projects.put(_caller(), code, cycle, body, _now(), _services().settings.cursor_secret)


@route(
    "/provinces/{code}/funded-projects/{cycle}",
    "GET",
    "The province's fiscally funded projects of a cycle, "
    "each with the filing that names it or null (its staff, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="filings",
)
def get_funded_projects(code, cycle):
    return funded_projects.checked(_caller(), code, cycle, *_paging())


# ---- demands and suggestions users send to a province or the national office ----------

DEMAND_QUERY = {
    **LIST_QUERY,
    "to": {**http.param_schema("publisher"), "description": "the addressee (required)"},
    "status": {"type": "string", "enum": list(DEMAND_STATUSES)},
    "industry": http.param_schema("industry"),
}


@route(
    "/demands",
    "POST",
    "Send a demand or suggestion to a province or the national office (role user)",
    body=demands.DemandIn,
    roles=demands.SENDERS,
    status=201,
    tag="demands",
)
def post_demand():
    return _json(demands.send(_caller(), _body(demands.DemandIn), _now()), 201)


@route(
    "/demands",
    "GET",
    "Demands and suggestions sent to a province or the national office, newest first "
    "(the province's staff, national admins)",
    query=DEMAND_QUERY,
    auth="required",
    tag="demands",
)
def list_demands():
    page = demands.page(
        _caller(),
        _query("to", "publisher"),
        _query("status", "word"),
        _query("industry", "industry"),
        _limit(),
        _query("cursor", "cursor"),
        _services().settings.cursor_secret,
    )
    return page.to_dict(lambda record: demands.render(record, _caller()))


@route(
    "/demands/{demand_id}",
    "GET",
    "One demand or suggestion (its sender, the addressee, national admins)",
    auth="required",
    tag="demands",
)
def get_demand(demand_id):
    return demands.get(_caller(), demand_id)


@route(
    "/demands/{demand_id}/answer",
    "POST",
    "Answer a demand (the addressed province's admins, national admins); the sender is told",
    body=demands.AnswerIn,
    roles=demands.ADDRESSEES,
    tag="demands",
)
def answer_demand(demand_id):
    return demands.answer(_caller(), demand_id, _body(demands.AnswerIn), _now())


@route(
    "/demands/{demand_id}/close",
    "POST",
    "Close a demand (the addressed province's admins, national admins); the sender is told",
    body=demands.CloseIn,
    roles=demands.ADDRESSEES,
    tag="demands",
)
def close_demand(demand_id):
    return demands.close(_caller(), demand_id, _body(demands.CloseIn), _now())


# ---- files of filings and publications ------------------------------------------------
# Upload by presigned PUT, checked on completion; downloads answer 303 to a short-lived URL
# and are counted by the platform (chalicelib/documents/attachments.py).


def _file_routes(owner: str) -> None:
    param = f"{owner}_id"  # API Gateway wants one name per path level: /filings/{filing_id}
    base = f"/{owner}s/{{{param}}}/files"
    tag = f"{owner}s"

    uploaders = attachments.UPLOADERS.get(owner, filings.FILERS)
    national = "; national admins, to a national notice" if owner == "publication" else ""

    @route(
        base,
        "POST",
        f"Declare a file of a {owner} and get its presigned upload (its province, before approval{national})",
        body=UploadIn,
        roles=uploaders,
        status=201,
        tag=tag,
    )
    def start_upload(**path):
        caller = _caller()
        attachments.writable(caller, owner, path[param])  # 401/403/404/409 before the body is judged
        return _json(
            attachments.start_upload(
                caller, owner, path[param], _body(UploadIn), _services().settings, _now()
            ),
            201,
        )

    @route(
        f"{base}/{{file_id}}/complete",
        "POST",
        f"Check an uploaded file of a {owner} and attach it",
        roles=uploaders,
        tag=tag,
    )
    def complete_upload(file_id, **path):
        return attachments.complete_upload(
            _caller(), owner, path[param], file_id, _services().settings, _now()
        )

    @route(base, "GET", f"The files of a {owner}, oldest first", query=LIST_QUERY, tag=tag)
    def list_files(**path):
        return attachments.files_of(_caller(), owner, path[param], *_paging())

    @route(
        f"{base}/{{file_id}}",
        "GET",
        f"Download a file of a {owner}: 303 to a short-lived URL; the platform counts the download",
        auth="required",
        status=303,
        tag=tag,
    )
    def download_file(file_id, **path):
        url = downloads.download(
            _caller(),
            owner,
            path[param],
            file_id,
            app.current_request.headers.get("user-agent"),
            _services().robots,
            _services().settings,
            _now(),
        )
        return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})

    @route(
        f"/{owner}s/{{{param}}}/versions",
        "GET",
        f"The approved versions of a {owner} with their files, oldest "
        "first (its province and national admins also see a revision waiting for review)",
        query=LIST_QUERY,
        tag=tag,
    )
    def list_versions(**path):
        return attachments.versions(_caller(), owner, path[param], *_paging())

    for view in (start_upload, complete_upload, list_files, download_file, list_versions):
        view.__name__ = f"{view.__name__}_{owner}"


_file_routes("filing")
_file_routes("publication")


# ---- interactions and counters (stream triggers) -------------------------------------


@route(
    "/events",
    "POST",
    "Record views of filings and publications (at most 100; resent ids are duplicates)",
    body=EventsIn,
    auth="required",
    status=202,
    tag="interactions",
)
def post_events():
    caller = _caller()
    receipt = interactions.receive_events(
        caller, _body(EventsIn), app.current_request.headers.get("user-agent"), _services().robots, _now()
    )
    return _json(receipt.to_dict(), 202)


def _reaction_routes(owner: str, kind: str) -> None:
    param = f"{owner}_id"
    path = f"/{owner}s/{{{param}}}/{kind}"

    @route(
        path, "PUT", f"Hold a {kind} on an approved {owner} (idempotent)", auth="required", tag="interactions"
    )
    def hold(**params):
        return interactions.set_reaction(_caller(), params[param], kind, True, _now(), owner)

    @route(path, "DELETE", f"Let go of a {kind} (idempotent)", auth="required", tag="interactions")
    def release(**params):
        return interactions.set_reaction(_caller(), params[param], kind, False, _now(), owner)

    suffix = "" if owner == "filing" else f"_{owner}"
    hold.__name__, release.__name__ = f"hold_{kind}{suffix}", f"release_{kind}{suffix}"


def _comment_routes(owner: str) -> None:
    param = f"{owner}_id"
    base = f"/{owner}s/{{{param}}}/comments"

    @route(
        base,
        "POST",
        f"Comment on an approved {owner}",
        body=CommentIn,
        auth="required",
        status=201,
        tag="interactions",
    )
    def post_comment(**params):
        caller = _caller()
        comment = interactions.add_comment(caller, params[param], _body(CommentIn), _now(), owner)
        return _json(interactions.render_comment(comment, caller), 201)

    @route(
        base,
        "GET",
        f"Comments of a {owner}, oldest first: authors by display name (pseudonyms for national "
        "admins); hidden ones for its moderators only",
        query=LIST_QUERY,
        tag="interactions",
    )
    def get_comments(**params):
        return interactions.comments_page(_caller(), params[param], *_paging(), owner)

    @route(
        f"{base}/{{comment_id}}",
        "DELETE",
        "Delete a comment (its author or a national admin)",
        auth="required",
        status=204,
        tag="interactions",
    )
    def delete_comment(comment_id, **params):
        interactions.delete_comment(_caller(), params[param], comment_id, _now(), owner)
        return Response(body="", status_code=204)

    @route(
        f"{base}/{{comment_id}}/hide",
        "POST",
        f"Hide a comment with a reason (national admins; the {owner}'s "
        "province admin): audited, no longer shown or counted",
        body=interactions.HideIn,
        roles=interactions.MODERATORS,
        tag="interactions",
    )
    def hide_comment(comment_id, **params):
        caller = _caller()
        comment = interactions.hide_comment(
            caller, params[param], comment_id, _body(interactions.HideIn), _now(), owner
        )
        return interactions.render_comment(comment, caller)

    @route(
        f"{base}/{{comment_id}}/unhide",
        "POST",
        f"Show a hidden comment again with a reason (national admins; the {owner}'s "
        "province admin): audited, shown and counted again",
        body=interactions.UnhideIn,
        roles=interactions.MODERATORS,
        tag="interactions",
    )
    def unhide_comment(comment_id, **params):
        caller = _caller()
        comment = interactions.unhide_comment(
            caller, params[param], comment_id, _body(interactions.UnhideIn), _now(), owner
        )
        return interactions.render_comment(comment, caller)

    @route(
        f"{base}/{{comment_id}}/reports",
        "POST",
        "Report a comment to its moderators (once per user)",
        body=interactions.ReportIn,
        auth="required",
        tag="interactions",
    )
    def report_comment(comment_id, **params):
        return interactions.report_comment(
            _caller(), params[param], comment_id, _body(interactions.ReportIn), _now(), owner
        )

    if owner != "filing":
        for view in (
            post_comment,
            get_comments,
            delete_comment,
            hide_comment,
            unhide_comment,
            report_comment,
        ):
            view.__name__ = f"{view.__name__}_{owner}"


for _owner in ("filing", "publication"):
    _reaction_routes(_owner, "like")
    _reaction_routes(_owner, "favorite")
    _comment_routes(_owner)


@route(
    "/filings/{filing_id}/evaluation",
    "PUT",
    "Evaluate an approved filing (role user; replaces your last)",
    body=EvaluationIn,
    auth="required",
    tag="interactions",
)
def put_evaluation(filing_id):
    caller = organisations.as_member(_caller())  # a member evaluates as its organisation's side
    evaluation = interactions.evaluate(caller, filing_id, _body(EvaluationIn), _now())
    return interactions.render_evaluation(evaluation)


@route(
    "/filings/{filing_id}/evaluations",
    "GET",
    "A filing's evaluations with their feedback, oldest first (its province's staff, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="interactions",
)
def get_filing_evaluations(filing_id):
    return feedback.filing_evaluations(
        _caller(), filing_id, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


FEEDBACK_FILTERS = {"industry": "industry", "side": "word"}  # and the format each is checked against
FEEDBACK_QUERY = {
    **LIST_QUERY,
    "industry": http.param_schema("industry"),
    "side": {"type": "string", "enum": list(SIDES)},
}


@route(
    "/provinces/{code}/feedback",
    "GET",
    "Feedback (意见建议) users left on a province's results, newest first (its staff, national admins)",
    query=FEEDBACK_QUERY,
    auth="required",
    tag="interactions",
)
def get_province_feedback(code):
    return feedback.province_feed(
        _caller(),
        code,
        _filters(FEEDBACK_FILTERS),
        _limit(),
        _query("cursor", "cursor"),
        _services().settings.cursor_secret,
    )


@route(
    "/filings/{filing_id}/stats",
    "GET",
    "Usage counters of a filing (settle within seconds)",
    tag="interactions",
)
def get_filing_stats(filing_id):
    return stats.filing_stats(_caller(), filing_id)


@route(
    "/publications/{publication_id}/stats",
    "GET",
    "Usage counters of a publication (settle within seconds)",
    tag="interactions",
)
def get_publication_stats(publication_id):
    return stats.publication_stats(_caller(), publication_id)


@route(
    "/provinces/{code}/activity",
    "GET",
    "A province's running counters for a cycle",
    query={"cycle": http.param_schema("cycle")},
    tag="interactions",
)
def get_province_activity(code):
    return stats.province_activity_in(code, _query("cycle", "cycle"), _now())


@route(
    "/activity",
    "GET",
    "Every unit's running counters for a cycle in one call (the national overview)",
    query={**LIST_QUERY, "cycle": http.param_schema("cycle")},
    tag="interactions",
)
def get_national_activity():
    return stats.national_activity(_query("cycle", "cycle"), _now(), *_paging())


# ---- usage reports (COUNTER R5.1 tabular shape) ---------------------------------------
USAGE_QUERY = {
    "begin": http.param_schema(
        "month", description=f"first month (default: {usage_reports.DEFAULT_BEGIN_TEXT})"
    ),
    "end": http.param_schema("month", description="last month (default: this month, China time)"),
}


def _usage_report_routes(path: str, summary: str, build: Callable[..., Any]) -> None:

    def answer(report, extension: str) -> Response:
        body = usage_reports.to_tsv(report) if extension == "tsv" else usage_reports.to_xlsx(report)
        return Response(
            body=body,
            status_code=200,
            headers={
                "Content-Type": spreadsheets.TSV_TYPE if extension == "tsv" else spreadsheets.XLSX_TYPE,
                "Content-Disposition": f'attachment; filename="{usage_reports.filename(report, extension)}"',
            },
        )

    for extension in ("tsv", "xlsx"):
        note = "" if extension == "tsv" else " (send Accept: " + spreadsheets.XLSX_TYPE + ")"

        @route(
            f"{path}.{extension}",
            "GET",
            f"{summary} as {extension.upper()}{note}",
            query=USAGE_QUERY,
            tag="interactions",
            media=(spreadsheets.TSV_TYPE if extension == "tsv" else spreadsheets.XLSX_TYPE,),
        )
        def view(_extension=extension, **params):
            return answer(
                build(_caller(), params, _query("begin", "month"), _query("end", "month"), _now()), _extension
            )

        view.__name__ = f"usage_report_{path.strip('/').split('/')[0]}_{extension}"


def _province_usage(caller, params, begin, end, now):
    return usage_reports.province_report(caller, params["code"], begin, end, now)


def _item_usage(kind: str):
    def build(caller, params, begin, end, now):
        return usage_reports.item_report(caller, kind, params[f"{kind}_id"], begin, end, now)

    return build


# ---- scoring -------------------------------------------------------------------------
# Schemes, annual forms, manual checks, excellent projects, runs and exports; the rules live in
# chalicelib/scoring/.
# The .xlsx export is binary: Chalice/API Gateway return it base64-encoded only because its content
# type is in app.api.binary_types AND the request's Accept header names that type; without the
# header Chalice answers 400 (a problem). Clients send
# `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`.

if spreadsheets.XLSX_TYPE not in app.api.binary_types:
    app.api.binary_types.append(spreadsheets.XLSX_TYPE)
RUN_QUERY = {"run_id": http.param_schema("id", description="national admins: a run other than the latest")}
_usage_report_routes(
    "/provinces/{code}/usage-report",
    "A province's monthly usage (its staff, national admins)",
    _province_usage,
)
_usage_report_routes("/filings/{filing_id}/usage-report", "A filing's monthly usage", _item_usage("filing"))
_usage_report_routes(
    "/publications/{publication_id}/usage-report", "A publication's monthly usage", _item_usage("publication")
)


# ---- COUNTER_SUSHI API 5.1: the same reports as JSON; refusals are SUSHI Exceptions -------
def _sushi_query(*names: str) -> dict:
    return {name: {"type": "string"} for name in names}


SUSHI_COMMON = _sushi_query("customer_id", "requestor_id", "api_key", "platform")
SUSHI_REPORT = {
    **SUSHI_COMMON,
    **_sushi_query(
        "begin_date",
        "end_date",
        "metric_type",
        "data_type",
        "access_method",
        "attributes_to_show",
        "granularity",
    ),
}


def _sushi(build: Callable[..., Any]) -> Response:
    """Answer a SUSHI call: the built JSON, or its Exception with the status R5.1 gives it."""
    params = dict(app.current_request.query_params or {})
    try:
        try:
            caller = _caller()
        except Problem as problem:  # a bad token, in the harvester's terms
            raise sushi.problem_as_exception(problem) from None
        return _json(build(caller, params))
    except sushi.SushiError as error:
        response = _json(error.body, error.status)
        response.sushi = True
        return response


@route(
    f"{sushi.BASE}/status",
    "GET",
    "COUNTER_SUSHI 5.1 server status (public)",
    auth="none",
    tag="sushi",
    response=sushi.LIST_SCHEMA,
    errors=sushi.EXCEPTION_SCHEMA,
)
def sushi_status():
    return _json(sushi.status())


@route(
    f"{sushi.BASE}/members",
    "GET",
    "COUNTER_SUSHI 5.1 member list: the provinces the caller may harvest",
    query=SUSHI_COMMON,
    tag="sushi",
    response=sushi.LIST_SCHEMA,
    errors=sushi.EXCEPTION_SCHEMA,
)
def sushi_members():
    return _sushi(sushi.members)


@route(
    f"{sushi.BASE}/reports",
    "GET",
    "COUNTER_SUSHI 5.1 report list for a customer (a province code)",
    query=SUSHI_COMMON,
    tag="sushi",
    response=sushi.LIST_SCHEMA,
    errors=sushi.EXCEPTION_SCHEMA,
)
def sushi_reports():
    return _sushi(lambda caller, params: sushi.reports(caller, params, _now()))


@route(
    f"{sushi.BASE}/reports/pr",
    "GET",
    "COUNTER_SUSHI 5.1 Platform Report of a province (its staff, national "
    "admins): the numbers of its TSV usage report",
    query=SUSHI_REPORT,
    tag="sushi",
    errors=sushi.EXCEPTION_SCHEMA,
)
def sushi_pr():
    return _sushi(lambda caller, params: sushi.platform_report(caller, params, _now()))


@route(
    f"{sushi.BASE}/reports/ir",
    "GET",
    "COUNTER_SUSHI 5.1 Item Report: a province's filings and publications (its staff, national admins)",
    query={**SUSHI_REPORT, **_sushi_query("item_id")},
    tag="sushi",
    errors=sushi.EXCEPTION_SCHEMA,
)
def sushi_ir():
    return _sushi(
        lambda caller, params: sushi.item_report(caller, params, _now(), _services().settings.cursor_secret)
    )


@route(
    "/scoring-scheme",
    "GET",
    "The scoring scheme runs use: areas, indicators, weights, caps, flags",
    query={"version": {"type": "integer", "minimum": 1}},
    auth="none",
    tag="scoring",
)
def get_scoring_scheme():
    return scheme.describe_version(_query("version", "digits"))


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
    return _json(scheme.describe(scheme.store_new(_caller(), _body(SchemeIn), _now())), 201)


@route(
    "/provinces/{code}/annual-forms/{year}",
    "PUT",
    "File the province's annual information form (15–31 Oct of year, China time; its province_admin)",
    body=AnnualFormIn,
    roles=("province_admin",),
    tag="scoring",
)
def put_annual_form(code, year):
    caller = _caller()
    form_year = annual_forms.parse_year(year)
    body = _body(AnnualFormIn)
    rendered, created = annual_forms.put(caller, code, form_year, body, _now())
    return _json(rendered, 201 if created else 200)


@route(
    "/provinces/{code}/annual-forms/{year}",
    "GET",
    "A province's annual information form (its staff and national admins)",
    auth="required",
    tag="scoring",
)
def get_annual_form(code, year):
    return annual_forms.get(_caller(), code, annual_forms.parse_year(year))


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
        _caller(), code, annual_forms.parse_year(year), _body(annual_forms.ReopenIn), _now()
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
    roles=filings.FILERS,
    status=201,
    tag="scoring",
)
def start_form_proof_upload(code, year):
    caller, owner_id = _caller(), _form_proofs(code, year)
    attachments.writable(caller, attachments.FORM_OWNER, owner_id)
    return _json(
        attachments.start_upload(
            caller, attachments.FORM_OWNER, owner_id, _body(UploadIn), _services().settings, _now()
        ),
        201,
    )


@route(
    FORM_FILES + "/{file_id}/complete",
    "POST",
    "Check an uploaded proof of the annual form and attach it",
    roles=filings.FILERS,
    tag="scoring",
)
def complete_form_proof_upload(code, year, file_id):
    return attachments.complete_upload(
        _caller(), attachments.FORM_OWNER, _form_proofs(code, year), file_id, _services().settings, _now()
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
    return attachments.files_of(_caller(), attachments.FORM_OWNER, _form_proofs(code, year), *_paging())


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
    url = downloads.download(
        _caller(),
        attachments.FORM_OWNER,
        _form_proofs(code, year),
        file_id,
        app.current_request.headers.get("user-agent"),
        _services().robots,
        _services().settings,
        _now(),
    )
    return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})


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
    return annual_forms.overview_page(_caller(), annual_forms.parse_year(year), *_paging())


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
    return Response(
        body=exports.annual_overview_xlsx(annual_forms.overview(_caller(), form_year)),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="annual-forms-{form_year}.xlsx"',
        },
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
    return _json(adjustments.record_against_current(_caller(), cycle, _body(AdjustmentIn), _now()), 201)


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
    return objections.visible_adjustments(_caller(), cycle, *_paging())


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
    caller = _caller()
    project, created = bonus.record_override(caller, cycle, _body(ExcellentIn), _now())
    return _json(project, 201 if created else 200)


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
    return excellence.revoke(_caller(), cycle, filing_id, _body(excellence.RevocationIn), _now())


@route(
    "/cycles/{cycle}/excellent-projects",
    "GET",
    "Excellent projects of a cycle (public once the cycle's scores are published)",
    query=LIST_QUERY,
    tag="scoring",
)
def get_excellent_projects(cycle):
    return bonus.list_for(_caller(), cycle, *_paging())


@route(
    "/cycles/{cycle}/scoring-runs",
    "POST",
    "Score the cycle now (national admin; provisional while open)",
    roles=("national_admin",),
    status=201,
    tag="scoring",
)
def post_scoring_run(cycle):
    caller = _caller()
    started = runs.run(cycle, caller, _now(), trigger="api")
    return _json(started, 201, {"Location": started["links"]["scores"]})


@route(
    "/cycles/{cycle}/scoring-runs",
    "GET",
    "Scoring runs of a cycle, newest first (national admin)",
    query=LIST_QUERY,
    auth="required",
    tag="scoring",
)
def get_scoring_runs(cycle):
    return runs.list_runs(
        _caller(), cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


def _publish_body() -> announcements.PublishIn:
    """The optional body of a publish: an empty one is the default notice."""
    return _body(announcements.PublishIn) if app.current_request.raw_body else announcements.PublishIn()


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
    return objections.publish_final(_caller(), cycle, run_id, _publish_body().reason, _now())


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
    return _json(objections.publish_provisionally(_caller(), cycle, run_id, _now()), 201)


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
    return _json(objections.file(_caller(), cycle, _body(objections.ObjectionIn), _now()), 201)


@route(
    "/cycles/{cycle}/objections",
    "GET",
    "The provisional publication and its objections (national admin; a province admin its own)",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="scoring",
)
def get_objections(cycle):
    return objections.listing(
        _caller(), cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


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
    return objections.answer(_caller(), cycle, objection_id, _body(objections.AnswerIn), _now())


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
    return announcements.history(
        cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


@route(
    "/cycles/{cycle}/announcement/excellent-projects",
    "GET",
    "The excellent projects announced (通报) with the newest publication, by field and province",
    query={
        **LIST_QUERY,
        "industry": http.param_schema("industry"),
        "province": http.param_schema("province"),
    },
    auth="none",
    tag="scoring",
)
def get_announced_excellent(cycle):
    cycle_or_404(cycle)
    return announcements.excellent_projects(
        cycle,
        _query("industry", "industry"),
        _query("province", "province"),
        _limit(),
        _query("cursor", "cursor"),
        _services().settings.cursor_secret,
    )


@route(
    "/cycles/{cycle}/announcements/history",
    "GET",
    "Audit trail of the cycle's publications (national admin)",
    query=LIST_QUERY,
    auth="required",
    tag="scoring",
)
def get_announcement_trail(cycle):
    cycle_or_404(cycle)
    return announcements.trail(_caller(), cycle, *_paging())


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
    return explanations.explain(_caller(), cycle, run_id, province)


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
    return _json(
        flag_resolutions.resolve(
            _caller(), cycle, run_id, province, _body(flag_resolutions.ResolutionIn), _now()
        ),
        201,
    )


def _scores():
    return runs.load(_caller(), app.current_request.uri_params["cycle"], _query("run_id", "id"))


@route(
    "/cycles/{cycle}/scores",
    "GET",
    "Scores of all 32 units, best first (public: the published run)",
    query=RUN_QUERY,
    tag="scoring",
)
def get_scores(cycle):
    return runs.render(_scores())


@route(
    "/cycles/{cycle}/scores.csv",
    "GET",
    "The scores as CSV (same visibility as /scores)",
    query=RUN_QUERY,
    tag="scoring",
    media=(spreadsheets.CSV_TYPE,),
)
def get_scores_csv(cycle):
    loaded = _scores()
    return Response(
        body=exports.to_csv(loaded).decode("utf-8"),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.CSV_TYPE,
            "Content-Disposition": f'attachment; filename="{exports.filename(loaded, "csv")}"',
        },
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
    loaded = _scores()
    return Response(
        body=exports.to_xlsx(loaded),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{exports.filename(loaded, "xlsx")}"',
        },
    )


# ---- push and excellence -------------------------------------------------------------
# Subscriptions and the feed (role user or expert), the approval push trigger, and the
# excellence selection. Rules and storage: chalicelib/selection/subscriptions.py, excellence.py.

FEED_QUERY = {**LIST_QUERY, "unread": {"type": "boolean", "description": "true: only items not read yet"}}
CANDIDATE_QUERY = {
    **LIST_QUERY,
    "industry": http.param_schema("industry"),
    "status": {"type": "string", "enum": list(excellence.STATUSES)},
}


def _flag(name: str) -> bool:
    return _query(name, "flag") == "true"


@route(
    "/me/subscriptions",
    "GET",
    "The industry fields and kinds pushed to you (user, expert)",
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def get_subscriptions():
    return subscriptions.get(_caller())


@route(
    "/me/subscriptions",
    "PUT",
    "Choose the industry fields and kinds pushed to you (replaces; user, expert)",
    body=subscriptions.SubscriptionsIn,
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def put_subscriptions():
    return subscriptions.put(_caller(), _body(subscriptions.SubscriptionsIn), _now())


@route(
    "/me/feed",
    "GET",
    "Results pushed to you, newest first, with read and evaluated state",
    query=FEED_QUERY,
    auth="required",
    tag="push",
)
def get_feed():
    caller = _caller()
    found = subscriptions.page(
        caller, _flag("unread"), _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )
    return subscriptions.render_page(caller, found)


@route(
    "/me/feed/{filing_id}/read",
    "POST",
    "Mark a feed item read (idempotent)",
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def read_feed_item(filing_id):
    return subscriptions.mark_read(_caller(), filing_id, _now())


@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, starting_position="TRIM_HORIZON", name="push_stream")
def on_approval_push(event):
    """Push each newly approved filing to its field's subscribers; reports records it could not use."""
    return subscriptions.handle_stream_batch(event.to_dict(), _now())


@route(
    "/excellence-rules",
    "GET",
    "Rules of the excellence selection: screening, ranking, confirmation",
    auth="none",
    tag="excellence",
)
def get_excellence_rules():
    return excellence.describe_rules()


@route(
    "/excellence-rules",
    "PUT",
    "Replace the excellence selection rules (national admin)",
    body=excellence.RulesIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_excellence_rules():
    return excellence.put_rules(_caller(), _body(excellence.RulesIn), _now())


@route(
    "/experts/{sub}/fields",
    "PUT",
    "Assign an expert the industry fields they score (national admin)",
    body=excellence.ExpertFieldsIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_expert_fields(sub):
    return excellence.put_fields(_caller(), sub, _body(excellence.ExpertFieldsIn), _now())


@route(
    "/experts/{sub}/fields",
    "GET",
    "An expert's assigned fields (national admin, or the expert)",
    roles=("national_admin", "expert"),
    tag="excellence",
)
def get_expert_fields(sub):
    return excellence.get_fields(_caller(), sub)


@route(
    "/experts/{sub}/home-province",
    "PUT",
    "Register the home province conflicts of interest are judged from (national admin)",
    body=home_provinces.HomeProvinceIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_home_province(sub):
    return home_provinces.register(_caller(), sub, _body(home_provinces.HomeProvinceIn), _now())


@route(
    "/experts/{sub}/home-province",
    "GET",
    "A registered home province (national admin, or the person)",
    auth="required",
    tag="excellence",
)
def get_home_province(sub):
    return home_provinces.describe(_caller(), sub)


@route(
    "/cycles/{cycle}/candidates",
    "POST",
    "Screen (初筛) a result its province declared into the cycle's candidates and push it to its field's users "
    "and invited organisations (national admin)",
    body=excellence.NominationIn,
    roles=("national_admin",),
    status=201,
    tag="excellence",
)
def post_candidate(cycle):
    caller = _caller()
    candidate, created = workflow.nominate(caller, cycle, _body(excellence.NominationIn), _now())
    return _json(candidate, 201 if created else 200, {"Location": candidate["links"]["self"]})


@route(
    "/cycles/{cycle}/candidates",
    "GET",
    "The candidate case library, ranked by online evaluation (national admin, expert)",
    query=CANDIDATE_QUERY,
    auth="required",
    tag="excellence",
)
def get_candidates(cycle):
    return excellence.library(
        _caller(),
        cycle,
        _query("industry", "industry"),
        _query("status", "word"),
        _limit(),
        _query("cursor", "cursor"),
        _services().settings.cursor_secret,
    )


@route(
    "/cycles/{cycle}/candidates/{filing_id}",
    "GET",
    "One candidate with evaluations, expert scores and its history (national admin, expert)",
    roles=("national_admin", "expert"),
    tag="excellence",
)
def get_candidate(cycle, filing_id):
    return excellence.detail(_caller(), cycle, filing_id)


@route(
    "/cycles/{cycle}/candidates/{filing_id}/panel",
    "PUT",
    "Name a candidate's expert panel: at least the rules' panel_size experts of its field without a conflict "
    "of interest; only they score it (national admin; replaces the last until the panel decides)",
    body=excellence.PanelIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_candidate_panel(cycle, filing_id):
    return excellence.name_panel(_caller(), cycle, filing_id, _body(excellence.PanelIn), _now())


@route(
    "/cycles/{cycle}/candidates/{filing_id}/expert-score",
    "PUT",
    "Score a candidate of your fields 0-100 (expert on its panel; not your own province; replaces your last)",
    body=excellence.ExpertScoreIn,
    roles=("expert",),
    tag="excellence",
)
def put_expert_score(cycle, filing_id):
    return excellence.score(_caller(), cycle, filing_id, _body(excellence.ExpertScoreIn), _now())


@route(
    "/cycles/{cycle}/candidate-library",
    "POST",
    "Cut the candidate library (备选案例库) by online evaluations once every assignment is done or due: "
    "minimum count and mean, top N per field; the rest are not_selected (national admin)",
    roles=("national_admin",),
    tag="excellence",
)
def cut_candidate_library(cycle):
    return workflow.cut_library(_caller(), cycle, _now())


@route(
    "/cycles/{cycle}/candidates/{filing_id}/confirm",
    "POST",
    "The expert panel decides a library candidate: with the quorum of scores, selected (an excellent project, "
    "bonus points) at the pass mark, else not_selected (national admin)",
    roles=("national_admin",),
    tag="excellence",
)
def confirm_candidate(cycle, filing_id):
    return excellence.confirm(_caller(), cycle, filing_id, _now())


# ---- invited organisations -----------------------------------------------------------
# National admins register national organisations, province admins their own departments;
# invitations are single-use codes. Rules and storage: chalicelib/selection/organisations.py.


@route(
    "/organisations",
    "POST",
    "Register an invited organisation (national admin; province admin: its own province's departments)",
    body=organisations.OrganisationIn,
    roles=("national_admin", "province_admin"),
    status=201,
    tag="organisations",
)
def post_organisation():
    caller = _caller()
    org = organisations.register(caller, _body(organisations.OrganisationIn), _now())
    return _json(org, 201, {"Location": f"/organisations/{org['id']}"})


@route(
    "/organisations",
    "GET",
    "Organisations the caller manages",
    auth="required",
    tag="organisations",
    query={**LIST_QUERY, "province": http.param_schema("province")},
)
def get_organisations():
    return organisations.list_page(
        _caller(),
        _query("province", "province"),
        _limit(),
        _query("cursor", "cursor"),
        _services().settings.cursor_secret,
    )


@route(
    "/organisations/{org_id}",
    "GET",
    "One organisation (its managers)",
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_organisation(org_id):
    return organisations.get(_caller(), org_id)


@route(
    "/organisations/{org_id}/invitations",
    "POST",
    "Issue a single-use invitation code (its managers)",
    body=organisations.InvitationIn,
    roles=("national_admin", "province_admin"),
    status=201,
    tag="organisations",
)
def post_invitation(org_id):
    caller = _caller()
    organisations.get(caller, org_id)  # 403/404 before the body is judged
    return _json(organisations.invite(caller, org_id, _body(organisations.InvitationIn), _now()), 201)


@route(
    "/organisations/{org_id}/invitations",
    "GET",
    "The organisation's invitations, newest first: open, used, expired or revoked",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_invitations(org_id):
    return organisations.invitations_page(_caller(), org_id, _now(), *_paging())


@route(
    "/organisations/{org_id}/invitations/{invitation}",
    "DELETE",
    "Revoke an unused invitation code (its managers); it can no longer be accepted",
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def revoke_invitation(org_id, invitation):
    return organisations.revoke(_caller(), org_id, invitation, _now())


@route(
    "/organisations/{org_id}/members",
    "GET",
    "Users who accepted the organisation's invitations",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_members(org_id):
    return organisations.members_page(_caller(), org_id, *_paging())


@route(
    "/invitations/{invitation}/accept",
    "POST",
    "Join the invitation's organisation (signed-in user; single use)",
    roles=organisations.MEMBER_ROLES,
    tag="organisations",
)
def accept_invitation(invitation):
    return organisations.accept(_caller(), invitation, _now())


@route(
    "/me/data",
    "GET",
    "Everything the platform holds about you, as JSON (PIPL right of access; audited)",
    auth="required",
    tag="organisations",
)
def get_my_data():
    return personal_data.export(_caller(), _now())


@route(
    "/me/data",
    "DELETE",
    "Erase your likes, favourites, comments, evaluations, membership, subscriptions, "
    "feed and notifications (PIPL right of deletion; counters follow; audited by counts only)",
    auth="required",
    tag="organisations",
)
def delete_my_data():
    return personal_data.erase(_caller(), _now())


@route("/me/organisation", "GET", "The organisation you belong to", auth="required", tag="organisations")
def get_my_organisation():
    return organisations.mine(_caller())


# ---- selection workflow --------------------------------------------------------------
# Declarations (参与意愿), screening (初筛), assignments to invited evaluators, completion and
# reminders. Rules and storage: chalicelib/selection/workflow.py.


@route(
    "/cycles/{cycle}/declarations/{filing_id}",
    "PUT",
    "Declare a result of your province for the cycle's selection (参与意愿; province admin)",
    roles=("province_admin",),
    tag="excellence",
)
def put_declaration(cycle, filing_id):
    declared, created = workflow.declare(_caller(), cycle, filing_id, _now())
    return _json(declared, 201 if created else 200)


@route(
    "/cycles/{cycle}/declarations/{filing_id}",
    "DELETE",
    "Withdraw a declaration before the result becomes a candidate (province admin)",
    roles=("province_admin",),
    status=204,
    tag="excellence",
)
def delete_declaration(cycle, filing_id):
    workflow.withdraw(_caller(), cycle, filing_id, _now())
    return Response(body="", status_code=204)


@route(
    "/cycles/{cycle}/declarations",
    "GET",
    "The cycle's declarations (national admin; province admin: its own)",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="excellence",
)
def get_declarations(cycle):
    return workflow.declarations(_caller(), cycle, *_paging())


@route(
    "/cycles/{cycle}/screening",
    "GET",
    "Every declared result of the cycle, eligible first, with the rules each ineligible one broke (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="excellence",
)
def get_screening(cycle):
    return workflow.screening(_caller(), cycle, *_paging())


@route(
    "/cycles/{cycle}/candidates/{filing_id}/assignments",
    "POST",
    "Ask invited evaluators of the candidate's field to evaluate it; it appears in their feed (national admin)",
    body=workflow.AssignmentIn,
    roles=("national_admin",),
    tag="excellence",
)
def post_assignments(cycle, filing_id):
    return workflow.assign(
        _caller(), cycle, filing_id, _body(workflow.AssignmentIn), _now(), _services().settings.cursor_secret
    )


@route(
    "/cycles/{cycle}/assignments",
    "GET",
    "Assignments with completion per candidate and per evaluator (national admin)",
    query={**LIST_QUERY, "filing": http.param_schema("id"), "evaluator": http.param_schema("sub")},
    auth="required",
    tag="excellence",
)
def get_assignments(cycle):
    return workflow.completion(
        _caller(), cycle, _query("filing", "id"), _query("evaluator", "sub"), *_paging()
    )


@route(
    "/me/assignments",
    "GET",
    "Candidates you were asked to evaluate, with whether you did",
    query=LIST_QUERY,
    roles=organisations.MEMBER_ROLES,
    tag="excellence",
)
def get_my_assignments():
    return workflow.mine(_caller(), *_paging())


@app.schedule(Cron(0, 1, "*", "*", "?", "*"), name="selection_reminders")
def selection_reminders(event):
    """09:00 China time daily: remind evaluators of candidates they have not evaluated yet."""
    sent = workflow.remind(_now())
    logger.info("selection reminders", extra=sent)
    return sent


# ---- evaluated populations -----------------------------------------------------------
# The provincial units, national patent navigation service bases and support institutions:
# registries, schemes, attribution of filings, runs and publications. chalicelib/scoring/populations.py.

POPULATION_BASE = "/populations/{population}/cycles/{cycle}"


@route("/populations", "GET", "The evaluated populations", query=LIST_QUERY, auth="none", tag="populations")
def get_populations():
    return _reference_page("POPULATIONS", populations.describe())


@route(
    "/populations/{population}/units",
    "GET",
    "A population's registry of evaluated units, in code order",
    query=LIST_QUERY,
    auth="none",
    tag="populations",
)
def get_population_units(population):
    return populations.units(population, *_paging())


@route(
    "/populations/{population}/units",
    "POST",
    "Register a service base or support institution (national admin)",
    body=populations.UnitIn,
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def post_population_unit(population):
    return _json(populations.register_unit(_caller(), population, _body(populations.UnitIn), _now()), 201)


@route(
    "/populations/{population}/scoring-scheme",
    "GET",
    "The population's own scoring scheme",
    query={"version": {"type": "integer", "minimum": 1}},
    auth="none",
    tag="populations",
)
def get_population_scheme(population):
    return populations.describe_scheme(population, _query("version", "digits"))


@route(
    "/populations/{population}/scoring-scheme",
    "PUT",
    "Store a new version of the population's scheme (national admin)",
    body=SchemeIn,
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def put_population_scheme(population):
    caller = _caller()
    populations.population_or_404(population)
    return _json(scheme.describe(populations.store_scheme(caller, population, _body(SchemeIn), _now())), 201)


@route(
    "/filings/{filing_id}/attribution",
    "PUT",
    "Attribute a filing to a service base or support institution "
    "(the filing's province staff for a unit there, or a national admin); an approved filing's attribution "
    "is proposed as a revision that review approves",
    body=populations.AttributionIn,
    roles=("national_admin", "province_admin", "filer"),
    tag="populations",
)
def put_attribution(filing_id):
    return populations.attribute(_caller(), filing_id, _body(populations.AttributionIn), _now())


@route(
    POPULATION_BASE + "/scoring-runs",
    "POST",
    "Score the population for the cycle (national admin)",
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def post_population_run(population, cycle):
    return _json(populations.run(_caller(), population, cycle, _now()), 201)


@route(
    POPULATION_BASE + "/scores",
    "GET",
    "The population's scores, best first (public: the newest publication)",
    query=RUN_QUERY,
    tag="populations",
)
def get_population_scores(population, cycle):
    return populations.scores(_caller(), population, cycle, _query("run_id", "id"))


def _population_export(population, cycle):
    return populations.exportable(_caller(), population, cycle, _query("run_id", "id"))


@route(
    POPULATION_BASE + "/scores.csv",
    "GET",
    "The population's scores as CSV (same visibility as its /scores)",
    query=RUN_QUERY,
    tag="populations",
)
def get_population_scores_csv(population, cycle):
    loaded = _population_export(population, cycle)
    return Response(
        body=exports.to_csv(loaded).decode("utf-8"),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.CSV_TYPE,
            "Content-Disposition": f'attachment; filename="{population}-{exports.filename(loaded, "csv")}"',
        },
    )


@route(
    POPULATION_BASE + "/scores.xlsx",
    "GET",
    "The population's scores as an Excel workbook with a bar chart "
    "(send Accept: " + spreadsheets.XLSX_TYPE + ")",
    query=RUN_QUERY,
    tag="populations",
)
def get_population_scores_xlsx(population, cycle):
    loaded = _population_export(population, cycle)
    return Response(
        body=exports.to_xlsx(loaded),
        status_code=200,
        headers={
            "Content-Type": spreadsheets.XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{population}-{exports.filename(loaded, "xlsx")}"',
        },
    )


@route(
    POPULATION_BASE + "/scoring-runs/{run_id}/publish",
    "POST",
    "Publish the population's run with its notice; "
    "a later run with a written reason supersedes it (national admin)",
    body=announcements.PublishIn,
    roles=("national_admin",),
    tag="populations",
)
def publish_population_run(population, cycle, run_id):
    return populations.publish(_caller(), population, cycle, run_id, _publish_body().reason, _now())


@route(
    POPULATION_BASE + "/adjustments",
    "POST",
    "Record a manual-check adjustment of a base or institution with its reason (national admin)",
    body=populations.UnitAdjustmentIn,
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def post_population_adjustment(population, cycle):
    return _json(
        populations.record_adjustment(
            _caller(), population, cycle, _body(populations.UnitAdjustmentIn), _now()
        ),
        201,
    )


@route(
    POPULATION_BASE + "/adjustments",
    "GET",
    "Every manual-check adjustment of the population's cycle, oldest first (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="populations",
)
def get_population_adjustments(population, cycle):
    return populations.unit_adjustments(
        _caller(), population, cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


@route(
    POPULATION_BASE + "/scoring-runs/{run_id}/units/{unit}/flag-resolutions",
    "POST",
    "Resolve one of a base's or institution's flags with a note: confirmed, adjusted (with the adjustment) or "
    "dismissed (national admin)",
    body=flag_resolutions.ResolutionIn,
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def resolve_population_flag(population, cycle, run_id, unit):
    return _json(
        populations.resolve_flag(
            _caller(), population, cycle, run_id, unit, _body(flag_resolutions.ResolutionIn), _now()
        ),
        201,
    )


@route(
    POPULATION_BASE + "/scoring-runs/{run_id}/units/{unit}/explanation",
    "GET",
    "Why a base or institution scored what it did in a run: indicators, inputs and the unit counters behind "
    "them, flags, adjustments (national admin)",
    roles=("national_admin",),
    tag="populations",
    response=explanations.SCHEMA,
)
def explain_population_unit(population, cycle, run_id, unit):
    return populations.explain(_caller(), population, cycle, run_id, unit)


@route(
    POPULATION_BASE + "/announcements",
    "GET",
    "Every publication of the population's cycle, newest first",
    query=LIST_QUERY,
    auth="none",
    tag="populations",
)
def get_population_announcements(population, cycle):
    return populations.announcements_page(
        population, cycle, _limit(), _query("cursor", "cursor"), _services().settings.cursor_secret
    )


# No batch_size here: the deployed mapping's size and window are the stage's `stream_batching`
# (.chalice/config.json), which infra/template.py writes over what Chalice packages.
@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, starting_position="TRIM_HORIZON", name="facts_stream")
@flushed
def on_fact_change(event):
    """Keep the running counters in step with the facts; reports records it could not use."""
    return running_counters.count_stream_batch(event.to_dict(), _now(), _services().settings.marker_ttl)


@app.schedule(Cron(1, 16, "*", "*", "?", "*"), name="annual_form_reminders")
def annual_form_reminders(event):
    """00:01 China time each day: tell province admins the annual-form window opens or closes soon."""
    return {"written": reminders.remind_province_admins(_now())}


@app.schedule(Cron(0, 15, 31, 12, "?", "*"), name="year_end")
def year_end_scoring(event):
    """23:00 China time on 31 December: score every cycle that closed this year."""
    scored = populations.year_end_all(_now())
    logger.info("year-end scoring", extra={"runs": [r["run_id"] for r in scored]})
    return {"scored": [{"cycle": r["cycle"], "run_id": r["run_id"]} for r in scored]}
