"""Writes wait for the stream trigger, so the embedded stack's counters settle within seconds.

On AWS the API and the stream trigger run on separate Lambda capacity, and the trigger
keeps up. Locally both share one process and one core: closed-loop clients could keep the
API busy and let the trigger fall minutes behind, so the counters would lag where they
would not deployed. A write is therefore admitted only while the trigger is within a
bounded number of stream records of the stream's end; under overload clients wait, the
counters do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class TriggerPaced:
    """A Chalice app for the local server that admits writes only while the trigger keeps up."""

    def __init__(self, app: Any, backlog: Callable[[], int], limit: int, patience: float = 10.0):
        self._app, self._backlog, self._limit, self._patience = app, backlog, limit, patience

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __call__(self, event: dict, context: Any) -> Any:
        if event.get("requestContext", {}).get("httpMethod") in WRITES:
            self.wait()
        return self._app(event, context)

    def wait(self) -> None:
        """Until the backlog is within the limit (or patience runs out: a stuck trigger blocks nobody)."""
        deadline = time.monotonic() + self._patience
        while time.monotonic() < deadline and self._backlog() > self._limit:
            time.sleep(0.005)
