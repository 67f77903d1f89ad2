"""DynamoDB-stream batches: the partial-batch-failure prelude both stream triggers share, and the
batch's metrics. Takes Lambda's raw event dict, so it needs no Chalice type."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.core import observability as obs


def each_record(raw_event: dict, handle: Callable[[Any], None]) -> dict:
    """Run `handle` on every record of a stream event; the partial batch response.

    A record whose handler raises is reported as a batch item failure, so Lambda retries from
    it and finally sends it to the on-failure queue without blocking the shard. `handle(record)`
    gets Powertools' DynamoDBRecord (typed images, event name), passed by that keyword."""
    records = raw_event.get("Records") or []
    if not records:
        return {"batchItemFailures": []}
    # Imported here: Powertools' batch utility costs 35-80 ms of import (measured after `import
    # app`), which the API function, importing this module through the domain, never needs.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    with processor(records=records, handler=handle):
        processor.process()
    return processor.response()


def oldest_write_age(raw_event: dict, now_epoch: float) -> float | None:
    """Seconds since the batch's oldest record was written (ApproximateCreationDateTime); None when no
    record carries it."""
    written = [
        float(w)
        for r in raw_event.get("Records") or []
        if (w := (r.get("dynamodb") or {}).get("ApproximateCreationDateTime"))
    ]
    return max(0.0, now_epoch - min(written)) if written else None


def measure(raw_event: dict, answer: dict, lag_metric: str, now_epoch: float | None = None) -> dict:
    """Add the batch's failure count and its write-to-handled lag (as `lag_metric`) to the buffered
    metrics; returns `answer` unchanged."""
    obs.metrics.add_metric(
        name=obs.BATCH_FAILURES, unit=obs.MetricUnit.Count, value=len(answer.get("batchItemFailures", []))
    )
    lag = oldest_write_age(raw_event, time.time() if now_epoch is None else now_epoch)
    if lag is not None:
        obs.metrics.add_metric(name=lag_metric, unit=obs.MetricUnit.Seconds, value=lag)
    return answer
