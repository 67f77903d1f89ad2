"""The platform's own routes: health, the OpenAPI document and its Swagger UI, the reference lists."""

from __future__ import annotations

from chalice import Response

from chalicelib.api import current
from chalicelib.api.responses import problem_response
from chalicelib.api.routing import LIST_QUERY, Routes
from chalicelib.core import openapi, reference, store
from chalicelib.core.cycles import cycles_until
from chalicelib.core.logs import logger
from chalicelib.core.messages import Message
from chalicelib.core.problems import generic_problem
from chalicelib.core.route_registry import ROUTES

routes = Routes(__name__)
route = routes.route


@route("/health", "GET", "Liveness of the API and its store", auth="none")
def health():
    try:
        store.ping()
    except Exception:  # any store failure means not healthy
        logger.exception("store unreachable")
        return problem_response(503, generic_problem(503, Message("The store is not reachable")))
    return {"status": "ok"}


@route("/openapi.json", "GET", "This API's OpenAPI 3.1 document", auth="none")
def openapi_document():
    return openapi.document(ROUTES)


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


for _name, (_media, _file) in openapi.DOCS_ASSETS.items():
    _docs_asset_route(_name, _media)


@route("/provinces", "GET", "The 32 evaluated provincial units", query=LIST_QUERY, auth="none")
def list_provinces():
    return current.reference_page("PROVINCES", reference.province_list())


@route(
    "/industries", "GET", "Industry fields filings are tagged and pushed by", query=LIST_QUERY, auth="none"
)
def list_industries():
    return {
        "classification": reference.INDUSTRY_CLASSIFICATION,
        **current.reference_page("INDUSTRIES", reference.industry_list()),
    }


@route("/cycles", "GET", "Evaluation cycles up to the current one", query=LIST_QUERY, auth="none")
def list_cycles():
    now = current.now()
    return current.reference_page("CYCLES", [c.to_dict(now) for c in cycles_until(now)])
