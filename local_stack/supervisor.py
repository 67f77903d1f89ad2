"""`make run` on both cores: the embedded store in this process, the API and the stream trigger each in
a process of its own, started and stopped together.

In one process (stack.py) moto, Chalice's server and the trigger share one GIL: with 8 closed-loop
clients a request waited for the other seven's work and for the trigger's, and one core idled. Here
the store process serves moto, keeps the data directory, expires TTLs and trims the stream; the API
process runs Chalice's local server; the trigger process runs the stream mappings and the schedules,
both over the store's endpoint as the deployed functions reach DynamoDB. They share a few numbers in
shared memory: where the stream ends (published after every DynamoDB call), where the trigger stands
and which of its passes found nothing. So the API paces writes by the trigger's backlog as the
one-process stack does, and `drain` waits for an idle pass that began after it was called.

The children ignore Ctrl-C (the terminal sends it to the whole group): `python -m local_stack` turns
it, and SIGTERM, into `Supervised.stop`; a child whose supervisor died (kill -9) exits at once.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack import moto_store
from local_stack.request_scope import one_request_per_thread
from local_stack.scheduler import Scheduler
from local_stack.stack import (
    admission_limit,
    app_clock,
    event_sources,
    expire_markers,
    give_back,
    http_server,
    open_data,
    open_store,
    quiet_console,
    run_loop,
    start_moto,
    stream_poller,
)

log = logging.getLogger("local_stack")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
START_SECONDS = 60.0  # a child importing the app on a busy machine: ~1 s measured, 60 allowed

# spawn, not fork: the store process runs moto's server threads, whose locks a fork could copy held.
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class Shared:
    """What the three processes share: 64-bit numbers, each written by one process only. Stream
    sequence numbers (moto's have 22 digits) are kept as offsets from the stream's start at `base`."""

    base: int
    stream_end: Any  # the store: where the next facts-stream record goes
    passed: Any  # the trigger: the first record some mapping may still need
    passes: Any  # the trigger: passes begun
    last_idle: Any  # the trigger: the number of its last pass that delivered nothing
    port: Any  # the API: the port it listens on
    pause: Any  # a lock the trigger holds for each pass: whoever holds it pauses the trigger
    wake: Any  # an event that starts an idle trigger's next pass at once

    @classmethod
    def create(cls, base: int) -> Shared:
        numbers = (_CONTEXT.RawValue("q", 0) for _ in range(5))
        return cls(base, *numbers, _CONTEXT.Lock(), _CONTEXT.Event())


class RemoteTrigger:
    """The trigger process as the store process sees it: where it stands, a pause, a drain."""

    def __init__(self, shared: Shared):
        self._shared = shared
        self.lock = shared.pause

    def passed(self) -> int:
        return self._shared.base + self._shared.passed.value

    def drain(self, timeout: float = 30.0) -> None:
        """Until a pass that began after this call delivered nothing (handlers may write more)."""
        begun = self._shared.passes.value
        self._shared.wake.set()
        deadline = time.monotonic() + timeout
        while self._shared.last_idle.value <= begun:
            if time.monotonic() > deadline:
                raise TimeoutError("stream did not settle")
            time.sleep(0.002)


@dataclass
class Supervised:
    """A running store process with its API and trigger processes (the Stack of `make run`)."""

    url: str
    moto_endpoint: str
    services: Any
    poller: RemoteTrigger
    data: Any
    _moto: Any
    _children: dict[str, Any]
    _hook: Callable[[dict[str, Any]], None]
    _previous_env: dict[str, str | None]
    _previous_services: Any
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def drain(self, timeout: float = 30.0) -> None:
        self.poller.drain(timeout)

    def pids(self) -> dict[str, int]:
        """The processes serving: this one as `store`, the children by name."""
        return {"store": os.getpid(), **{name: p.pid for name, p in self._children.items()}}

    def stop(self, grace: float = 1.5) -> None:
        """Stop the children (SIGTERM, then SIGKILL at `grace`), then journal the last changes and stop moto."""
        deadline = time.monotonic() + grace
        self._stop.set()
        _end(list(self._children.values()), deadline)
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.data is not None:
            self.data.close()  # after the trigger: its last counters reach the journal
        stopper = threading.Thread(target=self._moto.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=max(0.1, deadline - time.monotonic()))
        moto_store.AFTER_REQUEST.remove(self._hook)
        give_back(self._previous_env, self._previous_services)


def start_supervised(
    port: int = 0,
    env_overrides: Mapping[str, str | None] | None = None,
    *,
    host: str = "127.0.0.1",
    store_port: int = 0,
    data_dir: Path | None = None,
    poll_interval: float = 0.2,
    schedule_interval: float = 0.2,
) -> Supervised:
    """The store here (moto, tables, data directory, TTL, stream trimming), the API and the trigger in
    processes of their own; returns once all three serve. Arguments as stack.start_stack's. The children
    are spawned, so they import the caller's main module: call it under `if __name__ == "__main__":`."""
    moto, moto_endpoint = start_moto(host, store_port)
    children: dict[str, tuple[Any, Any]] = {}
    hook: Callable[[dict[str, Any]], None] | None = None
    try:
        store = open_store(moto_endpoint, env_overrides)
        settings = store.services.settings
        shared = Shared.create(base=moto_store.stream_start(settings.facts_table, settings.region))
        publish = _end_publisher(shared, settings)
        publish()
        heap = FrozenHeap()

        def hook(environ: dict[str, Any]) -> None:
            publish()
            heap.touched()

        moto_store.AFTER_REQUEST.append(hook)
        trigger = RemoteTrigger(shared)
        data = open_data(Path(data_dir), settings, trigger.passed) if data_dir else None
        level = logging.getLogger().getEffectiveLevel()
        children = {
            "trigger": _start("trigger", _run_trigger, shared, level, poll_interval, schedule_interval),
            "api": _start("api", _run_api, shared, level, host, port),
        }
        _await_ready(children)
    except BaseException:
        _end([process for process, _ in children.values()], time.monotonic() + 1.0)
        if hook is not None:
            moto_store.AFTER_REQUEST.remove(hook)
        moto.stop()
        raise
    supervised = Supervised(
        url=f"http://{host}:{shared.port.value}",
        moto_endpoint=moto_endpoint,
        services=store.services,
        poller=trigger,
        data=data,
        _moto=moto,
        _children={name: process for name, (process, _) in children.items()},
        _hook=hook,
        _previous_env=store.previous_env,
        _previous_services=store.previous_services,
    )

    _keep_house(supervised, publish, heap, poll_interval)
    return supervised


def _keep_house(
    supervised: Supervised, publish: Callable[[], None], heap: FrozenHeap, poll_interval: float
) -> None:
    """The store process's own loops: TTL expiry, the stream trimmed to where the trigger stands, the heap."""
    settings = supervised.services.settings

    def expire() -> int:
        removed = expire_markers(supervised.services)
        publish()  # a TTL deletion writes a stream record without a request
        return removed

    def trim() -> int:
        return moto_store.trim_stream(settings.facts_table, settings.region, supervised.poller.passed())

    heap.tend()  # what was loaded
    for name, interval, work in (
        ("ttl", 1.0, expire),
        ("stream-trim", poll_interval, trim),
        ("heap", FrozenHeap.SECONDS, heap.tend),
    ):
        t = threading.Thread(
            target=run_loop, args=(supervised._stop, interval, work, name), name=name, daemon=True
        )
        t.start()
        supervised._threads.append(t)


class FrozenHeap:
    """The store's objects kept out of the cyclic collector's walks (gc.freeze), every second.

    moto's items live until deleted and are freed by reference counting (they hold no cycles), yet
    each full collection walked them all: at 100k facts 3.7M objects, pauses of 0.8-1.5 s with every
    request stalled (measured under 8 clients: POST p95 1.78 s; frozen every 5 s, longest pause 63 ms;
    every second, 19 ms and p95 1.03 s). A cycle that dies frozen is not collected: once the store has
    been idle a while, the heap is thawed and collected whole, when nobody waits for it.
    """

    SECONDS = 1.0  # the collector then walks at most this second's new objects
    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self._last_request = time.monotonic()
        self._since_collected = False  # objects were frozen since the last full collection

    def touched(self) -> None:
        self._last_request = time.monotonic()

    def tend(self) -> bool:
        idle = time.monotonic() - self._last_request > self.IDLE_SECONDS
        if idle and self._since_collected:
            gc.unfreeze()
            gc.collect()
            self._since_collected = False
        elif not idle:
            self._since_collected = True
        gc.freeze()
        return False


def _end_publisher(shared: Shared, settings: Any) -> Callable[[], None]:
    def publish() -> None:
        try:
            end = moto_store.stream_end(settings.facts_table, settings.region)
            shared.stream_end.value = end - shared.base
        except Exception:  # the table is being recreated: the next call publishes
            pass

    return publish


def _start(name: str, target: Callable[..., None], shared: Shared, *args: Any) -> tuple[Any, Any]:
    ready = _CONTEXT.Event()
    process = _CONTEXT.Process(target=target, args=(shared, ready, *args), name=name, daemon=True)
    process.start()
    return process, ready


def _await_ready(children: dict[str, tuple[Any, Any]]) -> None:
    deadline = time.monotonic() + START_SECONDS
    for name, (process, ready) in children.items():
        while not ready.wait(0.05):
            if not process.is_alive():
                raise RuntimeError(f"the {name} process exited with {process.exitcode} while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} process did not start within {START_SECONDS:.0f} s")


def _end(processes: list[Any], deadline: float) -> None:
    """SIGTERM to every child, SIGKILL to any still running at `deadline`."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout=1.0)


# ---- the children -------------------------------------------------------------------------


def _child(level: int) -> threading.Event:
    """A child's start: logging as the store's, Ctrl-C ignored, SIGTERM to the returned event, and an
    exit at once if the supervisor dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    logging.basicConfig(level=level, format=LOG_FORMAT)
    quiet_console()
    parent = multiprocessing.parent_process()

    def orphaned() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    if parent is not None:
        threading.Thread(target=orphaned, name="supervisor-watch", daemon=True).start()
    return stopping


def _run_api(shared: Shared, ready: Any, level: int, host: str, port: int) -> None:
    """The API process: Chalice's local server, writes paced by the trigger's backlog."""
    stopping = _child(level)
    module = importlib.import_module("app")
    one_request_per_thread(module.app)
    mappings, _ = event_sources(module, None)
    http = http_server(
        module.app,
        host,
        port,
        lambda: shared.stream_end.value - shared.passed.value,
        admission_limit(mappings),
    )
    gc.freeze()  # the app's modules, never garbage: full collections no longer walk them (pauses)
    shared.port.value = http.server.server_address[1]
    # shutdown() waits for serve_forever's next poll: 0.5 s by default.
    serving = threading.Thread(
        target=http.server.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True
    )
    serving.start()
    ready.set()
    stopping.wait()
    http.server.shutdown()
    http.server.server_close()
    os._exit(0)  # the interpreter's teardown of the app's modules would only cost time


class _Waker:
    """The trigger loop's stop event, whose idle wait a drain cuts short."""

    def __init__(self, stopping: threading.Event, wake: Any):
        self._stopping, self._wake = stopping, wake

    def is_set(self) -> bool:
        return self._stopping.is_set()

    def wait(self, timeout: float) -> bool:
        if self._wake.wait(timeout):
            self._wake.clear()
        return self._stopping.is_set()


def _run_trigger(
    shared: Shared, ready: Any, level: int, poll_interval: float, schedule_interval: float
) -> None:
    """The trigger process: the facts-stream mappings and the schedules, as the deployed functions."""
    from chalicelib import composition

    stopping = _child(level)
    module = importlib.import_module("app")
    settings = composition.services().settings
    mappings, jobs = event_sources(module, None)
    poller = stream_poller(
        os.environ["AWS_ENDPOINT_URL"],
        os.environ["NAVI_FACTS_STREAM_ARN"],
        settings,
        mappings,
        None,
        trims=False,
    )
    shared.passed.value = poller.passed() - shared.base
    scheduler = Scheduler(jobs, app_clock(settings), settings.region)

    def one_pass() -> bool:
        with shared.pause:
            number = shared.passes.value = shared.passes.value + 1
            try:
                busy = poller.poll_once()
            finally:
                shared.passed.value = poller.passed() - shared.base
            if not busy:
                shared.last_idle.value = number
            return busy

    loops = [
        threading.Thread(
            target=run_loop, args=(_Waker(stopping, shared.wake), poll_interval, one_pass, "stream-poller")
        ),
        threading.Thread(target=run_loop, args=(stopping, schedule_interval, scheduler.check, "scheduler")),
    ]
    for loop in loops:
        loop.daemon = True
        loop.start()
    log.info(
        "stream handlers: %s; schedules: %s",
        [m.name for m in mappings] or "none",
        [f"{j.name}@{j.cron.next_after(scheduler.now())}" for j in jobs] or "none",
    )
    gc.freeze()  # as the API's
    ready.set()
    stopping.wait()
    shared.wake.set()
    for loop in loops:
        loop.join(timeout=1.0)  # the pass under way ends: its counters land before the store stops
    os._exit(0)
