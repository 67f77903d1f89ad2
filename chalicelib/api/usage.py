"""Routes of the usage capability: interactions (views, reactions, comments, evaluations), feedback,
usage counters, COUNTER usage reports and the COUNTER_SUSHI API (chalicelib/usage/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.api import current
from chalicelib.api.responses import attachment, json_response, no_content
from chalicelib.api.routing import LIST_QUERY, Routes
from chalicelib.core import spreadsheets
from chalicelib.core.errors import Problem
from chalicelib.core.request_parsing import param_schema
from chalicelib.core.vocabulary import SIDES
from chalicelib.documents import feedback
from chalicelib.selection import organisations
from chalicelib.usage import interactions, stats, sushi, usage_reports
from chalicelib.usage.interactions import CommentIn, EvaluationIn, EventsIn

routes = Routes(__name__)
route = routes.route


# ---- interactions ---------------------------------------------------------------------


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
    caller = current.caller()
    receipt = interactions.receive_events(
        caller, current.body(EventsIn), current.user_agent(), current.services().robots, current.now()
    )
    return json_response(receipt.to_dict(), 202)


def _reaction_routes(owner: str, kind: str) -> None:
    param = f"{owner}_id"
    path = f"/{owner}s/{{{param}}}/{kind}"

    @route(
        path, "PUT", f"Hold a {kind} on an approved {owner} (idempotent)", auth="required", tag="interactions"
    )
    def hold(**params):
        return interactions.set_reaction(current.caller(), params[param], kind, True, current.now(), owner)

    @route(path, "DELETE", f"Let go of a {kind} (idempotent)", auth="required", tag="interactions")
    def release(**params):
        return interactions.set_reaction(current.caller(), params[param], kind, False, current.now(), owner)


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
        caller = current.caller()
        comment = interactions.add_comment(
            caller, params[param], current.body(CommentIn), current.now(), owner
        )
        return json_response(interactions.render_comment(comment, caller), 201)

    @route(
        base,
        "GET",
        f"Comments of a {owner}, oldest first: authors by display name (pseudonyms for national "
        "admins); hidden ones for its moderators only",
        query=LIST_QUERY,
        tag="interactions",
    )
    def get_comments(**params):
        return interactions.comments_page(current.caller(), params[param], *current.paging(), owner)

    @route(
        f"{base}/{{comment_id}}",
        "DELETE",
        "Delete a comment (its author or a national admin)",
        auth="required",
        status=204,
        tag="interactions",
    )
    def delete_comment(comment_id, **params):
        interactions.delete_comment(current.caller(), params[param], comment_id, current.now(), owner)
        return no_content()


def _moderation_routes(owner: str) -> None:
    param = f"{owner}_id"
    base = f"/{owner}s/{{{param}}}/comments"

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
        caller = current.caller()
        comment = interactions.hide_comment(
            caller, params[param], comment_id, current.body(interactions.HideIn), current.now(), owner
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
        caller = current.caller()
        comment = interactions.unhide_comment(
            caller, params[param], comment_id, current.body(interactions.UnhideIn), current.now(), owner
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
            current.caller(),
            params[param],
            comment_id,
            current.body(interactions.ReportIn),
            current.now(),
            owner,
        )


for _owner in ("filing", "publication"):
    _reaction_routes(_owner, "like")
    _reaction_routes(_owner, "favorite")
    _comment_routes(_owner)
    _moderation_routes(_owner)


@route(
    "/filings/{filing_id}/evaluation",
    "PUT",
    "Evaluate an approved filing (role user; replaces your last)",
    body=EvaluationIn,
    roles=("user",),
    tag="interactions",
)
def put_evaluation(filing_id):
    caller = organisations.as_member(current.caller())  # a member evaluates as its organisation's side
    evaluation = interactions.evaluate(caller, filing_id, current.body(EvaluationIn), current.now())
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
    return feedback.filing_evaluations(current.caller(), filing_id, *current.paging())


FEEDBACK_FILTERS = {"industry": "industry", "side": "word"}  # and the format each is checked against
FEEDBACK_QUERY = {
    **LIST_QUERY,
    "industry": param_schema("industry"),
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
        current.caller(),
        code,
        current.filters(FEEDBACK_FILTERS),
        *current.paging(),
    )


@route(
    "/filings/{filing_id}/stats",
    "GET",
    "Usage counters of a filing (settle within seconds)",
    tag="interactions",
)
def get_filing_stats(filing_id):
    return stats.filing_stats(current.caller(), filing_id)


@route(
    "/publications/{publication_id}/stats",
    "GET",
    "Usage counters of a publication (settle within seconds)",
    tag="interactions",
)
def get_publication_stats(publication_id):
    return stats.publication_stats(current.caller(), publication_id)


@route(
    "/provinces/{code}/activity",
    "GET",
    "A province's running counters for a cycle",
    query={"cycle": param_schema("cycle")},
    tag="interactions",
)
def get_province_activity(code):
    return stats.province_activity_in(code, current.query("cycle", "cycle"), current.now())


@route(
    "/activity",
    "GET",
    "Every unit's running counters for a cycle in one call (the national overview)",
    query={**LIST_QUERY, "cycle": param_schema("cycle")},
    tag="interactions",
)
def get_national_activity():
    return stats.national_activity(current.query("cycle", "cycle"), current.now(), *current.paging())


# ---- usage reports (COUNTER R5.1 tabular shape) ---------------------------------------
USAGE_QUERY = {
    "begin": param_schema("month", description=f"first month (default: {usage_reports.DEFAULT_BEGIN_TEXT})"),
    "end": param_schema("month", description="last month (default: this month, China time)"),
}


def _usage_report_routes(path: str, summary: str, build: Callable[..., Any]) -> None:

    def answer(report, extension: str) -> Response:
        body = usage_reports.to_tsv(report) if extension == "tsv" else usage_reports.to_xlsx(report)
        return attachment(
            body,
            spreadsheets.TSV_TYPE if extension == "tsv" else spreadsheets.XLSX_TYPE,
            usage_reports.filename(report, extension),
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
                build(
                    current.caller(),
                    params,
                    current.query("begin", "month"),
                    current.query("end", "month"),
                    current.now(),
                ),
                _extension,
            )


def _province_usage(caller, params, begin, end, now):
    return usage_reports.province_report(caller, params["code"], begin, end, now)


def _item_usage(kind: str):
    def build(caller, params, begin, end, now):
        return usage_reports.item_report(caller, kind, params[f"{kind}_id"], begin, end, now)

    return build


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
    params = dict(current.request().query_params or {})
    try:
        try:
            caller = current.caller()
        except Problem as problem:  # a bad token, in the harvester's terms
            raise sushi.problem_as_exception(problem) from None
        return json_response(build(caller, params))
    except sushi.SushiError as error:
        response = json_response(error.body, error.status)
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
    return json_response(sushi.status())


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
    return _sushi(lambda caller, params: sushi.reports(caller, params, current.now()))


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
    return _sushi(lambda caller, params: sushi.platform_report(caller, params, current.now()))


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
        lambda caller, params: sushi.item_report(caller, params, current.now(), current.cursor_secret())
    )
