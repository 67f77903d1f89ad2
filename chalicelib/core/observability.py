"""CloudWatch metrics (embedded metric format) and X-Ray tracing for every handler.

    from chalicelib.core.observability import MetricUnit, metrics, EVENTS_ACCEPTED
    metrics.add_metric(name=EVENTS_ACCEPTED, unit=MetricUnit.Count, value=n)

Metrics are buffered and written as one EMF log line when flushed: decorate a Chalice
handler with `@flushed` (under the `@app...` decorator) or call `flush()` at its end.
Powertools' own `metrics.log_metrics` wants Lambda's `(event, context)` signature, which
Chalice handlers do not have. Tracing and metrics switch themselves off outside Lambda and
under POWERTOOLS_TRACE_DISABLED / POWERTOOLS_METRICS_DISABLED.

Building a Powertools Tracer imports the X-Ray SDK (~0.5 s), so `tracer` is built on first
use and `@traced` defers even that to the first call: use `@traced` on functions that are
decorated at import time, so `import app` stays light.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "patentnavi-eval")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PatentNavi")

EVENTS_ACCEPTED = "EventsAccepted"  # Count: usage events stored
EVENTS_DUPLICATE = "EventsDuplicate"  # Count: resent event ids answered as duplicates
ROBOTS_DROPPED = "RobotsDropped"  # Count: events from robot user agents, stored but not counted
BATCH_FAILURES = "BatchFailures"  # Count: stream records reported back as batch item failures
COUNTER_LAG_SECONDS = "CounterLagSeconds"  # Seconds: fact written -> counted
METRIC_NAMES = frozenset(
    {EVENTS_ACCEPTED, EVENTS_DUPLICATE, ROBOTS_DROPPED, BATCH_FAILURES, COUNTER_LAG_SECONDS}
)

metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


class _LazyTracer:
    """Stands for the Powertools Tracer and builds it on first attribute access."""

    def __init__(self) -> None:
        self._tracer: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._tracer is None:
            with self._lock:
                if self._tracer is None:
                    from aws_lambda_powertools import Tracer

                    # Patches botocore so each DynamoDB call is a subsegment (only when tracing is on).
                    self._tracer = Tracer(service=SERVICE)
        return self._tracer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


tracer = _LazyTracer()


def traced(function: Handler) -> Handler:
    """`tracer.capture_method`, applied on the first call rather than at import."""
    captured: list[Callable[..., Any]] = []

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not captured:
            captured.append(tracer.capture_method(function))
        return captured[0](*args, **kwargs)

    return run  # type: ignore[return-value]


def flush() -> None:
    """Write the buffered metrics as one EMF line (nothing when none were added)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        metrics.flush_metrics(raise_on_empty_metrics=False)
    # With metrics disabled (local stage) flushing keeps them, and Powertools then prints a
    # metric by itself once it holds 100 values: drop them either way.
    metrics.clear_metrics()


def flushed(handler: Handler) -> Handler:
    """Flush the metrics a Chalice handler added, whether it returns or raises."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            flush()

    return run  # type: ignore[return-value]


__all__ = [
    "MetricUnit",
    "metrics",
    "tracer",
    "traced",
    "flush",
    "flushed",
    "METRIC_NAMES",
    "EVENTS_ACCEPTED",
    "EVENTS_DUPLICATE",
    "ROBOTS_DROPPED",
    "BATCH_FAILURES",
    "COUNTER_LAG_SECONDS",
]
