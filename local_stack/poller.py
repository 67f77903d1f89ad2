"""The stream's event source mappings, run locally: batches, partial failures, retries, on-failure."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.events import lambda_context, lambda_record

log = logging.getLogger("local_stack")


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


class _ReadAhead:
    """One get_records call on a thread of its own; `result()` is its page, or None if it failed."""

    def __init__(self, streams: Any, iterator: str, limit: int):
        self.key = (iterator, limit)
        self._page: dict | None = None
        self._thread = threading.Thread(
            target=self._read, args=(streams, iterator, limit), name="stream-read-ahead", daemon=True
        )
        self._thread.start()

    def _read(self, streams: Any, iterator: str, limit: int) -> None:
        try:
            self._page = streams.get_records(ShardIterator=iterator, Limit=limit)
        except Exception:  # read again by the caller, which sees the error itself
            self._page = None

    def result(self) -> dict | None:
        self._thread.join()
        return self._page


class StreamPoller:
    """Reads the facts stream the way Lambda's event source mappings do and calls the handlers.

    Each mapping retries from the lowest failed sequence number (batchItemFailures or a
    raise), `retry_limit` times, then logs the failed records as sent to its on-failure
    destination and moves past the batch.
    """

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        region: str,
        mappings: list[StreamMapping],
        retry_limit: int,
        trim: Callable[[int], Any] | None = None,
    ):
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
        self._ahead: _ReadAhead | None = None  # the next page, being read

    def reset(self, stream_arn: str) -> None:
        """Follow a new stream (tables recreated) from its start."""
        with self.lock:
            self.stream_arn, self._shard_id, self._ahead = stream_arn, None, None
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
        args: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": self._shard(),
            "ShardIteratorType": kind,
        }
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
            m.iterator = (
                self._iterator(*m.resume) if m.resume is not None else self._iterator(m.starting_position)
            )
        page = self._page_at(m)
        raw = page.get("Records", [])
        if not raw:
            # moto always returns a NextShardIterator; an empty page means caught up.
            m.iterator = page.get("NextShardIterator") or m.iterator
            return False
        if page.get("NextShardIterator"):
            self._read_ahead(page["NextShardIterator"], m.batch_size)
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
            log.info(
                "%s: batch failed at %s, retry %d of %d", m.name, lowest, m.retries + 1, self.retry_limit
            )
            m.delivered += seqs.index(lowest)
            m.resume, m.iterator = ("AT_SEQUENCE_NUMBER", lowest), None
            return True
        dropped = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed]
        m.failed.extend(dropped)
        for r in dropped:
            log.error(
                "%s: retries exhausted, sent to on-failure destination: %s %s keys=%s",
                m.name,
                r["dynamodb"]["SequenceNumber"],
                r["eventName"],
                json.dumps(r["dynamodb"].get("Keys")),
            )
        m.delivered += len(batch) - len(dropped)
        m.failing_seq, m.retries = None, 0
        m.iterator = page["NextShardIterator"]
        m.resume = ("AFTER_SEQUENCE_NUMBER", seqs[-1])
        return True

    def _page_at(self, m: StreamMapping) -> dict:
        """The page where `m` stands: mappings standing at the same place read it once per pass."""
        where = (m.resume, m.batch_size)
        if m.resume is not None and self._page is not None and self._page[0] == where:
            return self._page[1]
        try:
            page = self._read(m.iterator, m.batch_size)
        except Exception:
            # An iterator expires (DynamoDB: after 15 minutes; the embedded store keeps the
            # newest): read again from where the mapping stood, next pass.
            m.iterator = None
            raise
        self._page = (where, page)
        return page

    def _read(self, iterator: str, limit: int) -> dict:
        """A page from `iterator`: the one read ahead for it when that found records, else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.key == (iterator, limit):
            page = ahead.result()
            # An empty page read ahead may predate records written since: only records are taken from it.
            if page is not None and page.get("Records"):
                return page
        return self.streams.get_records(ShardIterator=iterator, Limit=limit)

    def _read_ahead(self, iterator: str, limit: int) -> None:
        """Read the page after this one while the handler runs, as Lambda's poller reads ahead of its
        function: the read no longer waits behind the writes that the handler's progress lets in."""
        if self._ahead is None or self._ahead.key != (iterator, limit):
            self._ahead = _ReadAhead(self.streams, iterator, limit)

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
