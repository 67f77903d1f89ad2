"""The composition root: builds the process-wide services (settings, clock, authenticator, robots
list, table and secret bindings) once, lazily. It sits above every capability package, so it may
import any of them and none imports it.

Lambda and `chalice local` import app.py before the stage environment matters to us, so
nothing here runs at import: the first call to `services()` reads the environment.
Tests swap pieces with `override`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from chalicelib.core import models, pseudonyms
from chalicelib.core.auth import Authenticator
from chalicelib.core.clock import Clock, StartedClock, SystemClock
from chalicelib.core.config import Settings, load_settings
from chalicelib.usage import robots


@dataclass(frozen=True)
class Services:
    """Everything a handler needs besides its request: one set per process (or per test)."""

    settings: Settings
    clock: Clock
    authenticator: Authenticator | None = None  # None: the settings' own, built here

    def __post_init__(self) -> None:
        if self.authenticator is None:
            object.__setattr__(self, "authenticator", Authenticator(self.settings))

    @cached_property
    def robots(self) -> robots.Robots:
        """The COUNTER robots matcher; compiled on first use, since most requests never ask."""
        return robots.counter()


_lock = threading.Lock()
_services: Services | None = None


def build(settings: Settings) -> Services:
    """Wire the services for `settings`: bind the models and the pseudonym key, choose the clock."""
    _bind(settings)
    clock: Clock = StartedClock(settings.start_at) if settings.start_at else SystemClock()
    return Services(settings=settings, clock=clock)


def _bind(settings: Settings) -> None:
    models.bind(settings)
    pseudonyms.bind(settings.pseudonym_secret)


def services() -> Services:
    """The services of this process, built on first use."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = build(load_settings())
    return _services


def install(built: Services) -> None:
    """Use these services from now on (local runner, tests)."""
    global _services
    with _lock:
        _bind(built.settings)
        _services = built


def override(**changes: Any) -> Services:
    """Replace some services (e.g. the clock) and return the new set."""
    if "settings" in changes:
        changes.setdefault("authenticator", None)  # a token is judged by the settings in force
    updated = replace(services(), **changes)
    install(updated)
    return updated


def reset() -> None:
    """Forget the services; the next call rebuilds them from the environment."""
    global _services
    with _lock:
        _services = None
