"""Routes of the evaluated populations (the provincial units, national patent navigation service bases
and support institutions): registries, schemes, attribution of filings, runs and publications
(chalicelib/scoring/populations.py)."""

from __future__ import annotations

from chalicelib.api import current
from chalicelib.api.responses import attachment, json_response
from chalicelib.api.routing import LIST_QUERY, Routes
from chalicelib.api.scoring import RUN_QUERY
from chalicelib.core import spreadsheets
from chalicelib.scoring import announcements, explanations, exports, flag_resolutions, populations, scheme
from chalicelib.scoring.scheme import SchemeIn

routes = Routes(__name__)
route = routes.route

POPULATION_BASE = "/populations/{population}/cycles/{cycle}"


@route("/populations", "GET", "The evaluated populations", query=LIST_QUERY, auth="none", tag="populations")
def get_populations():
    return current.reference_page("POPULATIONS", populations.describe())


@route(
    "/populations/{population}/units",
    "GET",
    "A population's registry of evaluated units, in code order",
    query=LIST_QUERY,
    auth="none",
    tag="populations",
)
def get_population_units(population):
    return populations.units(population, *current.paging())


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
    return json_response(
        populations.register_unit(
            current.caller(), population, current.body(populations.UnitIn), current.now()
        ),
        201,
    )


@route(
    "/populations/{population}/scoring-scheme",
    "GET",
    "The population's own scoring scheme",
    query={"version": {"type": "integer", "minimum": 1}},
    auth="none",
    tag="populations",
)
def get_population_scheme(population):
    return populations.describe_scheme(population, current.query("version", "digits"))


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
    caller = current.caller()
    populations.population_or_404(population)
    return json_response(
        scheme.describe(populations.store_scheme(caller, population, current.body(SchemeIn), current.now())),
        201,
    )


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
    return populations.attribute(
        current.caller(), filing_id, current.body(populations.AttributionIn), current.now()
    )


@route(
    POPULATION_BASE + "/scoring-runs",
    "POST",
    "Score the population for the cycle (national admin)",
    roles=("national_admin",),
    status=201,
    tag="populations",
)
def post_population_run(population, cycle):
    return json_response(populations.run(current.caller(), population, cycle, current.now()), 201)


@route(
    POPULATION_BASE + "/scores",
    "GET",
    "The population's scores, best first (public: the newest publication)",
    query=RUN_QUERY,
    tag="populations",
)
def get_population_scores(population, cycle):
    return populations.scores(current.caller(), population, cycle, current.query("run_id", "id"))


def _population_export(population, cycle):
    return populations.exportable(current.caller(), population, cycle, current.query("run_id", "id"))


@route(
    POPULATION_BASE + "/scores.csv",
    "GET",
    "The population's scores as CSV (same visibility as its /scores)",
    query=RUN_QUERY,
    tag="populations",
)
def get_population_scores_csv(population, cycle):
    loaded = _population_export(population, cycle)
    return attachment(
        exports.to_csv(loaded).decode("utf-8"),
        spreadsheets.CSV_TYPE,
        f"{population}-{exports.filename(loaded, 'csv')}",
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
    return attachment(
        exports.to_xlsx(loaded), spreadsheets.XLSX_TYPE, f"{population}-{exports.filename(loaded, 'xlsx')}"
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
    return populations.publish(
        current.caller(),
        population,
        cycle,
        run_id,
        current.optional_body(announcements.PublishIn).reason,
        current.now(),
    )


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
    return json_response(
        populations.record_adjustment(
            current.caller(), population, cycle, current.body(populations.UnitAdjustmentIn), current.now()
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
    return populations.unit_adjustments(current.caller(), population, cycle, *current.paging())


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
    return json_response(
        populations.resolve_flag(
            current.caller(),
            population,
            cycle,
            run_id,
            unit,
            current.body(flag_resolutions.ResolutionIn),
            current.now(),
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
    return populations.explain(current.caller(), population, cycle, run_id, unit)


@route(
    POPULATION_BASE + "/announcements",
    "GET",
    "Every publication of the population's cycle, newest first",
    query=LIST_QUERY,
    auth="none",
    tag="populations",
)
def get_population_announcements(population, cycle):
    return populations.announcements_page(population, cycle, *current.paging())


# No batch_size here: the deployed mapping's size and window are the stage's `stream_batching`
