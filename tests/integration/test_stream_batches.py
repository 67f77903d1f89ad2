"""The one stream-batch helper (chalicelib/core/streams.py) and the two triggers that use it."""

from __future__ import annotations

import pytest

from chalicelib.core import observability as obs
from chalicelib.core import streams


def stream_record(seq: int, written: float | None = 1715738400.0) -> dict:
    ddb = {
        "Keys": {"pk": {"S": f"X#{seq}"}, "sk": {"S": "A"}},
        "SequenceNumber": str(seq),
        "NewImage": {"pk": {"S": f"X#{seq}"}, "sk": {"S": "A"}},
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if written is not None:
        ddb["ApproximateCreationDateTime"] = written
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "cn-north-1",
        "eventSourceARN": "arn:aws:dynamodb:cn-north-1:000000000000:table/t/stream/s",
        "dynamodb": ddb,
    }


def test_an_empty_event_handles_nothing_and_fails_nothing():
    seen = []
    assert streams.each_record({"Records": []}, seen.append) == {"batchItemFailures": []}
    assert streams.each_record({}, seen.append) == {"batchItemFailures": []}
    assert seen == []


def test_a_record_whose_handler_raises_is_reported_by_sequence_number_and_the_rest_still_run():
    handled = []

    def handle(record):  # Powertools passes the record by this keyword
        if record.dynamodb.sequence_number == "2":
            raise ValueError("poison")
        handled.append(record.dynamodb.sequence_number)

    answer = streams.each_record({"Records": [stream_record(1), stream_record(2), stream_record(3)]}, handle)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert handled == ["1", "3"]


def test_the_lag_is_that_of_the_oldest_record_and_absent_without_timestamps():
    event = {"Records": [stream_record(1, 1000.0), stream_record(2, 990.0), stream_record(3, None)]}
    assert streams.oldest_write_age(event, 1010.0) == 20.0
    assert streams.oldest_write_age(event, 900.0) == 0.0  # a clock behind the stream's is no negative lag
    assert streams.oldest_write_age({"Records": [stream_record(1, None)]}, 1010.0) is None


@pytest.fixture
def added(monkeypatch):
    metrics: list[tuple[str, float]] = []
    monkeypatch.setattr(obs.metrics, "add_metric", lambda name, unit, value: metrics.append((name, value)))
    return metrics


def test_measure_adds_the_failures_and_the_lag_and_returns_the_answer(added):
    answer = {"batchItemFailures": [{"itemIdentifier": "2"}]}
    event = {"Records": [stream_record(1, 1000.0), stream_record(2, 1004.0)]}
    assert streams.measure(event, answer, obs.COUNTER_LAG_SECONDS, now_epoch=1010.0) is answer
    assert added == [(obs.BATCH_FAILURES, 1), (obs.COUNTER_LAG_SECONDS, 10.0)]


def test_measure_without_timestamps_adds_no_lag(added):
    streams.measure({"Records": [stream_record(1, None)]}, {"batchItemFailures": []}, obs.COUNTER_LAG_SECONDS)
    assert added == [(obs.BATCH_FAILURES, 0)]


@pytest.mark.parametrize("trigger", ["on_fact_change", "on_approval_push"])
def test_both_triggers_go_through_the_helper(store, monkeypatch, trigger):
    import app as app_module

    calls = []
    real = streams.each_record

    def spy(raw_event, handle):
        calls.append(len(raw_event["Records"]))
        return real(raw_event, handle)

    monkeypatch.setattr(streams, "each_record", spy)
    answer = getattr(app_module, trigger)({"Records": [stream_record(1)]}, None)
    assert calls == [1]
    assert answer == {"batchItemFailures": []}


def test_the_facts_trigger_measures_its_batch_and_the_push_trigger_does_not(store, added):
    import app as app_module

    app_module.on_fact_change({"Records": [stream_record(1)]}, None)
    assert [name for name, _ in added] == [obs.BATCH_FAILURES, obs.COUNTER_LAG_SECONDS]
    added.clear()
    app_module.on_approval_push({"Records": [stream_record(1)]}, None)
    assert added == []
