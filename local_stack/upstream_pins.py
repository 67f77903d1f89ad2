"""What local_stack relies on inside moto and Chalice beyond their documented APIs, pinned.

DIGESTS: code local_stack replaces, wraps or re-implements, or whose internal state it builds or
moves (sha256 of the source, as written for the pinned version). SIGNATURES: functions it calls
or wraps, by their parameter names in order. `check()` raises UpstreamChanged on any difference,
so an upgrade stops `make run` with the name to re-check instead of misbinding silently.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from importlib.metadata import version
from typing import Any

# The versions pinned in requirements-dev.txt (tests/unit/test_upstream_pins.py keeps them equal).
VERSIONS = {"moto": "5.2.5", "chalice": "1.34.0"}

_T = "moto.dynamodb.models.table."
_R = "moto.dynamodb.responses."
DIGESTS = {
    # replaced or wrapped by local_stack.moto_store
    "moto.dynamodb.models.DynamoDBBackend.transact_write_items": "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4",
    # (update_item: counter updates applied directly; it also reads the update expression's parse)
    "moto.dynamodb.models.DynamoDBBackend.update_item": "218984588dd689a5de81678ce11e6a40d05c91e7b6c21b44c4ed4122fe74aa9f",
    _T + "Table.scan": "5ef1ab21eef06a74d4d142aaf817f31c3147c39fd9aaaa5dd037cb62d64e4af3",
    _T + "Table.query": "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
    _T + "Table.put_item": "de23933013ef842639046c19bcf7e418bce0474d810f6719368be4cedce11d47",
    "moto.dynamodbstreams.models.DynamoDBStreamsBackend.get_records": "db8c6cb04430c08f76be9e6b3cc9317387643b4fee26f43071c5ac22e25d2b64",
    "moto.core.responses.ActionResult.execute_result": "6333faa349b58671258985778d2aaf02d31e0617aae380442e4c683c36ab248d",
    "moto.core.responses.BaseResponse.parse_parameters": "fd3d04c9194814f4f8dd755aa8eedae7155fbef66a1421cb934be8ce8f2c7b59",
    # parsed once per text (moto_store._memo): the parsers, what each handler reads of a parser, and
    # the validator's copy of an update expression's tree before it changes it
    _R
    + "create_condition_expression_parser": "a667986752c086a5a6f0f24c794a591ea68e9b56785a706faa277d09b81161cd",
    "moto.dynamodb.comparisons.ConditionExpressionParser.parse": "5c9b63c5f49ed5d5d644eb0ac7422fb3c2ac4bbd310374f4161686bc4e10c453",
    _R + "UpdateExpressionParser": "4f53df8e573dc135223f96ed3acff6421d94a00621f6173b8130af726a1e6a04",
    "moto.dynamodb.models.UpdateExpressionParser": "4f53df8e573dc135223f96ed3acff6421d94a00621f6173b8130af726a1e6a04",
    "moto.dynamodb.parsing.validators.Validator.__init__": "9489b532dd0fb359e273711c1a67971f1b73af47ddbaa91868e9cc42a26ddbb3",
    _R + "DynamoHandler.put_item": "4c9efb73275195eccc6268d6c3952decc1b240da158661ad59421ccec55a74e0",
    _R + "DynamoHandler.query": "681834c64038af93f0bf17657b7d24065f907f31e2d5cafb67f8cc15bb5e9f96",
    _R + "DynamoHandler.scan": "530223d9fd284f2be3f3ed302ad8eab62f3fbe2cbeecd56a4ce4c7e1f006db05",
    _R + "DynamoHandler.delete_item": "677cb014c5c455d9fa3088aa5213b34b514a9773156f62847f114159b9a75d05",
    _R + "DynamoHandler.update_item": "638893af1afd43d274f3788d61ac13b447729de915c6f5ad3bbf008b92dd8e80",
    _R
    + "DynamoHandler.transact_write_items": "61c163fff213f33a39317a17fda194a9c1e800992421575d2080f4500bf45372",
    # re-implemented: an item's size limit (Item.__init__ above) and a projection of top-level strings
    "moto.dynamodb.models.dynamo_type.LimitedSizeDict.__setitem__": "d979580fdbe14f79f3216564e1385c4b3485db82bc88193326c467a037331e81",
    "moto.dynamodb.models.dynamo_type.Item.project": "f411e6d8b56886f45f401edc20c2fd6d4e671136d9cf7ff21c434479b1e84a79",
    # shadowed on a table for one scan call: the items it walks
    _T + "Table.all_items": "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d",
    # built without their constructors (restore_item; the journal's replayed stream records)
    "moto.dynamodb.models.dynamo_type.Item.__init__": "d9c12b62cb921831aab9b2eb22ac24fbd600689064a0219ae3ffbe057ae4be74",
    _T + "StreamRecord.__init__": "511904c6352cfd9a0dc7eb26ebbff6ad007d734698d7097b194f7f56a85482be",
    # a trimmed stream moves starting_sequence_number: how records and iterators are numbered from it
    _T + "StreamShard.add": "357dc6da267e5dd7d46e18ee25d14b232a98679677906a2f02e4d454d1f11e03",
    _T + "StreamShard.get": "fa7e9a0d7b438c2fbd4bcc8a04fecc79f70862760d1f176d3bc86775967e2d7e",
    "moto.dynamodbstreams.models.ShardIterator.__init__": "5842e50a95242ef84673613918b71c4a2a9c149d4baa10904b0c84034c4c793e",
    # the app's current request and Lambda context made per thread (local_stack.request_scope)
    "chalice.local.LocalChalice": "ad145db52c5cc9090e2b7c2c6fb313217d6ae8ee69629acb65b37c734fd4d4bc",
    "chalice.app.Chalice.__call__": "3b8045cee6274f9ac1006a9aba2913431f5c9497a63f07c5e9b0d24f71ea8093",
}
SIGNATURES = {
    "moto.dynamodb.models.DynamoDBBackend.get_keys_value": ("self", "table", "keys"),
    "moto.dynamodb.models.DynamoDBBackend.get_item": ("self", "table_name", "keys", "projection_expressions"),
    "moto.dynamodb.models.DynamoDBBackend.put_item": (
        "self",
        "table_name",
        "item_attrs",
        "expected",
        "condition_expression",
        "expression_attribute_names",
        "expression_attribute_values",
        "overwrite",
        "return_values_on_condition_check_failure",
    ),
    "moto.dynamodb.models.DynamoDBBackend.delete_item": (
        "self",
        "table_name",
        "key",
        "expression_attribute_names",
        "expression_attribute_values",
        "condition_expression",
        "return_values_on_condition_check_failure",
    ),
    "moto.dynamodb.models.DynamoDBBackend.update_item": (
        "self",
        "table_name",
        "key",
        "update_expression",
        "expression_attribute_names",
        "expression_attribute_values",
        "attribute_updates",
        "expected",
        "condition_expression",
        "return_values_on_condition_check_failure",
    ),
    _T + "Table.delete_item": ("self", "hash_key", "range_key"),
    "moto.dynamodb.comparisons.get_filter_expression": ("expr", "names", "values"),
    "moto.dynamodb.exceptions.TransactionCanceledException.__init__": ("self", "errors"),
    "moto.s3.models.S3Backend.put_object": (
        "self",
        "bucket_name",
        "key_name",
        "value",
        "storage",
        "etag",
        "multipart",
        "encryption",
        "kms_key_id",
        "bucket_key_enabled",
        "lock_mode",
        "lock_legal_status",
        "lock_until",
        "checksum_value",
        "request_method",
        "disable_notification",
    ),
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.__init__": ("self", "create_app"),
    "chalice.local.LocalGateway.__init__": ("self", "app_object", "config"),
    "chalice.local.LocalGateway.handle_request": ("self", "method", "path", "headers", "body"),
    "chalice.local.RouteMatcher.match_route": ("self", "url"),
    "chalice.local.LocalDevServer.__init__": (
        "self",
        "app_object",
        "config",
        "host",
        "port",
        "handler_cls",
        "server_cls",
    ),
}


class UpstreamChanged(RuntimeError):
    """moto or Chalice is not what local_stack was written against: its adaptations could corrupt data."""


def resolve(path: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(path)


def digest(path: str) -> str:
    """sha256 of the source of what `path` names (a replacement's `__wrapped__` original: the upstream one)."""
    return hashlib.sha256(inspect.getsource(resolve(path)).encode()).hexdigest()


def parameters(path: str) -> tuple[str, ...]:
    return tuple(inspect.signature(inspect.unwrap(resolve(path))).parameters)


def differences() -> list[str]:
    """Every way the installed moto and Chalice differ from the pins, as sentences."""
    found = [
        f"{package} {version(package)} is installed; local_stack is pinned to {pinned}"
        for package, pinned in VERSIONS.items()
        if version(package) != pinned
    ]
    found += [
        f"{path} changed (sha256 {digest(path)})"
        for path, pinned in DIGESTS.items()
        if digest(path) != pinned
    ]
    found += [
        f"{path} now takes {parameters(path)}"
        for path, pinned in SIGNATURES.items()
        if parameters(path) != pinned
    ]
    return found


def check() -> None:
    """Raise UpstreamChanged unless moto and Chalice are the pinned versions with the pinned internals."""
    found = differences()
    if found:
        raise UpstreamChanged(
            "local_stack adapts moto and Chalice internals that changed; re-check each use, then move "
            "the pins in local_stack/upstream_pins.py: " + "; ".join(found)
        )
