"""Problem+json (RFC 9457) bodies: a domain Problem's, and the generic one of a status the app or the
server answers without one (405, 500, a refused preflight...)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import Problem
from chalicelib.core.messages import Message

PROBLEM_TYPE = "application/problem+json"
# The details of the app's own answers to what no view answered (app.py's middleware).
INTERNAL_ERROR = Message("An internal error occurred")
NOT_SERVED = Message("The request could not be served")
# Chalice's own fixed details (its 500 for an exception a view raised), answered from the catalogue.
CHALICE_DETAILS = {"An internal server error occurred.": Message("An internal server error occurred.")}

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Validation failed",
    431: "Request header fields too large",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}


def problem_body(problem: Problem) -> tuple[int, dict[str, Any]]:
    return problem.status, problem.to_dict()


def generic_problem(status: int, detail: str) -> dict[str, Any]:
    title = TITLES.get(status, "Error")
    return {
        "type": f"/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
