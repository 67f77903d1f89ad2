"""Serve the whole system locally in one process: moto, the Chalice API, the stream and the schedules.

`chalice local` runs only the routes; this adds what Lambda and EventBridge would do
(stream mappings with partial batch responses, cron schedules) against an in-process moto.
"""
from __future__ import annotations

import argparse
import base64
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import types
import uuid
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as `python scripts/devstack.py`, the app and chalicelib live one level up.
    sys.path.insert(0, str(ROOT))

from local_stack import moto_store  # noqa: E402  (needs ROOT on the path when run as a script)

log = logging.getLogger("devstack")

STAGE = "local"
DEFAULT_PORT = 8000
FAKE_ACCOUNT = "123456789012"


# ---- environment ---------------------------------------------------------------------

def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The stage's environment_variables from .chalice/config.json."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))


def local_environment(moto_endpoint: str, overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """Everything the local stack puts into os.environ; None in `overrides` removes a variable."""
    env: dict[str, str | None] = {
        # moto accepts any credentials; real ones must never reach it (or AWS).
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "cn-north-1",
        # botocore 1.44 would otherwise route stream calls to an account-id host.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": None,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": None,
    }
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
    env.update(stage_environment())
    # NAVI_NOW and NAVI_JWT_SECRET are not touched: the caller's values pass through.
    env.update(overrides or {})
    return env


def apply_environment(env: Mapping[str, str | None]) -> dict[str, str | None]:
    """Set `env` in os.environ and return what it replaced, for `restore_environment`."""
    previous = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return previous


restore_environment = apply_environment


# ---- HTTP ----------------------------------------------------------------------------

def _request_handler_cls() -> type:
    """ChaliceRequestHandler whose every own answer is a problem, like the app's, and whose access
    log never holds a token (`?access_token=` is redacted like the Authorization header)."""
    from http import HTTPStatus

    from chalice.local import ChaliceRequestHandler, ForbiddenError

    from chalicelib.core import http
    from chalicelib.core.errors import NotFound

    class ProblemRequestHandler(ChaliceRequestHandler):
        max_request_bytes = 10 * 1024 * 1024  # API Gateway's own limit: nothing larger is read

        def _send_error_response(self, error: Any) -> None:
            # API Gateway says 403 "Missing Authentication Token" for a path it does not know;
            # the portal contract wants a 404 problem. Authorizer refusals keep their codes.
            unknown_route = (isinstance(error, ForbiddenError)
                             and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException")
            if not unknown_route:
                return super()._send_error_response(error)
            path = self.path.split("?", 1)[0]
            body = NotFound(f"No resource at {self.command} {path}").to_dict()
            headers = {"Content-Type": "application/problem+json",
                       "x-amzn-RequestId": error.headers.get("x-amzn-RequestId", "")}
            self._send_http_response(404, headers, json.dumps(body))

        def _allowed_methods(self) -> list[str]:
            """What the request's route serves; for a target that is no route, what this server serves."""
            try:
                match = self.local_gateway.event_converter._route_matcher.match_route(self.path or "/")
                methods = set(self.local_gateway._app_object.routes[match.route])
            except (ValueError, KeyError):
                methods = {name[3:] for name in dir(self) if name.startswith("do_")}
            return sorted(methods)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server answers what it cannot parse or serve with its own HTML page: an unknown
            # method (TRACE, CONNECT: 501), oversized headers (431), a long request line (414).
            # A method this server does not know is one no route serves: 405 with Allow.
            status, extra = code, {}
            if code == HTTPStatus.NOT_IMPLEMENTED:
                status, extra = HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ", ".join(self._allowed_methods())}
                message = f"{self.command} is not served here; see Allow"
            self.log_error("code %d, message %s", status, message)
            body = json.dumps(http.generic_problem(status, message or HTTPStatus(status).phrase)).encode()
            self.send_response(status)
            for name, value in {"Content-Type": http.PROBLEM_TYPE, "Content-Length": str(len(body)),
                                "Connection": "close", **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

        def _generic_handle(self) -> None:
            # Chalice's handler int()s Content-Length unchecked (a crash, no answer) and would read
            # any length it is told.
            length = self.headers.get("content-length", "0").strip()
            if not (length.isascii() and length.isdigit()):
                return self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length must be ASCII digits")
            if int(length) > self.max_request_bytes:
                return self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                       f"The request is larger than {self.max_request_bytes} bytes")
            super()._generic_handle()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), http.redact(format % args))

    return ProblemRequestHandler


# ---- stream --------------------------------------------------------------------------

def _lambda_value(value: Any) -> Any:
    """boto3 hands binary attributes back as bytes; Lambda events carry them as base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _lambda_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_value(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One boto3 `get_records` record as it appears in a Lambda DynamoDB event."""
    out = _lambda_value({k: v for k, v in record.items() if k != "dynamodb"})
    ddb = _lambda_value({k: v for k, v in record["dynamodb"].items() if k != "ApproximateCreationDateTime"})
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    # Chalice's DynamoDBRecord needs epoch seconds here and raises on a datetime.
    ddb["ApproximateCreationDateTime"] = float(created if created is not None else time.time())
    out.update({"eventSource": "aws:dynamodb", "awsRegion": out.get("awsRegion") or region,
                "eventSourceARN": stream_arn, "dynamodb": ddb})
    return out


def lambda_context(function_name: str) -> Any:
    """A Lambda context like the one chalice local passes to routes."""
    from chalice.local import LambdaContext
    return LambdaContext(function_name, memory_size=128, max_runtime_ms=60_000)


@dataclass
class StreamMapping:
    """One event source mapping: a handler, its batch size and its own position in the stream."""

    name: str
    handler: Callable[[dict, Any], Any]
    batch_size: int
    starting_position: str
    function_name: str
    iterator: str | None = None
    failing_seq: str | None = None  # lowest failed sequence number of the last failed batch
    retries: int = 0
    delivered: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # records "sent" to on-failure
    resume: tuple[str, str] | None = None  # (iterator type, sequence number) to read from next


class StreamPoller:
    """Reads the facts stream the way Lambda's event source mappings do and calls the handlers.

    Each mapping retries from the lowest failed sequence number (batchItemFailures or a
    raise), `retry_limit` times, then logs the failed records as sent to its on-failure
    destination and moves past the batch.
    """

    def __init__(self, streams: Any, stream_arn: str, region: str, mappings: list[StreamMapping],
                 retry_limit: int = 5, trim: Callable[[int], Any] | None = None):
        self.streams = streams
        self.trim = trim  # drops records every mapping has passed, as the 24-hour retention would
        self.stream_arn = stream_arn
        self.region = region
        self.mappings = mappings
        self.retry_limit = retry_limit
        self.lock = threading.RLock()
        self._shard_id: str | None = None
        self._first: int | None = None  # the shard's first sequence number, where TRIM_HORIZON starts
        self._page: tuple[Any, dict] | None = None  # this pass's last page, by (position, batch size)

    def reset(self, stream_arn: str) -> None:
        """Follow a new stream (tables recreated) from its start."""
        with self.lock:
            self.stream_arn, self._shard_id = stream_arn, None
            for m in self.mappings:
                m.iterator, m.failing_seq, m.retries, m.resume = None, None, 0, None

    def _shard(self) -> str:
        if self._shard_id is None:
            self._first = None
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            # moto keeps one shard per stream; DynamoDB would split, which a local run never needs.
            self._shard_id = shards[0]["ShardId"]
            self._first = int(shards[0]["SequenceNumberRange"]["StartingSequenceNumber"])
        return self._shard_id

    def _iterator(self, kind: str, seq: str | None = None) -> str:
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self._shard(), "ShardIteratorType": kind}
        if seq is not None:
            args["SequenceNumber"] = seq
        return self.streams.get_shard_iterator(**args)["ShardIterator"]

    def start_positions(self) -> None:
        """Place every mapping at its starting position (TRIM_HORIZON or LATEST)."""
        with self.lock:
            for m in self.mappings:
                if m.iterator is None:
                    m.iterator = self._iterator(m.starting_position)

    def step(self, m: StreamMapping) -> bool:
        """Deliver at most one batch to `m`; True when records were delivered."""
        if m.iterator is None:
            m.iterator = self._iterator(*m.resume) if m.resume is not None else self._iterator(m.starting_position)
        # Mappings standing at the same place read the same page: read it once per pass.
        where = (m.resume, m.batch_size)
        if m.resume is not None and self._page is not None and self._page[0] == where:
            page = self._page[1]
        else:
            try:
                page = self.streams.get_records(ShardIterator=m.iterator, Limit=m.batch_size)
            except Exception:
                # An iterator expires (DynamoDB: after 15 minutes; the embedded store keeps the
                # newest): read again from where the mapping stood, next pass.
                m.iterator = None
                raise
            self._page = (where, page)
        raw = page.get("Records", [])
        if not raw:
            # moto always returns a NextShardIterator; an empty page means caught up.
            m.iterator = page.get("NextShardIterator") or m.iterator
            return False
        batch = [lambda_record(r, self.stream_arn, self.region) for r in raw]
        failed = self._invoke(m, batch)
        if not failed:
            m.iterator = page["NextShardIterator"]
            m.resume = ("AFTER_SEQUENCE_NUMBER", batch[-1]["dynamodb"]["SequenceNumber"])
            m.delivered += len(batch)
            m.failing_seq, m.retries = None, 0
            return True
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        lowest = min(failed, key=seqs.index)
        if lowest == m.failing_seq:
            m.retries += 1
        else:
            m.failing_seq, m.retries = lowest, 0
        if m.retries < self.retry_limit:
            log.info("%s: batch failed at %s, retry %d of %d", m.name, lowest, m.retries + 1, self.retry_limit)
            m.delivered += seqs.index(lowest)
            m.resume, m.iterator = ("AT_SEQUENCE_NUMBER", lowest), None
            return True
        dropped = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
        m.failed.extend(dropped)
        for r in dropped:
            log.error("%s: retries exhausted, sent to on-failure destination: %s %s keys=%s", m.name,
                      r["dynamodb"]["SequenceNumber"], r["eventName"], json.dumps(r["dynamodb"].get("Keys")))
        m.delivered += len(batch) - len(dropped)
        m.failing_seq, m.retries = None, 0
        m.iterator = page["NextShardIterator"]
        m.resume = ("AFTER_SEQUENCE_NUMBER", seqs[-1])
        return True

    def _invoke(self, m: StreamMapping, batch: list[dict[str, Any]]) -> set[str]:
        """Call the handler; return the sequence numbers Lambda would treat as failed."""
        seqs = {r["dynamodb"]["SequenceNumber"] for r in batch}
        try:
            result = m.handler({"Records": batch}, lambda_context(m.function_name))
        except Exception:
            log.exception("%s: handler raised on a batch of %d", m.name, len(batch))
            return seqs
        if not isinstance(result, dict) or not result.get("batchItemFailures"):
            return set()
        ids = {str(f.get("itemIdentifier") or "") for f in result["batchItemFailures"] if isinstance(f, dict)}
        # Lambda fails the whole batch when an identifier is empty or not in the batch.
        return ids if ids and ids <= seqs else seqs

    def poll_once(self) -> bool:
        """One pass over every mapping; True when any of them delivered something."""
        with self.lock:
            busy, self._page = False, None
            for m in self.mappings:
                busy = self.step(m) or busy
            if busy and self.trim is not None:
                self.trim(self.passed())
            return busy

    def passed(self) -> int:
        """The first sequence number some mapping may still need (records before it are done)."""
        needed = []
        for m in self.mappings:
            if m.resume is None:
                self._shard()
                needed.append(self._first or 0)
                continue
            kind, seq = m.resume
            needed.append(int(seq) + (1 if kind == "AFTER_SEQUENCE_NUMBER" else 0))
        return min(needed, default=0)

    def drain(self, timeout: float = 30.0) -> None:
        """Deliver until every mapping has caught up with the stream (handlers may write more)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.poll_once():
                if time.monotonic() > deadline:
                    raise TimeoutError("stream did not settle")


# ---- schedules -----------------------------------------------------------------------

_FIELD_RANGES = {"minutes": (0, 59), "hours": (0, 23), "day_of_month": (1, 31), "month": (1, 12),
                 "year": (1970, 2199)}


def _cron_values(text: Any, low: int, high: int) -> list[int]:
    """Values of one cron field: `*`, `?`, numbers, lists, ranges and `/` steps."""
    values: set[int] = set()
    for part in str(text).split(","):
        part, _, step = part.partition("/")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            start, end = (int(p) for p in part.split("-", 1))
        else:
            start = int(part)
            end = high if step else start
        values.update(range(start, end + 1, int(step or 1)))
    return sorted(v for v in values if low <= v <= high)


class CronSchedule:
    """The UTC minute/hour/day-of-month/month/year fields of an EventBridge cron."""

    def __init__(self, minutes: Any, hours: Any, day_of_month: Any, month: Any, day_of_week: Any, year: Any):
        if str(day_of_week) not in ("?", "*"):
            raise ValueError("day-of-week cron fields are not supported locally")
        self.fields = {name: _cron_values(value, *_FIELD_RANGES[name]) for name, value in
                       zip(_FIELD_RANGES, (minutes, hours, day_of_month, month, year))}

    @classmethod
    def parse(cls, expression: Any) -> "CronSchedule":
        """From a chalice Cron or a `cron(...)` string."""
        if hasattr(expression, "to_string"):
            expression = expression.to_string()
        text = str(expression).strip()
        if not (text.startswith("cron(") and text.endswith(")")):
            raise ValueError(f"not a cron expression: {text}")
        return cls(*text[5:-1].split())

    def next_after(self, after: datetime) -> datetime | None:
        """The first instant strictly after `after` that the cron names."""
        a = after.astimezone(timezone.utc)
        f = self.fields
        for year in (y for y in f["year"] if y >= a.year):
            for month in (m for m in f["month"] if (year, m) >= (a.year, a.month)):
                for day in f["day_of_month"]:
                    if day > monthrange(year, month)[1] or (year, month, day) < (a.year, a.month, a.day):
                        continue
                    for hour in (h for h in f["hours"] if (year, month, day, h) >= (a.year, a.month, a.day, a.hour)):
                        for minute in f["minutes"]:
                            t = datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
                            if t > a:
                                return t
        return None


@dataclass
class ScheduledJob:
    name: str
    handler: Callable[[dict, Any], Any]
    cron: CronSchedule
    function_name: str
    next_at: datetime | None = None
    fired: list[datetime] = field(default_factory=list)


def scheduled_event(name: str, at: datetime, region: str) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a rule delivers at `at`."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": FAKE_ACCOUNT,
        "time": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": [f"arn:aws:events:{region}:{FAKE_ACCOUNT}:rule/{name}"],
        "detail": {},
    }


class Scheduler:
    """Fires each schedule when the app clock crosses its next cron instant (once per crossing)."""

    def __init__(self, jobs: list[ScheduledJob], now: Callable[[], datetime | None], region: str):
        self.jobs, self.now, self.region = jobs, now, region
        self._last: datetime | None = None

    def check(self) -> list[str]:
        """Fire what is due; return the names fired (none while the app clock is not the stack's)."""
        now = self.now()
        if now is None:
            return []
        if self._last is None or now < self._last:
            # First look, or the clock was set back (tests): aim at the next instant from here.
            for job in self.jobs:
                job.next_at = job.cron.next_after(now)
        self._last = now
        fired = []
        for job in self.jobs:
            if job.next_at is None or now < job.next_at:
                continue
            at, job.next_at = job.next_at, job.cron.next_after(now)
            log.info("schedule %s fires for %s (app clock %s)", job.name, at.isoformat(), now.isoformat())
            try:
                job.handler(scheduled_event(job.name, at, self.region), lambda_context(job.function_name))
            except Exception:
                # EventBridge would retry; locally the log is the useful part.
                log.exception("schedule %s raised", job.name)
            job.fired.append(at)
            fired.append(job.name)
        return fired


# ---- the stack -----------------------------------------------------------------------

def create_files_bucket(settings: Any) -> str:
    """The attachments bucket on moto's S3 (the stage's endpoint, so presigned URLs name it)."""
    from chalicelib.documents import attachments
    from infra.files import create_bucket
    return create_bucket(attachments.s3(settings), settings)


def _handler(module: types.ModuleType, handler_string: str) -> Callable[[dict, Any], Any]:
    """The object Lambda would call for `handler_string`: the decorated function itself."""
    module_name, attr = handler_string.rsplit(".", 1)
    # Chalice names the app's own handlers "app.<fn>"; blueprint handlers name their module.
    owner = module if module_name == "app" else importlib.import_module(module_name)
    return getattr(owner, attr)


@dataclass
class Stack:
    url: str
    moto_endpoint: str
    app_module: types.ModuleType
    stream_arn: str
    poller: StreamPoller
    scheduler: Scheduler
    _moto: Any
    _http: Any
    _dynamodb: Any
    services: Any
    _previous_env: dict[str, str | None]
    _previous_services: Any
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def drain(self, timeout: float = 30.0) -> None:
        """Block until every stream handler has seen every record written so far."""
        self.poller.drain(timeout)

    def ensure(self) -> None:
        """Take back the process-wide services and recreate the tables if someone removed them.

        Tests that use moto's `mock_aws` reset every moto backend in the process, this
        server's included, and test fixtures install their own services.
        """
        from chalicelib.core import runtime
        from infra.tables import create_tables
        with self.poller.lock:
            runtime.install(self.services)
            create_files_bucket(self.services.settings)
            arn = create_tables(self._dynamodb, self.services.settings)["facts"]
            if arn != self.stream_arn:
                self.stream_arn = arn
                self.poller.reset(arn)
                self.poller.start_positions()

    def reset_data(self) -> None:
        """Drop and recreate this stack's tables; stream handlers start over on the new stream."""
        from chalicelib.core import models
        with self.poller.lock:
            existing = set(self._dynamodb.list_tables()["TableNames"])
            for key in ("facts", "counters", "records"):
                # Only our own tables: other stacks in this process share moto's backends.
                name = models.table_name(self.services.settings, key)
                if name in existing:
                    self._dynamodb.delete_table(TableName=name)
            self.ensure()

    def _loop(self, interval: float, work: Callable[[], Any], what: str) -> None:
        failing = busy = False
        # A busy worker goes again at once (a backlog drains at full speed); an idle one waits.
        while not (self._stop.is_set() if busy else self._stop.wait(interval)):
            try:
                busy = bool(work())
                failing = False
            except Exception:
                # Keep going (moto reset by a test, a bad deploy of a handler); one traceback per outage.
                if not failing:
                    log.exception("%s tick failed; retrying quietly", what)
                failing, busy = True, False

    def expire(self) -> int:
        """Delete counters-table items whose TTL passed on the app clock (the dedup markers)."""
        settings = self.services.settings
        return moto_store.expire(settings.counters_table, settings.region, self.services.clock.now().timestamp())

    def start_threads(self, poll_interval: float, schedule_interval: float) -> None:
        for name, interval, work in (("stream-poller", poll_interval, self.poller.poll_once),
                                     ("scheduler", schedule_interval, self.scheduler.check),
                                     ("ttl", 1.0, self.expire)):
            t = threading.Thread(target=self._loop, args=(interval, work, name), name=name, daemon=True)
            t.start()
            self._threads.append(t)
        # The server's own serve_forever, not LocalDevServer's: that one prints the requested port (0).
        t = threading.Thread(target=self._http.server.serve_forever, name="http", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, grace: float = 1.5) -> None:
        """Stop the threads, the HTTP server and moto within `grace` seconds; give back the environment.

        Workers are daemon threads: one still inside a handler after the grace period is
        left to die with the process rather than holding Ctrl-C or SIGTERM hostage.
        """
        from chalicelib.core import runtime
        self._stop.set()
        deadline = time.monotonic() + grace
        threading.Thread(target=self._http.shutdown, daemon=True).start()
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._http.server.server_close()
        stopper = threading.Thread(target=self._moto.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=max(0.1, deadline - time.monotonic()))
        restore_environment(self._previous_env)
        if self._previous_services is not None:
            runtime.install(self._previous_services)
        else:
            runtime.reset()


def start_stack(port: int = 0, env_overrides: Mapping[str, str | None] | None = None, *,
                app_module: str | types.ModuleType = "app", host: str = "127.0.0.1",
                poll_interval: float = 0.2, schedule_interval: float = 0.2, retry_limit: int = 5,
                store_port: int = 0) -> Stack:
    """Start moto, the tables, the API on host:port (0 = any free port), the stream poller and the scheduler."""
    import boto3
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig
    from chalice.config import Config
    from chalice.local import LocalDevServer
    from local_stack.moto_store import LockedMotoServer
    from local_stack.admission import TriggerPaced
    from local_stack.request_scope import one_request_per_thread

    # moto's werkzeug logs every AWS call at INFO, drowning the app's own lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = LockedMotoServer(ip_address=host, port=store_port, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    moto_endpoint = f"http://{moto_host}:{moto_port}"
    try:
        previous_env = apply_environment(local_environment(moto_endpoint, env_overrides))
        # Settings, models and the app read the environment: all of it is set before they load.
        from chalicelib.core import runtime
        from chalicelib.core.config import load_settings
        from infra.tables import create_tables
        previous_services = getattr(runtime, "_services", None)
        settings = load_settings()
        services = runtime.build(settings)
        runtime.install(services)

        dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name=settings.region)
        stream_arn = create_tables(dynamodb, settings)["facts"]
        create_files_bucket(settings)
        # app.py reads its stream ARN from here at import (a placeholder otherwise).
        previous_env.update(apply_environment({"NAVI_FACTS_STREAM_ARN": stream_arn}))
        module = importlib.import_module(app_module) if isinstance(app_module, str) else app_module
        app = module.app
        one_request_per_thread(app)

        mappings, jobs = [], []
        for source in app.event_sources:
            function_name = f"{app.app_name}-{STAGE}-{source.name}"
            if isinstance(source, DynamoDBEventConfig):
                # Every stream handler reads the facts stream, the only one; the ARN in the
                # decorator is a deploy-time placeholder.
                mappings.append(StreamMapping(source.name, _handler(module, source.handler_string),
                                              source.batch_size, source.starting_position, function_name))
            elif isinstance(source, ScheduledEventConfig):
                try:
                    cron = CronSchedule.parse(source.schedule_expression)
                except ValueError as exc:
                    log.warning("schedule %s is not run locally: %s", source.name, exc)
                    continue
                jobs.append(ScheduledJob(source.name, _handler(module, source.handler_string), cron, function_name))
        streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint, region_name=settings.region)
        poller = StreamPoller(streams, stream_arn, settings.region, mappings, retry_limit,
                              trim=lambda before: moto_store.trim_stream(settings.facts_table, settings.region,
                                                                         before))
        poller.start_positions()
        def app_clock() -> datetime | None:
            current = runtime.services()
            # Services of another store (a moto-backed test in this process) own the clock then:
            # the stack's schedules must not fire into that store.
            return current.clock.now() if current.settings == settings else None

        scheduler = Scheduler(jobs, app_clock, settings.region)

        config = Config.create(chalice_stage=STAGE, app_name=app.app_name, project_dir=str(ROOT),
                               chalice_app=app, config_from_disk=json.loads(
                                   (ROOT / ".chalice" / "config.json").read_text()))
        def backlog() -> int:
            try:
                return moto_store.stream_end(settings.facts_table, settings.region) - poller.passed()
            except Exception:  # tables dropped by a test's mock_aws: nothing to wait for
                return 0

        paced = TriggerPaced(app, backlog, limit=max(m.batch_size for m in mappings) * 3 if mappings else 0)
        http = LocalDevServer(paced, config, host, port, handler_cls=_request_handler_cls())
        url = f"http://{host}:{http.server.server_address[1]}"
    except BaseException:
        moto.stop()
        raise
    stack = Stack(url=url, moto_endpoint=moto_endpoint, app_module=module, stream_arn=stream_arn,
                  poller=poller, scheduler=scheduler, _moto=moto, _http=http, _dynamodb=dynamodb,
                  services=services, _previous_env=previous_env, _previous_services=previous_services)
    stack.start_threads(poll_interval, schedule_interval)
    log.info("stream handlers: %s; schedules: %s", [m.name for m in mappings] or "none",
             [f"{j.name}@{j.cron.next_after(scheduler.now())}" for j in jobs] or "none")
    return stack


def wait_until_up(url: str, has_health: bool = True, timeout: float = 30.0) -> None:
    """Wait for GET /health to answer 200 (an app without /health: any HTTP answer)."""
    import requests
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(f"{url}/health", timeout=2)
            if r.status_code == 200 or not has_health:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}/health did not answer 200: {last}")
        time.sleep(0.1)


def quiet_console() -> None:
    """One console line per request: the access line. The app's own JSON request log, client
    set-up notes and the warning about the contract's short local HS256 secret would repeat
    on every request; warnings and errors still show."""
    import warnings

    from jwt.warnings import InsecureKeyLengthWarning
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    for name in ("botocore", "pynamodb", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def main(argv: list[str] | None = None) -> int:
    """Serve on $PORT (default 8000) until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument("--store-port", type=int, default=None,
                        help="port of the embedded DynamoDB (moto) for recount and scripts (default: port + 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_console()

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stack = start_stack(port=args.port, store_port=args.port + 1 if args.store_port is None else args.store_port)
    try:
        wait_until_up(stack.url, has_health="/health" in stack.app_module.app.routes)
        print(f"patentnavi-eval serving on {stack.url}", flush=True)
        print(f"embedded DynamoDB (moto) on {stack.moto_endpoint}: "
              f"python scripts/recount.py --endpoint {stack.moto_endpoint}", flush=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        log.info("stopping")
        stack.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    # Tearing down a national year of moto objects one by one takes the interpreter many
    # seconds; nothing is left to save, so leave at once (Ctrl-C and SIGTERM within 2 s).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
