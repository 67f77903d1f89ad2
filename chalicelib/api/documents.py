"""Routes of the documents capability: filings, publications, their files, reviews and takedowns,
notifications, a province's funded projects, and demands (chalicelib/documents/)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.api import current
from chalicelib.api.responses import attachment, json_response, see_other
from chalicelib.api.routing import LIST_QUERY, Routes, documented
from chalicelib.core import spreadsheets
from chalicelib.core.request_parsing import param_schema
from chalicelib.core.vocabulary import DEMAND_STATUSES
from chalicelib.documents import (
    attachments,
    demands,
    filings,
    funded_projects,
    imports,
    notifications,
    publications,
)
from chalicelib.documents.attachments import UploadIn
from chalicelib.documents.filings import ApplicationChangeIn, FilingIn
from chalicelib.documents.imports import ImportIn
from chalicelib.documents.lifecycle import FILERS, ReviewIn, TakedownIn
from chalicelib.documents.publications import PublicationIn
from chalicelib.usage import downloads

routes = Routes(__name__)
route = routes.route


def _list(domain, filters: dict) -> dict:
    """One page of filings or publications: filters, limit and cursor from the query string."""
    page = domain.list_page(current.caller(), current.filters(filters), *current.paging())
    return page.to_dict(domain.render)


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


@route(
    "/filings",
    "POST",
    "File a result (备案) for the caller's province",
    body=FilingIn,
    roles=FILERS,
    status=201,
    tag="filings",
)
def create_filing():
    caller = current.caller()
    filing = filings.create(caller, current.body(FilingIn), current.now())
    return json_response(filings.render(filing), 201, {"Location": f"/filings/{filing.id}"})


@route(
    "/filings/import-template.csv",
    "GET",
    "The bulk-import template of filings as CSV (UTF-8)",
    auth="none",
    tag="filings",
    media=(spreadsheets.CSV_TYPE,),
)
def filing_import_template_csv():
    return attachment(imports.template_csv(), spreadsheets.CSV_TYPE, "filings-import.csv")


@route(
    "/filings/import-template.xlsx",
    "GET",
    "The bulk-import template of filings as xlsx (send Accept: " + spreadsheets.XLSX_TYPE + ")",
    auth="none",
    tag="filings",
    media=(spreadsheets.XLSX_TYPE,),
)
def filing_import_template_xlsx():
    return attachment(imports.template_xlsx(), spreadsheets.XLSX_TYPE, "filings-import.xlsx")


@route(
    "/filings/imports",
    "POST",
    "Bulk-import the province's filings from the template: dry run (per-row "
    "problems, nothing stored) or commit (idempotent by the sheet's reference column)",
    body=ImportIn,
    roles=FILERS,
    tag="filings",
)
def import_filings():
    caller = current.caller()
    return imports.run(caller, current.body(ImportIn), current.now())


@route(
    "/provinces/{code}/filing-imports",
    "GET",
    "A province's bulk imports with their counts, newest first (its staff, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="filings",
)
def list_filing_imports(code):
    return imports.jobs_page(current.caller(), code, *current.paging())


@route(
    "/filings",
    "GET",
    "List filings visible to the caller",
    query={**LIST_QUERY, **documented(FILING_FILTERS)},
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
    filing = filings.get(current.caller(), filing_id)
    return attachments.with_files("filing", filing, filings.render(filing), current.cursor_secret())


@route(
    "/filings/{filing_id}/review",
    "POST",
    "Approve or reject a filing (national admin)",
    body=ReviewIn,
    roles=("national_admin",),
    tag="filings",
)
def review_filing(filing_id):
    return filings.render(filings.review(current.caller(), filing_id, current.body(ReviewIn), current.now()))


@route(
    "/filings/{filing_id}/application",
    "PUT",
    "Record a change of how the result is applied",
    body=ApplicationChangeIn,
    roles=FILERS,
    tag="filings",
)
def change_application(filing_id):
    caller = current.caller()
    filings.writable(caller, filing_id)  # 401/403/404 before the body is judged
    update = filings.change_application(caller, filing_id, current.body(ApplicationChangeIn), current.now())
    return filings.render_application(update)


@route(
    "/filings/{filing_id}/application",
    "GET",
    "Every application change of a filing, oldest first",
    query=LIST_QUERY,
    tag="filings",
)
def application_history(filing_id):
    return filings.application_history(current.caller(), filing_id, *current.paging())


@route(
    "/filings/{filing_id}/history",
    "GET",
    "Audit trail of a filing (its province, national admins)",
    query=LIST_QUERY,
    auth="required",
    tag="filings",
)
def filing_history(filing_id):
    return filings.history(current.caller(), filing_id, *current.paging())


@route(
    "/filings/{filing_id}/revisions",
    "POST",
    "Correct and resubmit a filing (its province): back to review; "
    "an approved one stays public as approved until the change is",
    body=FilingIn,
    roles=FILERS,
    tag="filings",
)
def revise_filing(filing_id):
    caller = current.caller()
    filings.writable(caller, filing_id)
    return filings.render(filings.revise(caller, filing_id, current.body(FilingIn), current.now()))


@route(
    "/filings/{filing_id}/withdraw",
    "POST",
    "Withdraw a filing before approval (its province)",
    roles=FILERS,
    tag="filings",
)
def withdraw_filing(filing_id):
    return filings.render(filings.withdraw(current.caller(), filing_id, current.now()))


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
    caller = current.caller()
    publication = publications.create(caller, current.body(PublicationIn), current.now())
    return json_response(
        publications.render(publication), 201, {"Location": f"/publications/{publication.id}"}
    )


@route(
    "/publications",
    "GET",
    "List publications visible to the caller",
    query={**LIST_QUERY, **documented(PUBLICATION_FILTERS)},
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
    publication = publications.get(current.caller(), publication_id)
    return attachments.with_files(
        "publication", publication, publications.render(publication), current.cursor_secret()
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
    return publications.render(
        publications.review(current.caller(), publication_id, current.body(ReviewIn), current.now())
    )


@route(
    "/publications/{publication_id}/revisions",
    "POST",
    "Correct and resubmit a publication (its province): back to review",
    body=PublicationIn,
    roles=FILERS,
    tag="publications",
)
def revise_publication(publication_id):
    caller = current.caller()
    publications.writable(caller, publication_id)
    return publications.render(
        publications.revise(caller, publication_id, current.body(PublicationIn), current.now())
    )


@route(
    "/publications/{publication_id}/withdraw",
    "POST",
    "Withdraw a publication before approval (its province)",
    roles=FILERS,
    tag="publications",
)
def withdraw_publication(publication_id):
    return publications.render(publications.withdraw(current.caller(), publication_id, current.now()))


@route(
    "/me/notifications",
    "GET",
    "What concerns you, newest first: review decisions on what you filed",
    query=LIST_QUERY,
    auth="required",
    tag="push",
)
def get_notifications():
    return notifications.page(current.caller(), *current.paging())


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
        return module.render(
            module.take_down(current.caller(), params[param], current.body(TakedownIn), current.now())
        )


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
    request = current.request()
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() == "text/csv":
        body = funded_projects.from_csv(request.raw_body)
    else:
        body = current.body(funded_projects.FundedProjectsIn)
    return funded_projects.put(current.caller(), code, cycle, body, current.now(), current.cursor_secret())


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
    return funded_projects.checked(current.caller(), code, cycle, *current.paging())


# ---- demands and suggestions users send to a province or the national office ----------

DEMAND_QUERY = {
    **LIST_QUERY,
    "to": {**param_schema("publisher"), "description": "the addressee (required)"},
    "status": {"type": "string", "enum": list(DEMAND_STATUSES)},
    "industry": param_schema("industry"),
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
    return json_response(demands.send(current.caller(), current.body(demands.DemandIn), current.now()), 201)


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
        current.caller(),
        current.query("to", "publisher"),
        current.query("status", "word"),
        current.query("industry", "industry"),
        *current.paging(),
    )
    return page.to_dict(lambda record: demands.render(record, current.caller()))


@route(
    "/demands/{demand_id}",
    "GET",
    "One demand or suggestion (its sender, the addressee, national admins)",
    auth="required",
    tag="demands",
)
def get_demand(demand_id):
    return demands.get(current.caller(), demand_id)


@route(
    "/demands/{demand_id}/answer",
    "POST",
    "Answer a demand (the addressed province's admins, national admins); the sender is told",
    body=demands.AnswerIn,
    roles=demands.ADDRESSEES,
    tag="demands",
)
def answer_demand(demand_id):
    return demands.answer(current.caller(), demand_id, current.body(demands.AnswerIn), current.now())


@route(
    "/demands/{demand_id}/close",
    "POST",
    "Close a demand (the addressed province's admins, national admins); the sender is told",
    body=demands.CloseIn,
    roles=demands.ADDRESSEES,
    tag="demands",
)
def close_demand(demand_id):
    return demands.close(current.caller(), demand_id, current.body(demands.CloseIn), current.now())


# ---- files of filings and publications ------------------------------------------------
# Upload by presigned PUT, checked on completion; downloads answer 303 to a short-lived URL
# and are counted by the platform (chalicelib/documents/attachments.py).


def _paths(owner: str) -> tuple[str, str]:
    """The path parameter of an owner's id and the base path of its files."""
    param = f"{owner}_id"  # API Gateway wants one name per path level: /filings/{filing_id}
    return param, f"/{owner}s/{{{param}}}/files"


def file_download(owner: str, owner_id: str, file_id: str) -> Response:
    """303 to a short-lived URL of a stored file; the domain counts it when it is usage."""
    url = downloads.download(
        current.caller(),
        owner,
        owner_id,
        file_id,
        current.user_agent(),
        current.services().robots,
        current.services().settings,
        current.now(),
    )
    return see_other(url)


def _upload_routes(owner: str) -> None:
    param, base = _paths(owner)
    uploaders = attachments.UPLOADERS.get(owner, FILERS)
    national = "; national admins, to a national notice" if owner == "publication" else ""

    @route(
        base,
        "POST",
        f"Declare a file of a {owner} and get its presigned upload (its province, before approval{national})",
        body=UploadIn,
        roles=uploaders,
        status=201,
        tag=f"{owner}s",
    )
    def start_upload(**path):
        caller = current.caller()
        attachments.writable(caller, owner, path[param])  # 401/403/404/409 before the body is judged
        return json_response(
            attachments.start_upload(
                caller, owner, path[param], current.body(UploadIn), current.services().settings, current.now()
            ),
            201,
        )

    @route(
        f"{base}/{{file_id}}/complete",
        "POST",
        f"Check an uploaded file of a {owner} and attach it",
        roles=uploaders,
        tag=f"{owner}s",
    )
    def complete_upload(file_id, **path):
        return attachments.complete_upload(
            current.caller(), owner, path[param], file_id, current.services().settings, current.now()
        )


def _file_read_routes(owner: str) -> None:
    param, base = _paths(owner)

    @route(base, "GET", f"The files of a {owner}, oldest first", query=LIST_QUERY, tag=f"{owner}s")
    def list_files(**path):
        return attachments.files_of(current.caller(), owner, path[param], *current.paging())

    @route(
        f"{base}/{{file_id}}",
        "GET",
        f"Download a file of a {owner}: 303 to a short-lived URL; the platform counts the download",
        auth="required",
        status=303,
        tag=f"{owner}s",
    )
    def download_file(file_id, **path):
        return file_download(owner, path[param], file_id)

    @route(
        f"/{owner}s/{{{param}}}/versions",
        "GET",
        f"The approved versions of a {owner} with their files, oldest "
        "first (its province and national admins also see a revision waiting for review)",
        query=LIST_QUERY,
        tag=f"{owner}s",
    )
    def list_versions(**path):
        return attachments.versions(current.caller(), owner, path[param], *current.paging())


for _owner in ("filing", "publication"):
    _upload_routes(_owner)
    _file_read_routes(_owner)
