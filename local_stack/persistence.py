"""The local stack's data on disk: a snapshot and a journal in DynamoDB's own export format.

moto keeps everything in memory; this keeps what it acknowledged in a directory
(`NAVI_DATA_DIR`, default `.local-data/`):

    FORMAT.json                 what wrote the store: format, its version, the tables' key schemas
    CURRENT                     the generation in use (replaced atomically)
    snapshot-<gen>/<table>.json every item, one `{"Item": {...}}` line each (DynamoDB export to S3)
    snapshot-<gen>/s3.json      every object of the embedded S3: bucket, key, metadata, blob
    snapshot-<gen>/stream.json  facts-stream records no trigger had finished with (replayed once)
    snapshot-<gen>/MANIFEST.json  sha256 and line count of each file above
    journal-<gen>.json          changes since the snapshot, in groups; each line a change in the
                                shape of DynamoDB's incremental export (`Keys`, `NewImage`), an S3
                                change, a stream record, and a `Commit` line closing the group
    blobs/<sha256>              object bytes, written once

Writes mark the keys they touch (hooks on moto's item writes, called under the store lock);
at the end of each request, still under that lock and before the answer is sent, the marks become
journal entries (the items' images, new stream records, changed S3 objects) in a pending list; a
flusher thread writes the pending list as one journal group every FLUSH_SECONDS and fsyncs it
(group commit). The flusher never waits for the store lock, so no long moto call (a scan page of
a large table held it 2.6 s) delays a group: a write acknowledged more than FLUSH_SECONDS + one
group's write before a kill -9 is on disk. (Capping scan pages at DynamoDB's 1 MB would not do:
moto's cost per call does not follow the page; a scan page sorts the whole table, an index query
walks it.) Each group is whole or ignored: the only damage a start tolerates is a journal that
ends inside a group (the tail a kill leaves); anything else (a bad checksum, a missing file,
another format) is refused with the reason and the directory is left as it is.

Counters stay equal to a recount: the group also carries the facts-stream records written since
the last group and the first sequence number a trigger may still need. On start the records
from there on are put back into the stream with their own eventIDs, so the triggers apply those
not applied yet and their markers drop those already applied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamRecord, Table
from moto.s3.models import FakeKey

from local_stack import moto_store

log = logging.getLogger("local_stack.persistence")

FORMAT = "patentnavi-local-store"
FORMAT_VERSION = 1
FLUSH_SECONDS = 0.2  # the group-commit timer; with a flush's own time, the kill -9 bound (README: 1 s)
DEFAULT_DIR = ".local-data"


class StoreRefused(RuntimeError):
    """The data directory cannot be loaded whole: it is left untouched and the stack does not start."""


def schema_version() -> str:
    """A digest of every table's keys and indexes as infra/ declares them: what items are shaped by."""
    from infra.tables import cloudformation_resources

    keys = {}
    for name, resource in sorted(cloudformation_resources().items()):
        props = resource.get("Properties", {})
        keys[name] = {k: props.get(k) for k in ("KeySchema", "AttributeDefinitions")}
        keys[name]["Indexes"] = [
            (i.get("IndexName"), i.get("KeySchema")) for i in props.get("GlobalSecondaryIndexes", [])
        ]
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def stamp() -> dict[str, Any]:
    return {"format": FORMAT, "version": FORMAT_VERSION, "schema": schema_version()}


# ---- where writes land -----------------------------------------------------------------------

_dirty: set[tuple[str, DynamoType, DynamoType | None]] = set()
_hooked = False
_recording = False  # only while a store is open: other stacks and tests in the process keep nothing


def _install_hooks() -> None:
    """Mark every key moto writes (put, update, delete: transactions, batches and TTL go through these)."""
    global _hooked
    if _hooked:
        return
    put, delete, update = Table.put_item, Table.delete_item, DynamoDBBackend.update_item

    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any):
        item = put(self, item_attrs, *args, **kwargs)
        if _recording:
            _dirty.add((self.name, item.hash_key, item.range_key))
        return item

    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None):
        if _recording:
            _dirty.add((self.name, hash_key, range_key))
        return delete(self, hash_key, range_key)

    def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any):
        item = update(self, table_name, key, *args, **kwargs)
        if _recording:
            _dirty.add((table_name, item.hash_key, item.range_key))
        return item

    # moto's own functions stay reachable, as local_stack.upstream_pins reads them.
    put_item.__wrapped__, delete_item.__wrapped__, update_item.__wrapped__ = put, delete, update
    Table.put_item, Table.delete_item, DynamoDBBackend.update_item = put_item, delete_item, update_item
    _hooked = True


def _tables(region: str) -> dict[str, Table]:
    return dict(dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables)


def _buckets() -> dict[str, Any]:
    from moto.s3.models import s3_backends

    found = {}
    for partition in ("aws", "aws-cn"):
        backend = s3_backends[DEFAULT_ACCOUNT_ID].get(partition)
        if backend is not None:
            found.update(backend.buckets)
    return found


def _s3_backend(bucket: str) -> Any:
    from moto.s3.models import s3_backends

    for partition in ("aws", "aws-cn"):
        backend = s3_backends[DEFAULT_ACCOUNT_ID].get(partition)
        if backend is not None and bucket in backend.buckets:
            return backend
    raise StoreRefused(f"the store holds objects of bucket {bucket!r}, which this stack does not create")


def _objects() -> dict[tuple[str, str], Any]:
    # A versioned bucket's latest version may be a delete marker: the object is gone.
    return {
        (bucket.name, name): key
        for bucket in _buckets().values()
        for name, key in bucket.keys.items()
        if isinstance(key, FakeKey)
    }


# ---- files -----------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    """`data` at `path`, whole or not at all (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _plain(value: Any) -> Any:
    # Stream records carry their creation time as a datetime; on disk it is epoch seconds, as
    # the streams API answers it.
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_plain).encode() + b"\n"


# ---- loading ---------------------------------------------------------------------------------


@dataclass
class Loaded:
    """What a data directory holds, read whole and checked before anything is applied."""

    generation: int = 0
    items: dict[str, dict[tuple, dict[str, Any]]] = field(default_factory=dict)  # table -> key digest -> item
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    stream: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> record, the facts table's
    stream_table: str | None = None
    needed: int | None = None  # first sequence number a trigger may still need
    dropped_tail: int = 0  # bytes of an unfinished group at the journal's end (the tolerated damage)
    journal_bytes: int = 0


def _key_digest(keys: dict[str, Any], key_attrs: list[str]) -> tuple:
    """The item's identity, e.g. (("S", pk), ("S", sk)): hashable and cheap for 100,000s of items."""
    return tuple(next(iter(keys[a].items())) for a in key_attrs)


def read_store(path: Path, key_attrs: dict[str, list[str]]) -> Loaded | None:
    """The store at `path` (None when there is none yet); StoreRefused naming what is wrong.

    Reads only: nothing in `path` changes, whatever is found."""
    if not path.exists() or not any(path.iterdir()):
        return None
    where = f"the local store {path}"
    try:
        found = json.loads((path / "FORMAT.json").read_text())
    except (OSError, ValueError) as exc:
        raise StoreRefused(
            f"{where} has no readable FORMAT.json ({exc}); it was not written by this "
            "platform or is damaged. Move it away or name another NAVI_DATA_DIR."
        ) from None
    if found != stamp():
        raise StoreRefused(
            f"{where} was written by another version of the platform ({found}, this one "
            f"writes {stamp()}). Start that version to export it (scripts/backup.py), or "
            "name another NAVI_DATA_DIR."
        )
    try:
        generation = int((path / "CURRENT").read_text().strip())
    except (OSError, ValueError) as exc:
        raise StoreRefused(f"{where}: CURRENT is missing or damaged ({exc})") from None
    loaded = Loaded(generation=generation)
    snapshot = path / f"snapshot-{generation}"
    try:
        manifest = json.loads((snapshot / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        raise StoreRefused(f"{where}: snapshot {generation} has no readable MANIFEST.json ({exc})") from None
    loaded.needed = manifest.get("needed")
    loaded.stream_table = manifest.get("stream_table")
    for name, expected in manifest["files"].items():
        try:
            data = (snapshot / name).read_bytes()
        except OSError as exc:
            raise StoreRefused(f"{where}: {snapshot.name}/{name} is missing ({exc})") from None
        if hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise StoreRefused(f"{where}: {snapshot.name}/{name} does not match its checksum: damaged")
        lines = [json.loads(line) for line in data.splitlines() if line]
        if name == "s3.json":
            loaded.objects = {(o["Bucket"], o["Key"]): o for o in lines}
        elif name == "stream.json":
            loaded.stream = {int(r["dynamodb"]["SequenceNumber"]): r for r in lines}
        else:
            table = name.removesuffix(".json")
            attrs = key_attrs.get(table)
            if attrs is None:
                raise StoreRefused(f"{where} holds table {table!r}, which this stack does not create")
            loaded.items[table] = {_key_digest(line["Item"], attrs): line["Item"] for line in lines}
    _replay_journal(path / f"journal-{generation}.json", loaded, key_attrs, where)
    for (bucket, key), obj in loaded.objects.items():
        if not (path / "blobs" / obj["Blob"]).exists():
            raise StoreRefused(f"{where}: the bytes of s3://{bucket}/{key} (blobs/{obj['Blob']}) are missing")
    return loaded


def _replay_journal(journal: Path, loaded: Loaded, key_attrs: dict[str, list[str]], where: str) -> None:
    """Apply every committed group; what follows the last commit may only be an unfinished group."""
    if not journal.exists():
        return
    data = journal.read_bytes()
    loaded.journal_bytes = len(data)
    lines = data.splitlines(keepends=True)
    group: list[bytes] = []
    committed_end = offset = 0
    for index, raw in enumerate(lines):
        offset += len(raw)
        try:
            entry = json.loads(raw) if raw.endswith(b"\n") else None
        except ValueError:
            entry = None
        if entry is None:
            if any(b'"Commit"' in later for later in lines[index + 1 :]):
                raise StoreRefused(
                    f"{where}: {journal.name} has an unreadable line inside a committed group: damaged"
                )
            break  # the unfinished tail a kill leaves
        if "Commit" not in entry:
            group.append(raw)
            continue
        commit = entry["Commit"]
        if commit["lines"] != len(group) or hashlib.sha256(b"".join(group)).hexdigest() != commit["sha256"]:
            raise StoreRefused(f"{where}: a group of {journal.name} does not match its checksum: damaged")
        for line in group:
            _apply(json.loads(line), loaded, key_attrs, where)
        if commit.get("needed") is not None:
            loaded.needed = commit["needed"]
        group, committed_end = [], offset
    loaded.dropped_tail = len(data) - committed_end


def _apply(entry: dict[str, Any], loaded: Loaded, key_attrs: dict[str, list[str]], where: str) -> None:
    if "S3" in entry:
        change = entry["S3"]
        if change.get("Deleted"):
            loaded.objects.pop((change["Bucket"], change["Key"]), None)
        else:
            loaded.objects[(change["Bucket"], change["Key"])] = change
    elif "StreamRecord" in entry:
        record = entry["StreamRecord"]
        loaded.stream[int(record["dynamodb"]["SequenceNumber"])] = record
        loaded.stream_table = entry["Metadata"]["Table"]
    else:
        table = entry["Metadata"]["Table"]
        if table not in key_attrs:
            raise StoreRefused(f"{where} holds table {table!r}, which this stack does not create")
        items = loaded.items.setdefault(table, {})
        digest = _key_digest(entry["Keys"], key_attrs[table])
        if "NewImage" in entry:
            items[digest] = entry["NewImage"]
        else:
            items.pop(digest, None)


# ---- the store -------------------------------------------------------------------------------


class DataStore:
    """The data directory of one running local stack: loads it, journals every change, compacts."""

    def __init__(
        self,
        path: Path,
        region: str,
        table_names: dict[str, str],
        stream_table: str | None,
        needed: Callable[[], int | None],
    ):
        self.path = path
        self.region = region
        self.table_names = table_names  # file name (the table's key in infra/) -> table name
        self.stream_table = stream_table
        self.needed = needed  # the poller's first sequence number still needed
        self.generation = 0
        self._journal: Any = None
        self._objects: dict[tuple[str, str], Any] = {}  # the S3 objects (FakeKey) the journal has
        self._stream_written = 0  # next facts-stream sequence number to journal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.flushes = 0
        self._last_needed: int | None = None  # the `needed` the journal last recorded
        self.longest_flush = 0.0  # seconds: with FLUSH_SECONDS, how long an acknowledged write may wait
        self.flush_times: list[float] = []  # the last 10,000 groups' times, for the bench's percentiles
        # Journal entries collected under the store lock, not written yet: items by key (the last
        # image wins within a group), then stream records and S3 changes in order.
        self._pending_lock = threading.Lock()
        self._pending_items: dict[tuple[str, DynamoType, DynamoType | None], dict[str, Any]] = {}
        self._pending: list[Any] = []

    # -- start ---------------------------------------------------------------------------------

    def _key_attrs(self) -> dict[str, list[str]]:
        tables = _tables(self.region)
        out = {}
        for file, name in self.table_names.items():
            table = tables[name]
            out[file] = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return out

    def open(self) -> dict[str, Any]:
        """Load the directory into the (empty) embedded store, compact it, start journaling.

        Refuses (StoreRefused) before touching moto or the directory when it cannot load it whole.
        Returns what was loaded, for the start-up line."""
        loaded = read_store(self.path, self._key_attrs())
        counts: dict[str, Any] = {"items": 0, "objects": 0, "replayed": 0}
        with moto_store.STORE_LOCK:
            if loaded is not None:
                counts = self._load(loaded)
                self.generation = loaded.generation
            global _recording
            _install_hooks()
            _dirty.clear()
            _recording = True
            moto_store.AFTER_REQUEST.append(self._after_request)
            if loaded is None or loaded.journal_bytes or counts["replayed"]:
                # Fold the journal in, and number replayed stream records as this run's stream does.
                self._compact(needed=None)  # nothing delivered yet: every record in the stream is needed
            else:
                self._resume(loaded)
        self._thread = threading.Thread(target=self._run, name="store-flusher", daemon=True)
        self._thread.start()
        return counts

    def _load(self, loaded: Loaded) -> dict[str, Any]:
        tables = _tables(self.region)
        count = 0
        for file, items in loaded.items.items():
            table = tables[self.table_names[file]]
            for item in items.values():
                moto_store.restore_item(table, item)  # notes TTL expiries; no stream record
                count += 1
        for (bucket, key), obj in loaded.objects.items():
            value = (self.path / "blobs" / obj["Blob"]).read_bytes()
            stored = _s3_backend(bucket).put_object(bucket, key, value, disable_notification=True)
            stored.set_metadata(obj.get("Metadata") or {})
        replayed = 0
        if loaded.stream and self.stream_table:
            shard = tables[self.stream_table].stream_shard
            first = loaded.needed if loaded.needed is not None else min(loaded.stream)
            for seq in sorted(s for s in loaded.stream if s >= first):
                record = json.loads(json.dumps(loaded.stream[seq]))
                record["dynamodb"]["SequenceNumber"] = str(shard.starting_sequence_number + len(shard.items))
                replay = StreamRecord.__new__(StreamRecord)
                replay.record = record  # the same eventID: a trigger's marker recognises it
                shard.items.append(replay)
                replayed += 1
        return {
            "items": count,
            "objects": len(loaded.objects),
            "replayed": replayed,
            "dropped_tail_bytes": loaded.dropped_tail,
        }

    # -- snapshot --------------------------------------------------------------------------------

    def _compact(self, needed: int | None) -> None:
        """Write the whole store as generation + 1, switch CURRENT to it, drop the older files.

        Called under the store lock (start): nothing changes while it is written."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        tables = _tables(self.region)
        items = {}
        for file, name in self.table_names.items():
            table = tables[name]
            stored = (
                [i for partition in table.items.values() for i in partition.values()]
                if table.range_key_attr
                else list(table.items.values())
            )
            items[file] = [item.to_json()["Attributes"] for item in stored]
        objects = {k: (o.value, dict(o.metadata)) for k, o in _objects().items()}
        records = []
        if self.stream_table:
            shard = tables[self.stream_table].stream_shard
            needed = shard.starting_sequence_number if needed is None else needed
            records = [
                r.to_json() for r in shard.items if int(r.to_json()["dynamodb"]["SequenceNumber"]) >= needed
            ]
            self._stream_written = shard.starting_sequence_number + len(shard.items)
        self._last_needed = needed
        blobs = _write_generation(
            self.path, self.generation + 1, items, objects, records, needed, self.table_key(self.stream_table)
        )
        _drop_generation(self.path, self.generation, keep_blobs=set(blobs.values()))
        self.generation += 1
        current = _objects()
        self._objects = {k: current[k] for k in blobs}
        self._journal = open(self.path / f"journal-{self.generation}.json", "ab")

    def _resume(self, loaded: Loaded) -> None:
        """Journal on top of a snapshot that holds everything (an empty journal, no stream to replay)."""
        current = _objects()
        self._objects = {k: current[k] for k in loaded.objects}
        if self.stream_table:
            shard = _tables(self.region)[self.stream_table].stream_shard
            self._stream_written = shard.starting_sequence_number + len(shard.items)
            self._last_needed = shard.starting_sequence_number  # nothing delivered yet
        self._journal = open(self.path / f"journal-{self.generation}.json", "ab")

    def table_key(self, name: str | None) -> str | None:
        return next((file for file, table in self.table_names.items() if table == name), None)

    # -- journal ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.flush(wait=False)
            except Exception:
                log.exception("writing the local store's journal failed; retrying")

    def _after_request(self, environ: dict[str, Any]) -> None:
        # DynamoDB's calls name their target; any other writing request may have changed S3.
        s3 = "HTTP_X_AMZ_TARGET" not in environ and environ.get("REQUEST_METHOD") in {"PUT", "POST", "DELETE"}
        try:
            self._collect(s3)
        except Exception:
            log.exception("collecting a request's writes for the local store's journal failed")

    def _collect(self, s3: bool = True) -> None:
        """Move what changed since the last call into the pending group. The caller holds the store lock:
        the images are the ones the request acknowledges, and no later request has touched them."""
        names = {name: file for file, name in self.table_names.items()}
        tables = _tables(self.region)
        items: dict[tuple[str, DynamoType, DynamoType | None], dict[str, Any]] = {}
        others: list[Any] = []
        dirty = list(_dirty)
        _dirty.clear()
        stamp_us = int(time.time() * 1e6)
        for name, hash_key, range_key in dirty:
            table = tables.get(name)
            if table is None or name not in names:
                continue
            keys = {table.hash_key_attr: hash_key.to_json()}
            if range_key is not None:
                keys[table.range_key_attr] = range_key.to_json()
            item = (
                table.items.get(hash_key, {}).get(range_key)
                if range_key is not None
                else table.items.get(hash_key)
            )
            entry = {"Metadata": {"WriteTimestampMicros": stamp_us, "Table": names[name]}, "Keys": keys}
            if item is not None:
                entry["NewImage"] = item.to_json()["Attributes"]
            items[(name, hash_key, range_key)] = entry
        if self.stream_table and self.stream_table in tables:
            shard = tables[self.stream_table].stream_shard
            start = max(self._stream_written, shard.starting_sequence_number)
            for record in shard.items[start - shard.starting_sequence_number :]:
                others.append(
                    {
                        "Metadata": {"Table": self.table_key(self.stream_table)},
                        "StreamRecord": record.to_json(),
                    }
                )
            self._stream_written = shard.starting_sequence_number + len(shard.items)
        if s3:
            current = _objects()
            for k, o in current.items():
                if self._objects.get(k) is not o:
                    others.append((k, o.value, dict(o.metadata)))
                    self._objects[k] = o
            for bucket, key in [k for k in self._objects if k not in current]:
                others.append({"S3": {"Bucket": bucket, "Key": key, "Deleted": True}})
                del self._objects[(bucket, key)]
        if items or others:
            with self._pending_lock:
                for key, entry in items.items():
                    self._pending_items.pop(key, None)  # re-inserted last: the newest image comes last
                    self._pending_items[key] = entry
                self._pending.extend(others)

    def flush(self, wait: bool = True) -> int:
        """Append one group of every change since the last one and fsync it; returns its lines.

        `wait`: collect writes made outside a request (TTL expiry, a bench's preload) even if that
        means waiting for the store lock; the flusher thread does not wait, requests collect their own."""
        with self._flush_lock:
            began = time.perf_counter()
            # Read before taking the pending group: every record before it had its effects collected.
            needed = self.needed()
            if moto_store.STORE_LOCK.acquire(blocking=wait):
                try:
                    self._collect()
                finally:
                    moto_store.STORE_LOCK.release()
            with self._pending_lock:
                items, self._pending_items = self._pending_items, {}
                others, self._pending = self._pending, []
            entries: list[dict[str, Any]] = list(items.values())
            for change in others:
                if isinstance(change, tuple):
                    (bucket, key), value, metadata = change
                    blob = hashlib.sha256(value).hexdigest()
                    if not (self.path / "blobs" / blob).exists():
                        _write_file(self.path / "blobs" / blob, value)
                    change = {"S3": {"Bucket": bucket, "Key": key, "Blob": blob, "Metadata": metadata}}
                entries.append(change)
            if not entries and needed == self._last_needed:
                return 0
            self._last_needed = needed
            body = b"".join(_line(e) for e in entries)
            commit = {
                "Commit": {
                    "lines": len(entries),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "needed": needed,
                }
            }
            self._journal.write(body + _line(commit))
            self._journal.flush()
            os.fsync(self._journal.fileno())
            self.flushes += 1
            took = time.perf_counter() - began
            self.longest_flush = max(self.longest_flush, took)
            self.flush_times = self.flush_times[-9_999:] + [took]
            return len(entries)

    def close(self) -> None:
        """Flush what is left and stop (Ctrl-C, SIGTERM): the next start finds all of it."""
        global _recording
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.flush()
        _recording = False
        if self._after_request in moto_store.AFTER_REQUEST:
            moto_store.AFTER_REQUEST.remove(self._after_request)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        log.info(
            "local store %s: %d journal groups, the longest written in %.0f ms",
            self.path,
            self.flushes,
            self.longest_flush * 1000,
        )


# ---- whole generations -------------------------------------------------------------------------


def _write_generation(
    path: Path,
    generation: int,
    items: dict[str, list[dict[str, Any]]],
    objects: dict[tuple[str, str], tuple[bytes, dict[str, Any]]],
    records: list[dict[str, Any]],
    needed: int | None,
    stream_table: str | None,
) -> dict[tuple[str, str], str]:
    """Snapshot `generation` written and fsync'd, then CURRENT names it; returns each object's blob."""
    snapshot = path / f"snapshot-{generation}"
    (path / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(exist_ok=True)
    files: dict[str, dict[str, Any]] = {}

    def write(name: str, lines: list[bytes]) -> None:
        body = b"".join(lines)
        _write_file(snapshot / name, body)
        files[name] = {"sha256": hashlib.sha256(body).hexdigest(), "lines": len(lines)}

    for file, stored in items.items():
        write(f"{file}.json", [_line({"Item": item}) for item in stored])
    blobs: dict[tuple[str, str], str] = {}
    lines = []
    for (bucket, key), (value, metadata) in sorted(objects.items()):
        blob = blobs[(bucket, key)] = hashlib.sha256(value).hexdigest()
        if not (path / "blobs" / blob).exists():
            _write_file(path / "blobs" / blob, value)
        lines.append(_line({"Bucket": bucket, "Key": key, "Blob": blob, "Metadata": metadata}))
    write("s3.json", lines)
    write("stream.json", [_line(r) for r in records])
    _write_file(
        snapshot / "MANIFEST.json",
        json.dumps(
            {"files": files, "needed": needed, "stream_table": stream_table, "written_at": time.time()},
            indent=1,
        ).encode(),
    )
    _fsync_dir(snapshot)
    _fsync_dir(path / "blobs")
    _write_file(path / "FORMAT.json", json.dumps(stamp(), indent=1).encode())
    _write_file(path / "CURRENT", f"{generation}\n".encode())
    _fsync_dir(path)
    return blobs


def _drop_generation(path: Path, generation: int, keep_blobs: set[str]) -> None:
    """The files of an older generation, and blobs no object names any more."""
    for stale in (path / f"journal-{generation}.json", path / f"snapshot-{generation}"):
        if stale.is_dir():
            for f in stale.iterdir():
                f.unlink()
            stale.rmdir()
        elif stale.exists():
            stale.unlink()
    for blob in (path / "blobs").iterdir():
        if blob.name not in keep_blobs:
            blob.unlink()


def write_store(
    path: Path,
    items: dict[str, list[dict[str, Any]]],
    objects: dict[tuple[str, str], tuple[bytes, dict[str, Any]]],
    stream_table: str = "facts",
) -> None:
    """A new local store at `path` holding `items` (per table key) and `objects` (a restore)."""
    if path.exists() and any(path.iterdir()):
        raise StoreRefused(f"{path} is not empty: restore into a new directory")
    path.mkdir(parents=True, exist_ok=True)
    _write_generation(path, 1, items, objects, [], None, stream_table)
