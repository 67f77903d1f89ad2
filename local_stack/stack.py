"""Serve the whole system locally in one process: moto, the Chalice API, the stream and the schedules.

`chalice local` runs only the routes; this adds what Lambda and EventBridge would do
(stream mappings with partial batch responses, cron schedules) against an in-process moto.
The mappings take their batch size and retries from infra/, as the deployed ones do.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from local_stack import moto_store
from local_stack.gateway import ProblemRequestHandler
from local_stack.poller import StreamMapping, StreamPoller
from local_stack.request_scope import one_request_per_thread
from local_stack.scheduler import CronSchedule, ScheduledJob, Scheduler

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("local_stack")

STAGE = "local"
DEFAULT_PORT = 8000


# ---- environment ---------------------------------------------------------------------


def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The stage's environment_variables from .chalice/config.json."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))


def local_environment(
    moto_endpoint: str, overrides: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
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


def run_loop(stop: Any, interval: float, work: Callable[[], Any], what: str) -> None:
    """Call `work` until `stop` (an Event) is set: again at once while it reports work done, else
    after `interval`."""
    failing = busy = False
    # A busy worker goes again at once (a backlog drains at full speed); an idle one waits.
    while not (stop.is_set() if busy else stop.wait(interval)):
        try:
            busy = bool(work())
            failing = False
        except Exception:
            # Keep going (moto reset by a test, a bad deploy of a handler); one traceback per outage.
            if not failing:
                log.exception("%s tick failed; retrying quietly", what)
            failing, busy = True, False


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
    data: Any = None  # local_stack.persistence.DataStore when the stack keeps its data in a directory

    def drain(self, timeout: float = 30.0) -> None:
        """Block until every stream handler has seen every record written so far."""
        self.poller.drain(timeout)

    def ensure(self) -> None:
        """Take back the process-wide services and recreate the tables if someone removed them.

        Tests that use moto's `mock_aws` reset every moto backend in the process, this
        server's included, and test fixtures install their own services.
        """
        from chalicelib import composition
        from infra.tables import create_tables

        with self.poller.lock:
            composition.install(self.services)
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

    def expire(self) -> int:
        return expire_markers(self.services)

    def pids(self) -> dict[str, int]:
        """The processes serving: this one (the supervised stack names three)."""
        return {"stack": os.getpid()}

    def start_threads(self, poll_interval: float, schedule_interval: float) -> None:
        for name, interval, work in (
            ("stream-poller", poll_interval, self.poller.poll_once),
            ("scheduler", schedule_interval, self.scheduler.check),
            ("ttl", 1.0, self.expire),
        ):
            t = threading.Thread(
                target=run_loop, args=(self._stop, interval, work, name), name=name, daemon=True
            )
            t.start()
            self._threads.append(t)
        # The server's own serve_forever, not LocalDevServer's: that one prints the requested port (0).
        # shutdown() waits for its next poll: 0.5 s by default, paid by every stop.
        t = threading.Thread(
            target=self._http.server.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True
        )
        t.start()
        self._threads.append(t)

    def stop(self, grace: float = 1.5) -> None:
        """Stop the threads, the HTTP server and moto within `grace` seconds; give back the environment.

        Workers are daemon threads: one still inside a handler after the grace period is
        left to die with the process rather than holding Ctrl-C or SIGTERM hostage.
        """

        self._stop.set()
        deadline = time.monotonic() + grace
        threading.Thread(target=self._http.shutdown, daemon=True).start()
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._http.server.server_close()
        if self.data is not None:
            self.data.close()  # the last changes reach the journal before moto goes
        stopper = threading.Thread(target=self._moto.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=max(0.1, deadline - time.monotonic()))
        give_back(self._previous_env, self._previous_services)


def expire_markers(services: Any) -> int:
    """Delete counters-table items whose TTL passed on the app clock (the dedup markers)."""
    settings = services.settings
    return moto_store.expire(settings.counters_table, settings.region, services.clock.now().timestamp())


def give_back(previous_env: dict[str, str | None], previous_services: Any) -> None:
    """Put back the environment and the services a stack replaced in this process."""
    from chalicelib import composition

    restore_environment(previous_env)
    if previous_services is not None:
        composition.install(previous_services)
    else:
        composition.reset()


def start_stack(
    port: int = 0,
    env_overrides: Mapping[str, str | None] | None = None,
    *,
    app_module: str | types.ModuleType = "app",
    host: str = "127.0.0.1",
    poll_interval: float = 0.2,
    schedule_interval: float = 0.2,
    retry_limit: int | None = None,
    batch_size: int | None = None,
    store_port: int = 0,
    data_dir: Path | None = None,
) -> Stack:
    """Start moto, the tables, the API on host:port (0 = any free port), the stream poller and the scheduler.

    `data_dir`: keep the data there (local_stack/persistence.py): load it first, journal every
    change; None keeps it in memory only (tests). A store it cannot load whole raises StoreRefused.

    Stream mappings batch and retry as the deployed ones (`infra.package.stream_mapping`);
    `batch_size` and `retry_limit` override that for tests of the poller itself.
    """
    moto, moto_endpoint = start_moto(host, store_port)
    try:
        store = open_store(moto_endpoint, env_overrides)
        module = importlib.import_module(app_module) if isinstance(app_module, str) else app_module
        one_request_per_thread(module.app)
        settings = store.services.settings
        mappings, jobs = event_sources(module, batch_size)
        poller = stream_poller(moto_endpoint, store.stream_arn, settings, mappings, retry_limit)
        data = open_data(Path(data_dir), settings, poller.passed) if data_dir is not None else None
        scheduler = Scheduler(jobs, app_clock(settings), settings.region)
        http = http_server(module.app, host, port, _backlog(settings, poller), admission_limit(mappings))
    except BaseException:
        moto.stop()
        raise
    stack = Stack(
        url=f"http://{host}:{http.server.server_address[1]}",
        moto_endpoint=moto_endpoint,
        app_module=module,
        stream_arn=store.stream_arn,
        poller=poller,
        scheduler=scheduler,
        _moto=moto,
        _http=http,
        _dynamodb=store.dynamodb,
        services=store.services,
        _previous_env=store.previous_env,
        _previous_services=store.previous_services,
        data=data,
    )
    stack.start_threads(poll_interval, schedule_interval)
    log.info(
        "stream handlers: %s; schedules: %s",
        [m.name for m in mappings] or "none",
        [f"{j.name}@{j.cron.next_after(scheduler.now())}" for j in jobs] or "none",
    )
    return stack


def start_moto(host: str, port: int) -> tuple[Any, str]:
    """The embedded store's server, started, and its endpoint."""
    from local_stack.moto_store import LockedMotoServer

    # moto's werkzeug logs every AWS call at INFO, drowning the app's own lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = LockedMotoServer(ip_address=host, port=port)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    return moto, f"http://{moto_host}:{moto_port}"


@dataclass
class Store:
    """The embedded store as the stack set it up, and what it replaced in the process."""

    services: Any
    dynamodb: Any
    stream_arn: str
    previous_env: dict[str, str | None]
    previous_services: Any


def open_store(moto_endpoint: str, env_overrides: Mapping[str, str | None] | None) -> Store:
    """The environment set, the services installed, the tables and the bucket created on moto."""
    import boto3

    previous_env = apply_environment(local_environment(moto_endpoint, env_overrides))
    # Settings, models and the app read the environment: all of it is set before they load.
    from chalicelib import composition
    from chalicelib.core.config import load_settings
    from infra.tables import create_tables

    previous_services = getattr(composition, "_services", None)
    settings = load_settings()
    services = composition.build(settings)
    composition.install(services)

    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name=settings.region)
    stream_arn = create_tables(dynamodb, settings)["facts"]
    create_files_bucket(settings)
    # app.py reads its stream ARN from here at import (a placeholder otherwise).
    previous_env.update(apply_environment({"NAVI_FACTS_STREAM_ARN": stream_arn}))
    return Store(services, dynamodb, stream_arn, previous_env, previous_services)


def event_sources(
    module: types.ModuleType, batch_size: int | None
) -> tuple[list[StreamMapping], list[ScheduledJob]]:
    """The app's stream handlers (batching as the deployed mappings unless told) and the schedules
    this stack can run."""
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig

    from infra.package import stream_mapping

    batch_size = stream_mapping(STAGE).batch_size if batch_size is None else batch_size
    app = module.app
    mappings, jobs = [], []
    for source in app.event_sources:
        function_name = f"{app.app_name}-{STAGE}-{source.name}"
        handler = _handler(module, source.handler_string)
        if isinstance(source, DynamoDBEventConfig):
            # Every stream handler reads the facts stream, the only one; the ARN in the
            # decorator is a deploy-time placeholder, and so is its batch size: the
            # template sets the stage's, and so does this.
            mappings.append(
                StreamMapping(source.name, handler, batch_size, source.starting_position, function_name)
            )
        elif isinstance(source, ScheduledEventConfig):
            try:
                cron = CronSchedule.parse(source.schedule_expression)
            except ValueError as exc:
                log.warning("schedule %s is not run locally: %s", source.name, exc)
                continue
            jobs.append(ScheduledJob(source.name, handler, cron, function_name))
    return mappings, jobs


def stream_poller(
    moto_endpoint: str,
    stream_arn: str,
    settings: Any,
    mappings: list[StreamMapping],
    retry_limit: int | None,
    trims: bool = True,
) -> StreamPoller:
    """The poller of the facts stream, retrying as the deployed mappings unless told; `trims`: it drops
    the records it passed from the store (which must then run in this process)."""
    import boto3

    from infra.package import stream_mapping

    retry_limit = stream_mapping(STAGE).max_retries if retry_limit is None else retry_limit
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint, region_name=settings.region)
    poller = StreamPoller(
        streams,
        stream_arn,
        settings.region,
        mappings,
        retry_limit,
        trim=(lambda before: moto_store.trim_stream(settings.facts_table, settings.region, before))
        if trims
        else None,
    )
    poller.start_positions()
    return poller


def open_data(data_dir: Path, settings: Any, passed: Callable[[], int | None]) -> Any:
    """The data directory loaded into the store, every change journalled from here on (`passed`: the
    first stream sequence number the trigger may still need)."""
    from chalicelib.core import models
    from infra.tables import TABLES
    from local_stack.persistence import DataStore

    data = DataStore(
        data_dir,
        settings.region,
        {spec.key: models.table_name(settings, spec.key) for spec in TABLES},
        settings.facts_table,
        passed,
    )
    loaded = data.open()
    log.info("local store %s: loaded %s", data_dir, loaded)
    return data


def app_clock(settings: Any) -> Callable[[], datetime | None]:
    from chalicelib import composition

    def app_clock() -> datetime | None:
        current = composition.services()
        # Services of another store (a moto-backed test in this process) own the clock then:
        # the stack's schedules must not fire into that store.
        return current.clock.now() if current.settings == settings else None

    return app_clock


def _backlog(settings: Any, poller: StreamPoller) -> Callable[[], int]:
    """Stream records the trigger has still to pass, read from the store in this process."""

    def backlog() -> int:
        try:
            return moto_store.stream_end(settings.facts_table, settings.region) - poller.passed()
        except Exception:  # tables dropped by a test's mock_aws: nothing to wait for
            return 0

    return backlog


def admission_limit(mappings: list[StreamMapping]) -> int:
    """How far behind the trigger may fall before writes wait: three of its batches."""
    return max(m.batch_size for m in mappings) * 3 if mappings else 0


def http_server(app: Any, host: str, port: int, backlog: Callable[[], int], limit: int) -> Any:
    """Chalice's local server for the app, writes paced by the trigger's backlog."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from local_stack.admission import TriggerPaced

    config = Config.create(
        chalice_stage=STAGE,
        app_name=app.app_name,
        project_dir=str(ROOT),
        chalice_app=app,
        config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text()),
    )
    paced = TriggerPaced(app, backlog, limit=limit)
    return LocalDevServer(paced, config, host, port, handler_cls=ProblemRequestHandler)


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
