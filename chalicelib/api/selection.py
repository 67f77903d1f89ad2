"""Routes of the selection capability: push by field and the feed, the excellence rules and experts,
candidates and the expert panel, invited organisations, personal data, and the selection workflow
(chalicelib/selection/)."""

from __future__ import annotations

from chalicelib.api import current
from chalicelib.api.responses import json_response, no_content
from chalicelib.api.routing import LIST_QUERY, Routes
from chalicelib.core.request_parsing import param_schema
from chalicelib.selection import (
    excellence,
    home_provinces,
    organisations,
    personal_data,
    subscriptions,
    workflow,
)

routes = Routes(__name__)
route = routes.route


# ---- push and excellence -------------------------------------------------------------
# Subscriptions and the feed (role user or expert) and the excellence selection (the approval push
# trigger is wired in app.py). Rules and storage: chalicelib/selection/subscriptions.py, excellence.py.

FEED_QUERY = {**LIST_QUERY, "unread": {"type": "boolean", "description": "true: only items not read yet"}}
CANDIDATE_QUERY = {
    **LIST_QUERY,
    "industry": param_schema("industry"),
    "status": {"type": "string", "enum": list(excellence.STATUSES)},
}


@route(
    "/me/subscriptions",
    "GET",
    "The industry fields and kinds pushed to you (user, expert)",
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def get_subscriptions():
    return subscriptions.get(current.caller())


@route(
    "/me/subscriptions",
    "PUT",
    "Choose the industry fields and kinds pushed to you (replaces; user, expert)",
    body=subscriptions.SubscriptionsIn,
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def put_subscriptions():
    return subscriptions.put(current.caller(), current.body(subscriptions.SubscriptionsIn), current.now())


@route(
    "/me/feed",
    "GET",
    "Results pushed to you, newest first, with read and evaluated state",
    query=FEED_QUERY,
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def get_feed():
    caller = current.caller()
    found = subscriptions.page(caller, current.flag("unread"), *current.paging())
    return subscriptions.render_page(caller, found)


@route(
    "/me/feed/{filing_id}/read",
    "POST",
    "Mark a feed item read (idempotent)",
    roles=subscriptions.SUBSCRIBERS,
    tag="push",
)
def read_feed_item(filing_id):
    return subscriptions.mark_read(current.caller(), filing_id, current.now())


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
    return excellence.put_rules(current.caller(), current.body(excellence.RulesIn), current.now())


@route(
    "/experts/{sub}/fields",
    "PUT",
    "Assign an expert the industry fields they score (national admin)",
    body=excellence.ExpertFieldsIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_expert_fields(sub):
    return excellence.put_fields(
        current.caller(), sub, current.body(excellence.ExpertFieldsIn), current.now()
    )


@route(
    "/experts/{sub}/fields",
    "GET",
    "An expert's assigned fields (national admin, or the expert)",
    roles=("national_admin", "expert"),
    tag="excellence",
)
def get_expert_fields(sub):
    return excellence.get_fields(current.caller(), sub)


@route(
    "/experts/{sub}/home-province",
    "PUT",
    "Register the home province conflicts of interest are judged from (national admin)",
    body=home_provinces.HomeProvinceIn,
    roles=("national_admin",),
    tag="excellence",
)
def put_home_province(sub):
    return home_provinces.register(
        current.caller(), sub, current.body(home_provinces.HomeProvinceIn), current.now()
    )


@route(
    "/experts/{sub}/home-province",
    "GET",
    "A registered home province (national admin, or the person)",
    auth="required",
    tag="excellence",
)
def get_home_province(sub):
    return home_provinces.describe(current.caller(), sub)


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
    caller = current.caller()
    candidate, created = workflow.nominate(
        caller, cycle, current.body(excellence.NominationIn), current.now()
    )
    return json_response(candidate, 201 if created else 200, {"Location": candidate["links"]["self"]})


@route(
    "/cycles/{cycle}/candidates",
    "GET",
    "The candidate case library, ranked by online evaluation (national admin, expert)",
    query=CANDIDATE_QUERY,
    roles=("national_admin", "expert"),
    tag="excellence",
)
def get_candidates(cycle):
    return excellence.library(
        current.caller(),
        cycle,
        current.query("industry", "industry"),
        current.query("status", "word"),
        *current.paging(),
    )


@route(
    "/cycles/{cycle}/candidates/{filing_id}",
    "GET",
    "One candidate with evaluations, expert scores and its history (national admin, expert)",
    roles=("national_admin", "expert"),
    tag="excellence",
)
def get_candidate(cycle, filing_id):
    return excellence.detail(current.caller(), cycle, filing_id)


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
    return excellence.name_panel(
        current.caller(), cycle, filing_id, current.body(excellence.PanelIn), current.now()
    )


@route(
    "/cycles/{cycle}/candidates/{filing_id}/expert-score",
    "PUT",
    "Score a candidate of your fields 0-100 (expert on its panel; not your own province; replaces your last)",
    body=excellence.ExpertScoreIn,
    roles=("expert",),
    tag="excellence",
)
def put_expert_score(cycle, filing_id):
    return excellence.score(
        current.caller(), cycle, filing_id, current.body(excellence.ExpertScoreIn), current.now()
    )


@route(
    "/cycles/{cycle}/candidate-library",
    "POST",
    "Cut the candidate library (备选案例库) by online evaluations once every assignment is done or due: "
    "minimum count and mean, top N per field; the rest are not_selected (national admin)",
    roles=("national_admin",),
    tag="excellence",
)
def cut_candidate_library(cycle):
    return workflow.cut_library(current.caller(), cycle, current.now())


@route(
    "/cycles/{cycle}/candidates/{filing_id}/confirm",
    "POST",
    "The expert panel decides a library candidate: with the quorum of scores, selected (an excellent project, "
    "bonus points) at the pass mark, else not_selected (national admin)",
    roles=("national_admin",),
    tag="excellence",
)
def confirm_candidate(cycle, filing_id):
    return excellence.confirm(current.caller(), cycle, filing_id, current.now())


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
    caller = current.caller()
    org = organisations.register(caller, current.body(organisations.OrganisationIn), current.now())
    return json_response(org, 201, {"Location": f"/organisations/{org['id']}"})


@route(
    "/organisations",
    "GET",
    "Organisations the caller manages",
    roles=("national_admin", "province_admin"),
    tag="organisations",
    query={**LIST_QUERY, "province": param_schema("province")},
)
def get_organisations():
    return organisations.list_page(
        current.caller(),
        current.query("province", "province"),
        *current.paging(),
    )


@route(
    "/organisations/{org_id}",
    "GET",
    "One organisation (its managers)",
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_organisation(org_id):
    return organisations.get(current.caller(), org_id)


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
    caller = current.caller()
    organisations.get(caller, org_id)  # 403/404 before the body is judged
    return json_response(
        organisations.invite(caller, org_id, current.body(organisations.InvitationIn), current.now()), 201
    )


@route(
    "/organisations/{org_id}/invitations",
    "GET",
    "The organisation's invitations, newest first: open, used, expired or revoked",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_invitations(org_id):
    return organisations.invitations_page(current.caller(), org_id, current.now(), *current.paging())


@route(
    "/organisations/{org_id}/invitations/{invitation}",
    "DELETE",
    "Revoke an unused invitation code (its managers); it can no longer be accepted",
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def revoke_invitation(org_id, invitation):
    return organisations.revoke(current.caller(), org_id, invitation, current.now())


@route(
    "/organisations/{org_id}/members",
    "GET",
    "Users who accepted the organisation's invitations",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="organisations",
)
def get_members(org_id):
    return organisations.members_page(current.caller(), org_id, *current.paging())


@route(
    "/invitations/{invitation}/accept",
    "POST",
    "Join the invitation's organisation (signed-in user; single use)",
    roles=organisations.MEMBER_ROLES,
    tag="organisations",
)
def accept_invitation(invitation):
    return organisations.accept(current.caller(), invitation, current.now())


@route(
    "/me/data",
    "GET",
    "Everything the platform holds about you, as JSON (PIPL right of access; audited)",
    auth="required",
    tag="organisations",
)
def get_my_data():
    return personal_data.export(current.caller(), current.now())


@route(
    "/me/data",
    "DELETE",
    "Erase your likes, favourites, comments, evaluations, membership, subscriptions, "
    "feed and notifications (PIPL right of deletion; counters follow; audited by counts only)",
    auth="required",
    tag="organisations",
)
def delete_my_data():
    return personal_data.erase(current.caller(), current.now())


@route("/me/organisation", "GET", "The organisation you belong to", auth="required", tag="organisations")
def get_my_organisation():
    return organisations.mine(current.caller())


# ---- selection workflow --------------------------------------------------------------
# Declarations (参与意愿), screening (初筛), assignments to invited evaluators and completion (the
# reminders are scheduled in app.py). Rules and storage: chalicelib/selection/workflow.py.


@route(
    "/cycles/{cycle}/declarations/{filing_id}",
    "PUT",
    "Declare a result of your province for the cycle's selection (参与意愿; province admin)",
    roles=("province_admin",),
    tag="excellence",
)
def put_declaration(cycle, filing_id):
    declared, created = workflow.declare(current.caller(), cycle, filing_id, current.now())
    return json_response(declared, 201 if created else 200)


@route(
    "/cycles/{cycle}/declarations/{filing_id}",
    "DELETE",
    "Withdraw a declaration before the result becomes a candidate (province admin)",
    roles=("province_admin",),
    status=204,
    tag="excellence",
)
def delete_declaration(cycle, filing_id):
    workflow.withdraw(current.caller(), cycle, filing_id, current.now())
    return no_content()


@route(
    "/cycles/{cycle}/declarations",
    "GET",
    "The cycle's declarations (national admin; province admin: its own)",
    query=LIST_QUERY,
    roles=("national_admin", "province_admin"),
    tag="excellence",
)
def get_declarations(cycle):
    return workflow.declarations(current.caller(), cycle, *current.paging())


@route(
    "/cycles/{cycle}/screening",
    "GET",
    "Every declared result of the cycle, eligible first, with the rules each ineligible one broke (national admin)",
    query=LIST_QUERY,
    roles=("national_admin",),
    tag="excellence",
)
def get_screening(cycle):
    return workflow.screening(current.caller(), cycle, *current.paging())


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
        current.caller(),
        cycle,
        filing_id,
        current.body(workflow.AssignmentIn),
        current.now(),
        current.cursor_secret(),
    )


@route(
    "/cycles/{cycle}/assignments",
    "GET",
    "Assignments with completion per candidate and per evaluator (national admin)",
    query={**LIST_QUERY, "filing": param_schema("id"), "evaluator": param_schema("sub")},
    roles=("national_admin",),
    tag="excellence",
)
def get_assignments(cycle):
    return workflow.completion(
        current.caller(),
        cycle,
        current.query("filing", "id"),
        current.query("evaluator", "sub"),
        *current.paging(),
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
    return workflow.mine(current.caller(), *current.paging())
