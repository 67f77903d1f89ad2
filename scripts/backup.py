"""Export every table and the files records point to; restore them into an empty store.

    python scripts/backup.py export --data-dir .local-data --to backup/          # a stopped local stack
    python scripts/backup.py export --endpoint http://127.0.0.1:8001 --to backup/ # a running one (quiet)
    NAVI_STAGE=prod python scripts/backup.py export --to backup/                  # a deployed stage (scan)
    python scripts/backup.py restore --from backup/ --data-dir fresh/            # a new local store
    python scripts/backup.py restore --from backup/ --endpoint URL               # empty tables, e.g. new ones
    NAVI_STAGE=prod python scripts/backup.py pitr-export --bucket B --prefix navi/2026-12-06  # deployed
    python scripts/backup.py table-parameters facts --name navi-prod-facts-restored   # for aws dynamodb import-table

A backup is a directory in DynamoDB's export format: `<table>.json` holds one `{"Item": {...}}`
line per item (DynamoDB JSON, what ExportTableToPointInTime writes), `files/<key>` the bytes of
every object an item's `object_key` names, `MANIFEST.json` the counts, checksums and the
platform's schema version. Restoring refuses a target that holds anything, and a backup of
another schema version or whose checksums fail. Counters are restored as exported; run
`scripts/recount.py` afterwards (it must report no drift). A deployed stage is better backed up
with point-in-time recovery or ExportTableToPointInTime (README "Data and recovery").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local_stack import persistence  # noqa: E402

TABLE_KEYS = ("facts", "counters", "records")
POLL_SECONDS = 5.0  # between status checks of a DynamoDB export or import (they take minutes)
FILES = "files"


class BackupRefused(RuntimeError):
    """The backup or the target is not what a restore may use; nothing was written."""


def _line(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


# ---- where the data is -------------------------------------------------------------------------


class Live:
    """Tables and bucket of a running store (the local stack's moto, or a deployed stage) via boto3."""

    def __init__(self, endpoint: str | None):
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
                os.environ.setdefault(name, value)
        import boto3

        from chalicelib.core import models
        from chalicelib.core.config import load_settings

        settings = load_settings()
        self.tables = {key: models.table_name(settings, key) for key in TABLE_KEYS}
        self.bucket = settings.files_bucket
        self.dynamodb = boto3.client("dynamodb", region_name=settings.region)
        self.s3 = boto3.client("s3", region_name=settings.region)

    def items(self, key: str) -> Iterator[dict[str, Any]]:
        start: dict | None = None
        while True:
            page = self.dynamodb.scan(
                TableName=self.tables[key],
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            yield from page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def object(self, key: str) -> tuple[bytes, dict[str, Any]]:
        got = self.s3.get_object(Bucket=self.bucket, Key=key)
        return got["Body"].read(), {"content-type": got.get("ContentType")}

    def empty(self) -> bool:
        return all(self.dynamodb.scan(TableName=t, Limit=1)["Count"] == 0 for t in self.tables.values())

    def write(self, key: str, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            requests = {self.tables[key]: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            while requests:
                requests = (
                    self.dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or None
                )

    def put_object(self, key: str, data: bytes, metadata: dict[str, Any]) -> None:
        extra = {"ContentType": metadata["content-type"]} if metadata.get("content-type") else {}
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)


def _stored_store(data_dir: Path) -> persistence.Loaded:
    """A local store read whole from its directory (snapshot and journal), the stack stopped."""
    key_attrs = _key_attrs()
    loaded = persistence.read_store(data_dir, key_attrs)
    if loaded is None:
        raise BackupRefused(f"{data_dir} holds no local store")
    return loaded


def _key_attrs() -> dict[str, list[str]]:
    from chalicelib.core import models

    out = {}
    for key in TABLE_KEYS:
        model = models.TABLES[key][0]
        out[key] = [model._hash_keyname] + ([model._range_keyname] if model._range_keyname else [])
    return out


# ---- export ------------------------------------------------------------------------------------


def export(target: Path, *, data_dir: Path | None = None, endpoint: str | None = None) -> dict[str, Any]:
    """Write the backup of a local store directory or of a live store into `target` (new or empty)."""
    if target.exists() and any(target.iterdir()):
        raise BackupRefused(f"{target} is not empty: a backup goes into a new directory")
    (target / FILES).mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "stamp": persistence.stamp(),
        "exported_at": time.time(),
        "tables": {},
        "files": {},
    }
    pointed: set[str] = set()
    if data_dir is not None:
        loaded = _stored_store(data_dir)
        tables = {key: list(loaded.items.get(key, {}).values()) for key in TABLE_KEYS}
        objects = {key: obj for (_, key), obj in loaded.objects.items()}

        def fetch(key: str) -> tuple[bytes, dict[str, Any]]:
            obj = objects[key]
            return (data_dir / "blobs" / obj["Blob"]).read_bytes(), obj.get("Metadata") or {}
    else:
        live = Live(endpoint)
        tables = {key: list(live.items(key)) for key in TABLE_KEYS}
        fetch = live.object
    for key, items in tables.items():
        body = b"".join(_line({"Item": item}) for item in items)
        (target / f"{key}.json").write_bytes(body)
        manifest["tables"][key] = {"items": len(items), "sha256": hashlib.sha256(body).hexdigest()}
        pointed |= {item["object_key"]["S"] for item in items if "S" in item.get("object_key", {})}
    for key in sorted(pointed):
        try:
            data, metadata = fetch(key)
        except Exception:  # an upload never completed points at an object the lifecycle removed
            continue
        path = target / FILES / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        manifest["files"][key] = {"sha256": hashlib.sha256(data).hexdigest(), "metadata": metadata}
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return {"tables": {k: v["items"] for k, v in manifest["tables"].items()}, "files": len(manifest["files"])}


# ---- restore -----------------------------------------------------------------------------------


def read_backup(
    source: Path,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[bytes, dict[str, Any]]]]:
    """The backup's items and files, every checksum verified first."""
    try:
        manifest = json.loads((source / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupRefused(f"{source} has no readable MANIFEST.json ({exc})") from None
    if manifest["stamp"] != persistence.stamp():
        raise BackupRefused(f"{source} was written by another version of the platform ({manifest['stamp']})")
    tables = {}
    for key, expected in manifest["tables"].items():
        body = (source / f"{key}.json").read_bytes()
        if hashlib.sha256(body).hexdigest() != expected["sha256"]:
            raise BackupRefused(f"{source}/{key}.json does not match its checksum")
        tables[key] = [json.loads(line)["Item"] for line in body.splitlines() if line]
    files = {}
    for key, expected in manifest["files"].items():
        data = (source / FILES / key).read_bytes()
        if hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise BackupRefused(f"{source}/{FILES}/{key} does not match its checksum")
        files[key] = (data, expected["metadata"])
    return tables, files


def restore(source: Path, *, data_dir: Path | None = None, endpoint: str | None = None) -> dict[str, Any]:
    """Restore the backup at `source` into a new local store directory or into empty live tables."""
    tables, files = read_backup(source)
    if data_dir is not None:
        from chalicelib.core.config import load_settings

        persistence.write_store(
            data_dir, tables, {(load_settings().files_bucket, key): value for key, value in files.items()}
        )
    else:
        live = Live(endpoint)
        if not live.empty():
            raise BackupRefused("the target tables hold items: restore into an empty stack or new tables")
        for key, items in tables.items():
            live.write(key, items)
        for key, (data, metadata) in files.items():
            live.put_object(key, data, metadata)
    return {"tables": {k: len(v) for k, v in tables.items()}, "files": len(files)}


# ---- deployed stages: DynamoDB's own export and import ------------------------------------------


def pitr_export(
    dynamodb: Any, table_arn: str, bucket: str, prefix: str, timeout: float = 3600
) -> dict[str, Any]:
    """ExportTableToPointInTime of one table into s3://bucket/prefix, waited for; its description."""
    arn = dynamodb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=bucket, S3Prefix=prefix, ExportFormat="DYNAMODB_JSON"
    )["ExportDescription"]["ExportArn"]
    return _wait(
        lambda: dynamodb.describe_export(ExportArn=arn)["ExportDescription"], "ExportStatus", timeout
    )


def import_table(
    dynamodb: Any, key: str, name: str, bucket: str, data_prefix: str, timeout: float = 3600
) -> dict[str, Any]:
    """ImportTable of an export's data files (gzip DynamoDB JSON) into the new table `name` shaped like `key`."""
    from infra.tables import creation_parameters

    arn = dynamodb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": data_prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters=creation_parameters(key, name),
    )["ImportTableDescription"]
    return _wait(
        lambda: dynamodb.describe_import(ImportArn=arn["ImportArn"])["ImportTableDescription"],
        "ImportStatus",
        timeout,
    )


def _wait(describe: Any, status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description = describe()
        if description[status] != "IN_PROGRESS":
            if description[status] != "COMPLETED":
                raise BackupRefused(f"{status} {description[status]}: {description.get('FailureMessage')}")
            return description
        if time.monotonic() > deadline:
            raise BackupRefused(f"still {description[status]} after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="write a backup")
    out.add_argument("--to", required=True, type=Path, help="a new or empty directory")
    back = commands.add_parser("restore", help="restore a backup into an empty store")
    back.add_argument("--from", dest="source", required=True, type=Path, help="a backup directory")
    for command in (out, back):
        where = command.add_mutually_exclusive_group()
        where.add_argument("--data-dir", type=Path, help="a local store directory (the stack stopped)")
        where.add_argument(
            "--endpoint",
            help="a DynamoDB/S3 endpoint (the local stack's port + 1); "
            "default AWS_ENDPOINT_URL or AWS itself",
        )
    pitr = commands.add_parser("pitr-export", help="ExportTableToPointInTime of every table (deployed stage)")
    pitr.add_argument("--bucket", required=True)
    pitr.add_argument("--prefix", required=True)
    params = commands.add_parser(
        "table-parameters", help="aws dynamodb import-table's --table-creation-parameters"
    )
    params.add_argument("table", choices=TABLE_KEYS)
    params.add_argument("--name", required=True, help="the new table's name")
    args = parser.parse_args(argv)
    if args.command == "table-parameters":
        from infra.tables import creation_parameters

        print(json.dumps(creation_parameters(args.table, args.name)))
        return 0
    if args.command == "pitr-export":
        live = Live(None)
        for key, name in live.tables.items():
            arn = live.dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
            done = pitr_export(live.dynamodb, arn, args.bucket, f"{args.prefix}/{key}")
            print(f"{key}: {done['ExportArn']} {done.get('ItemCount')} items")
        return 0
    try:
        if args.command == "export":
            done = export(args.to, data_dir=args.data_dir, endpoint=args.endpoint)
        else:
            done = restore(args.source, data_dir=args.data_dir, endpoint=args.endpoint)
    except (BackupRefused, persistence.StoreRefused) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 2
    print(f"{args.command}: {json.dumps(done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
