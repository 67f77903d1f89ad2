"""The answers handlers build: JSON, problem+json, file attachments, redirects, no content."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.core import messages
from chalicelib.core.problems import PROBLEM_TYPE


def dumps(body: Any) -> str:
    """Strict JSON out: a NaN or Infinity that slipped through is a bug, never bare `NaN` on the wire."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False)


def problem_response(status: int, body: dict, headers: dict | None = None) -> Response:
    """The one rendering of a problem body (chalicelib.core.problems) as an HTTP answer, in the
    request's language."""
    return Response(
        body=dumps(messages.localized_problem(body)),
        status_code=status,
        headers={"Content-Type": PROBLEM_TYPE, **(headers or {})},
    )


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def attachment(body: str | bytes, media: str, filename: str) -> Response:
    """A file to save (an export, a template): its media type and the name it is saved under."""
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": media, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def see_other(url: str) -> Response:
    """303 to a short-lived URL (a file download); never cached, the URL expires."""
    return Response(body="", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})


def no_content() -> Response:
    return Response(body="", status_code=204)
