"""Reads the moto facts stream into Lambda-shaped records, for driving stream handlers in tests."""

from __future__ import annotations

from local_stack.events import lambda_record
from tests.support import moto_client


class StreamTap:
    """Hands out the stream records written since the last call, as Lambda would see them."""

    def __init__(self, stream_arn: str, region: str = "cn-north-1"):
        self.arn = stream_arn
        self.region = region
        self._client = moto_client("dynamodbstreams", region)
        self._shard = self._client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0][
            "ShardId"
        ]
        self._last: str | None = None
        self.history: list[dict] = []

    def _iterator(self) -> str:
        # Fresh each time: a failed moto transaction restores its table from a copy, and an
        # old iterator keeps reading the replaced shard, missing every later record.
        where = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
            if self._last
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        return self._client.get_shard_iterator(StreamArn=self.arn, ShardId=self._shard, **where)[
            "ShardIterator"
        ]

    def take(self) -> list[dict]:
        """Every record not taken yet, oldest first."""
        out = []
        iterator = self._iterator()
        while True:
            page = self._client.get_records(ShardIterator=iterator, Limit=1000)
            iterator = page["NextShardIterator"]
            if not page["Records"]:
                break
            out.extend(lambda_record(r, self.arn, self.region) for r in page["Records"])
            self._last = page["Records"][-1]["dynamodb"]["SequenceNumber"]
        self.history.extend(out)
        return out


def event_of(records: list[dict]) -> dict:
    return {"Records": records}


def deliver(handler, records: list[dict], batch_size: int = 100) -> None:
    """Feed records to a stream handler like Lambda: batches, retry from the first failure."""
    start = 0
    attempts = 0
    while start < len(records):
        batch = records[start : start + batch_size]
        try:
            answer = handler(event_of(batch))
        except Exception:
            attempts += 1
            assert attempts < 10, "a batch kept failing"
            continue
        failed = [f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])]
        if failed:
            seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
            first = min(seqs.index(s) for s in failed)
            attempts += 1
            if attempts < 3:
                start += first
                continue
            start += first + 1  # gave up on it: Lambda would send it to the on-failure queue
        else:
            start += len(batch)
        attempts = 0
