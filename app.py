"""The Chalice app of patentnavi-eval, wired: middleware, each capability's routes (chalicelib/api/),
the stream triggers and the schedules. The rules live in chalicelib/."""

from __future__ import annotations

import os

from chalice import Chalice, Cron, Response

from chalicelib import composition
from chalicelib.api import documents, platform, populations, routing, scoring, selection, usage
from chalicelib.api.responses import problem_response
from chalicelib.core import cors, messages, spreadsheets
from chalicelib.core.logs import logger
from chalicelib.core.observability import flush, flushed
from chalicelib.core.problems import (
    CHALICE_DETAILS,
    INTERNAL_ERROR,
    NOT_SERVED,
    PROBLEM_TYPE,
    generic_problem,
)
from chalicelib.scoring import reminders, year_end
from chalicelib.selection import subscriptions, workflow
from chalicelib.usage import running_counters

app = Chalice(app_name="patentnavi-eval", configure_logs=False)  # Powertools writes the log lines

# The .xlsx exports are binary: Chalice/API Gateway return them base64-encoded only because their
# content type is in app.api.binary_types AND the request's Accept header names that type; without the
# header Chalice answers 400 (a problem). Clients send that type (spreadsheets.XLSX_TYPE) as `Accept`.
app.api.binary_types.append(spreadsheets.XLSX_TYPE)

# The OpenAPI document lists the routes in this order.
routing.register(
    app, platform.routes, documents.routes, usage.routes, scoring.routes, selection.routes, populations.routes
)

# Chalice packages this literal; the merge template in infra/ rewires it to the table's stream.
FACTS_STREAM_ARN = os.environ.get(
    "NAVI_FACTS_STREAM_ARN", "arn:aws:dynamodb:cn-north-1:000000000000:table/navi-facts/stream/placeholder"
)


def _now():
    return composition.services().clock.now()


@app.middleware("http")
def problems_and_logging(event, get_response):
    """Every error leaves as problem+json, including Chalice's own (405, bad JSON, 500)."""
    context = app.lambda_context
    # Per thread: the local server runs requests side by side, and each line must name its own.
    logger.thread_safe_append_keys(
        request_id=getattr(context, "aws_request_id", None), method=event.method, path=event.path
    )
    language = messages.choose(
        event.headers.get("accept-language"), composition.services().settings.default_language
    )
    try:
        response = _as_problem(get_response(event))
    except Exception:
        logger.exception("unhandled error")
        response = problem_response(500, generic_problem(500, INTERNAL_ERROR))
    try:
        response.headers.update(
            cors.response_headers(event.headers.get("origin"), composition.services().settings.cors_origins)
        )
        response.headers.update(messages.language_headers(response.headers))
        return response
    finally:
        messages.release(language)
        flush()
        # The request's keys must not leak into the next invocation's log lines.
        logger.thread_safe_remove_keys(["request_id", "method", "path"])


def _as_problem(response: Response) -> Response:
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    # A SUSHI Exception is the protocol's own error shape: harvesters read its Code, not a problem.
    if (
        response.status_code >= 400
        and PROBLEM_TYPE not in content_type
        and not getattr(response, "sushi", False)
    ):
        detail = response.body.get("Message") if isinstance(response.body, dict) else None
        if response.status_code >= 500:
            logger.error("server error", extra={"status": response.status_code})
        body = generic_problem(response.status_code, CHALICE_DETAILS.get(detail, detail) or NOT_SERVED)
        extra = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
        response = problem_response(response.status_code, body, extra)
    logger.info("request", extra={"status": response.status_code})
    return response


# ---- stream triggers -------------------------------------------------------------------


# No batch_size here: the deployed mapping's size and window are the stage's `stream_batching`
# (.chalice/config.json), which infra/template.py writes over what Chalice packages.
@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, starting_position="TRIM_HORIZON", name="push_stream")
def on_approval_push(event):
    """Push each newly approved filing to its field's subscribers; reports records it could not use."""
    return subscriptions.handle_stream_batch(event.to_dict(), _now())


@app.on_dynamodb_record(stream_arn=FACTS_STREAM_ARN, starting_position="TRIM_HORIZON", name="facts_stream")
@flushed
def on_fact_change(event):
    """Keep the running counters in step with the facts; reports records it could not use."""
    return running_counters.count_stream_batch(
        event.to_dict(), _now(), composition.services().settings.marker_ttl
    )


# ---- schedules -------------------------------------------------------------------------


@app.schedule(Cron(0, 1, "*", "*", "?", "*"), name="selection_reminders")
def selection_reminders(event):
    """09:00 China time daily: remind evaluators of candidates they have not evaluated yet."""
    sent = workflow.remind(_now())
    logger.info("selection reminders", extra=sent)
    return sent


@app.schedule(Cron(1, 16, "*", "*", "?", "*"), name="annual_form_reminders")
def annual_form_reminders(event):
    """00:01 China time each day: tell province admins the annual-form window opens or closes soon."""
    return {"written": reminders.remind_province_admins(_now())}


@app.schedule(Cron(0, 15, 31, 12, "?", "*"), name="year_end")
def year_end_scoring(event):
    """23:00 China time on 31 December: score every cycle that closed this year."""
    scored = year_end.run_all(_now())
    logger.info("year-end scoring", extra={"runs": [r["run_id"] for r in scored]})
    return {"scored": [{"cycle": r["cycle"], "run_id": r["run_id"]} for r in scored]}
