"""The embedded DynamoDB of the local stack: moto, made safe for threads and flat in cost.

moto 5.2.5 serves one backend to every thread without a lock, copies whole tables for
each transaction item, keeps every stream record and every shard iterator for ever, and
never expires TTL items. The local stack serves concurrent clients and a national year of
data on it, so this module:

- serializes every request to the embedded server (`LockedMotoServer`), as DynamoDB
  serializes writes to one item: no request sees another half-applied;
- runs a transaction by checking every condition first and writing only when all hold
  (what DynamoDB does), snapshotting just the items it touches in case a write fails;
- answers a scan page from its start key (moto re-walks every earlier item: a full scan
  costs O(n^2));
- reads and writes the hot calls' plain DynamoDB JSON with json instead of moto's
  shape-walking parser and serializer, and applies counter updates (ADD of numbers) without
  moto's copy and walk of the expression per item;
- trims stream records every reader has passed (`trim_stream`), bounds the shard
  iterators kept, and deletes items whose TTL has passed (`expire`), as DynamoDB does.

Everything moto-internal it relies on is pinned in local_stack/upstream_pins.py: `install`
refuses any other moto, and any change to the functions it replaces or calls.
"""

from __future__ import annotations

import base64
import bisect
import copy
import heapq
import inspect
import json
import re
import sys
import threading
import types
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ItemSizeTooLarge,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local_stack import upstream_pins

# The hot operations, whose requests and results are plain DynamoDB JSON: read with json.loads
# and written with json.dumps instead of moto's shape-walking parser and serializer, which
# cost more than the operations themselves.
PLAIN_JSON = frozenset(
    {
        ("dynamodb", "GetItem"),
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "Query"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "DeleteItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "Scan"),
        ("dynamodbstreams", "GetRecords"),
        ("dynamodbstreams", "GetShardIterator"),
    }
)
MAX_SHARD_ITERATORS = 10_000

STORE_LOCK = threading.RLock()
# Called with the environ under STORE_LOCK once a request's answer is built, before it is sent:
# whatever must see the request's writes whole, and must not wait for the lock later (the journal).
AFTER_REQUEST: list[Callable[[dict[str, Any]], None]] = []
_installed = False
_originals: dict[str, Callable[..., Any]] = {}


def _replacements() -> dict[tuple[type, str], Callable[..., Any]]:
    """moto's function -> what this module runs instead (each calls the original where it can)."""
    return {
        # correctness: DynamoDB's transactions, TTL and bounded stream state
        (DynamoDBBackend, "transact_write_items"): _transact_write_items,
        (Table, "put_item"): _put_item,
        (DynamoDBStreamsBackend, "get_records"): _get_records,
        # speed, measured (README, "moto and Chalice, upstream"): the hot calls' JSON, ~45% of the
        # pipeline's CPU per event; scan pages, a full recount 3x faster at 46k facts; a query walks its
        # partition, not the whole table sorted (an erasure's index queries: ~1 s each on a loaded stack)
        (Table, "scan"): _scan,
        (Table, "query"): _query,
        (ActionResult, "execute_result"): _execute_result,
        (BaseResponse, "parse_parameters"): _parse_parameters,
        # speed, measured (README): moto parsed each condition and update expression of a transaction
        # twice per item, copied every item a transaction touched, re-summed an item's size per
        # attribute and round-tripped projections through JSON: ~35% of the pipeline's CPU
        (dynamodb_responses, "create_condition_expression_parser"): _condition_parser,
        (dynamodb_responses, "UpdateExpressionParser"): _HANDLER_UPDATES,
        (dynamodb_models, "UpdateExpressionParser"): _BACKEND_UPDATES,
        (Item, "__init__"): _item_init,
        (Item, "project"): _project,
        # speed, measured (README): a counter update's validation copied and walked its tree per item
        (DynamoDBBackend, "update_item"): _update_item,
    }


def _name(owner: Any, attr: str) -> str:
    return f"{owner.__name__}.{attr}"


def upstream_path(owner: Any, attr: str) -> str:
    """The dotted path local_stack/upstream_pins.py names a replaced function or class by."""
    prefix = owner.__name__ if isinstance(owner, types.ModuleType) else f"{owner.__module__}.{owner.__name__}"
    return f"{prefix}.{attr}"


def install() -> None:
    """Patch moto in this process (idempotent). Semantics stay DynamoDB's; only cost changes."""
    global _installed
    with STORE_LOCK:
        if _installed:
            return
        upstream_pins.check()
        for (owner, attr), replacement in _replacements().items():
            _originals[_name(owner, attr)] = original = getattr(owner, attr)
            replacement.__wrapped__ = original  # what the pins' digests and signatures read
            setattr(owner, attr, replacement)
        _installed = True


def uninstall() -> None:
    """Give moto its own functions back (tests of the patches compare both)."""
    global _installed
    with STORE_LOCK:
        for (owner, attr), replacement in _replacements().items():
            if _name(owner, attr) in _originals:
                setattr(owner, attr, _originals.pop(_name(owner, attr)))
                del replacement.__wrapped__
        _installed = False


def _bind(name: str, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
    """A call's arguments bound by the signature of moto's `name`: read by name, never by position,
    so a reordered signature raises here (and fails upstream_pins) instead of misbinding."""
    return inspect.signature(_originals[name]).bind(*args, **kwargs)


# ---- transactions ----------------------------------------------------------------------


def _op_key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDB's TransactWriteItems: all conditions are judged first, then all writes land.

    moto's own version writes item by item and, on a failure, puts back deep copies of
    every table taken before (O(table) per item, and it undoes other clients' writes).
    """
    ops = _transaction_ops(self, transact_items)
    errors = [_condition_failure(self, op, key) for _op_type, op, key in ops]
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    undo = _Undo(self)
    for index, (op_type, op, key) in enumerate(ops):
        undo.remember(op["TableName"], key, op_type)
        try:
            _write(self, op_type, op, key)
        except MockValidationException:
            undo.rollback()
            raise
        except Exception as error:  # as moto does: any other failure cancels the transaction
            undo.rollback()
            failed = [(None, None, None)] * len(ops)
            failed[index] = (type(error).__name__, str(error), None)
            raise TransactionCanceledException(failed) from error


def _transaction_ops(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(operation, its parameters, the item key) per transaction item, refused as DynamoDB refuses them."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    ops: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise MockValidationException("Unsupported transaction operation")
        key = _op_key(backend, op_type, op)
        unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        ops.append((op_type, op, key))
    return ops


def _condition_failure(
    backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]
) -> tuple[Any, Any, Any]:
    """The cancellation reason of one transaction item: all None when its condition holds."""
    current = backend.get_item(op["TableName"], key)
    condition = op.get("ConditionExpression")
    if condition is None or _condition(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    ).expr(current):
        return None, None, None
    old = (
        current.to_json()["Attributes"]
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
        else None
    )
    return "ConditionalCheckFailed", "The conditional request failed", old


def _write(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=op.get("ExpressionAttributeNames"),
            expression_attribute_values=op.get("ExpressionAttributeValues"),
        )


# ---- parsing, once per text ------------------------------------------------------------
# A transaction of 100 puts repeats one condition 100 times, and moto parses each twice (the
# handler validates it, the backend judges it) and each update expression twice: parsed trees are
# never changed afterwards (moto's validator works on a deep copy), so one parse per text serves.

MAX_PARSED = 10_000
_parsed: dict[tuple[str, str], Any] = {}


def _slot(kind: str, key: Any) -> tuple[str, str]:
    return kind, json.dumps(key, sort_keys=True)


def _keep(slot: tuple[str, str], parsed: Any) -> Any:
    if len(_parsed) >= MAX_PARSED:
        _parsed.clear()
    _parsed[slot] = parsed
    return parsed


def _memo(kind: str, key: Any, parse: Callable[[], Any]) -> Any:
    """What `parse()` returns, kept per (kind, key); a parse that raises is not kept."""
    slot = _slot(kind, key)
    found = _parsed.get(slot)
    return found if found is not None else _keep(slot, parse())


def _condition(expression: str, names: dict | None, values: dict | None) -> Any:
    """A condition's operator tree, as moto's get_filter_expression builds it."""
    return _memo(
        "filter", [expression, names, values], lambda: get_filter_expression(expression, names, values)
    )


def _condition_parser(expr: str | None, names: dict | None, values: dict | None) -> Any:
    """moto's create_condition_expression_parser for its request handlers: a text parsed before
    answers from its kept parse; a new one parses when the handler asks (where it catches errors)."""
    slot = _slot("condition", [expr, names, values])
    kept = _parsed.get(slot)
    if kept is not None:
        return kept
    return _FirstParse(
        slot, _originals[_name(dynamodb_responses, "create_condition_expression_parser")](expr, names, values)
    )


class _FirstParse:
    """A fresh moto parser whose successful parse is kept for its text."""

    def __init__(self, slot: tuple[str, str], parser: Any):
        self._slot, self._parser = slot, parser

    def parse(self) -> Any:
        tree = self._parser.parse()
        _keep(self._slot, _KeptParse(tree, self._parser))
        return tree

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _KeptParse:
    """What moto's handlers read of a parser that has parsed: its tree, and the names and values it
    found (fresh lists on each read: handlers extend them)."""

    def __init__(self, tree: Any, parser: Any):
        self._tree = tree
        self._names, self._values = list(parser.expr_attr_names_found), list(parser.expr_attr_values_found)

    def parse(self) -> Any:
        return self._tree

    @property
    def expr_attr_names_found(self) -> list[str]:
        return list(self._names)

    @property
    def expr_attr_values_found(self) -> list[str]:
        return list(self._values)


def _update_expression(expression: str) -> Any:
    """moto's UpdateExpressionParser.make, parsed once per text."""
    return _memo("update", expression, lambda: UpdateExpressionParser.make(expression))


# What moto's handler and backend modules call UpdateExpressionParser (they call only `make`).
_HANDLER_UPDATES = types.SimpleNamespace(make=_update_expression)
_BACKEND_UPDATES = types.SimpleNamespace(make=_update_expression)


# ---- counter updates ------------------------------------------------------------------------
# A counter update is `ADD #0.#1 :0, #0.#2 :1, ...` (PynamoDB's spelling): moto validates it by copying
# its tree and walking it per item (~40% of the store's time under 8 clients). Such an update of an
# existing item, numbers added at name paths whose maps exist, is applied here as moto's executor
# would (DynamoType's own addition); anything else, or anything moto would refuse, goes to moto.

_ADD_CLAUSE = re.compile(r"(#\w+(?:\.#\w+)*) (:\w+)")
_ZERO = DynamoType({"N": "0"})


def _added_numbers(
    expression: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> list[tuple[list[str], DynamoType]] | None:
    """(path, number) per clause of an update that only ADDs numbers at name paths, each name and
    value used, no path inside another; None for any other update."""
    if not expression.startswith("ADD ") or not names or not values:
        return None
    clauses, used_names, used_values = [], set(), set()
    for clause in expression[4:].split(", "):
        match = _ADD_CLAUSE.fullmatch(clause)
        value = values.get(match.group(2)) if match else None
        if value is None or list(value) != ["N"] or not isinstance(value["N"], str):
            return None
        placeholders = match.group(1).split(".")
        if not all(p in names for p in placeholders):
            return None
        used_names.update(placeholders)
        used_values.add(match.group(2))
        clauses.append(([names[p] for p in placeholders], DynamoType(value)))
    paths = [tuple(path) for path, _ in clauses]
    overlapping = any(a[: len(b)] == b for a in paths for b in paths if a is not b)
    if overlapping or used_names != set(names) or used_values != set(values):
        return None
    return clauses


def _update_item(
    self: DynamoDBBackend,
    table_name: str,
    key: dict[str, Any],
    update_expression: str,
    expression_attribute_names: dict[str, Any],
    expression_attribute_values: dict[str, Any],
    attribute_updates: dict[str, Any] | None = None,
    expected: dict[str, Any] | None = None,
    condition_expression: str | None = None,
    return_values_on_condition_check_failure: str | None = None,
) -> Item:
    """moto's update_item, counter updates applied directly."""
    if update_expression and not (attribute_updates or expected or condition_expression):
        item = _add_numbers(
            self, table_name, key, update_expression, expression_attribute_names, expression_attribute_values
        )
        if item is not None:
            return item
    return _originals[_name(DynamoDBBackend, "update_item")](
        self,
        table_name,
        key,
        update_expression,
        expression_attribute_names,
        expression_attribute_values,
        attribute_updates,
        expected,
        condition_expression,
        return_values_on_condition_check_failure,
    )


def _add_numbers(
    backend: DynamoDBBackend, table_name: str, key: dict[str, Any], expression: str, names: Any, values: Any
) -> Item | None:
    """The item after an ADD-numbers update applied in place, or None (nothing changed) for moto."""
    clauses = _added_numbers(expression, names, values)
    table = backend.tables.get(table_name) if clauses else None
    # A stream would need the change's record: moto's path writes it. Keys are never added to.
    if table is None or table.stream_shard is not None or set(key) != set(table.table_key_attrs):
        return None
    keys = set(table.attribute_keys)  # the table's and its indexes'
    if any(path[0] in keys for path, _ in clauses):
        return None
    item = table.get_item(*backend.get_keys_value(table, key))
    if item is None or item.size() > MOTO_ITEM_SIZE_LIMIT // 2:  # far below any size limit
        return None
    changes = []
    for path, number in clauses:
        parent: dict[str, DynamoType] = item.attrs
        for name in path[:-1]:
            node = parent.get(name)
            if node is None or node.type != "M":
                return None
            parent = node.value
        current = parent.get(path[-1], _ZERO)
        if current.type != "N":
            return None
        try:
            changes.append((parent, path[-1], current + number))
        except (ValueError, ArithmeticError):  # not a number: moto's refusal
            return None
    for parent, name, total in changes:
        parent[name] = total
    return item


# ---- items --------------------------------------------------------------------------------

MOTO_ITEM_SIZE_LIMIT = 405_000  # LimitedSizeDict's: "between 409 and 410KB" measured by moto


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """moto's Item constructor, its size limit summed once: moto re-sums the whole item for each
    attribute it sets (quadratic). Sizes are never negative, so the sum at the end decides alone."""
    self.hash_key, self.range_key = hash_key, range_key
    values = _stored_attributes(attrs)
    if sum(bytesize(key) + value.size() for key, value in values.items()) > MOTO_ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)  # its constructor sets without the per-attribute walk


SHARED_TEXT = 256  # string values up to this length are shared between items (sys.intern)


def _stored_attributes(attrs: dict[str, Any]) -> dict[str, DynamoType]:
    """An item's attributes as it keeps them, names and short string values shared: every event repeats
    its kind, province, filing id, reader and user agent, and each request's JSON brings its own copies
    (a stored fact: 3.5 -> 2.4 KB traced; interned strings are freed with their last item)."""
    stored = {}
    for name, value in attrs.items():
        kept = stored[sys.intern(name)] = DynamoType(value)
        if kept.type == "S" and len(kept.value) <= SHARED_TEXT:
            kept.value = sys.intern(kept.value)
    return stored


def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    """moto's Item.project; top-level string attributes (keys, most often) copied without its
    round trip through plain JSON, which answers the same for them."""
    if not all(
        len(path) == 1 and "[" not in path[0] and self.attrs.get(path[0], _STRING).type == "S"
        for path in projection_expressions
    ):
        return _originals["Item.project"](self, projection_expressions)
    projected = Item.__new__(Item)
    projected.hash_key, projected.range_key = self.hash_key, self.range_key
    projected.attrs = LimitedSizeDict(
        {
            path[0]: copy.deepcopy(self.attrs[path[0]])
            for path in projection_expressions
            if path[0] in self.attrs
        }
    )
    return projected


_STRING = DynamoType({"S": ""})  # what an absent attribute counts as above: left out, as moto does


class _Undo:
    """Copies of just the items a transaction touches, and the stream length before it."""

    def __init__(self, backend: DynamoDBBackend):
        self.backend = backend
        self.items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self.streams: dict[str, int] = {}

    def remember(self, table_name: str, key: dict[str, Any], op_type: str) -> None:
        table = self.backend.get_table(table_name)
        hash_value, range_value = self.backend.get_keys_value(table, key)
        stored = table.get_item(hash_value, range_value)
        # A put or a delete replaces the stored Item object and leaves it whole: only an update
        # changes it in place, so only an update needs a copy to put back.
        self.items.append(
            (table, hash_value, range_value, copy.deepcopy(stored) if op_type == "Update" else stored)
        )
        if table.stream_shard is not None:
            self.streams.setdefault(table_name, len(table.stream_shard.items))

    def rollback(self) -> None:
        for table, hash_value, range_value, item in reversed(self.items):
            partition = table.items[hash_value] if range_value is not None else table.items
            slot = range_value if range_value is not None else hash_value
            if item is None:
                partition.pop(slot, None)
            else:
                partition[slot] = item
        for table_name, length in self.streams.items():
            del self.backend.get_table(table_name).stream_shard.items[length:]


# ---- reads ------------------------------------------------------------------------------


def _scan(self: Table, *args: Any, **kwargs: Any):
    """A base-table scan page that starts at its start key instead of re-walking every earlier item.

    moto sorts all items with DynamoType comparisons and then compares each one before the
    start key again, on every page: a full scan costs O(n^2). Keys of type S sort as their
    strings do, so the start is found by bisection.
    """
    original = _originals["Table.scan"]
    call = _bind("Table.scan", self, *args, **kwargs)
    string_keys = self.hash_key_type == "S" and (not self.range_key_attr or self.range_key_type == "S")
    if call.arguments.get("index_name") or not string_keys:
        return original(self, *args, **kwargs)

    items = sorted(_unsorted_items(self), key=_key_order)
    start_key = call.arguments["exclusive_start_key"]
    if start_key:
        start = (
            start_key[self.hash_key_attr]["S"],
            start_key[self.range_key_attr]["S"] if self.range_key_attr else "",
        )
        items = items[bisect.bisect_right([_key_order(i) for i in items], start) :]
    call.arguments["exclusive_start_key"] = None
    self.all_items = lambda: items  # what moto's scan walks; shadowed on the instance for this call
    try:
        return original(*call.args, **call.kwargs)
    finally:
        del self.all_items


def _query(self: Table, *args: Any, **kwargs: Any):
    """A query that walks its partition (or, on an index, every item once) instead of all of them sorted.

    moto sorts the whole table with DynamoType comparisons on every query, then keeps the
    partition's items: a query's cost grew with the table. A partition's items sort by their
    range key alone, which moto does next; an index query's items in the table's key order,
    with string keys sorted as their strings.
    """
    original = _originals["Table.query"]
    call = _bind("Table.query", self, *args, **kwargs)
    string_keys = self.hash_key_type == "S" and self.range_key_attr and self.range_key_type == "S"
    if not string_keys:
        return original(self, *args, **kwargs)
    if call.arguments.get("index_name"):
        items = sorted(_unsorted_items(self), key=_key_order)
    else:
        items = list(self.items.get(call.arguments["hash_key"], {}).values())
    self.all_items = lambda: items  # what moto's query walks; shadowed on the instance for this call
    try:
        return original(*call.args, **call.kwargs)
    finally:
        del self.all_items


def _key_order(item: Item) -> tuple[str, str]:
    return item.hash_key.value, item.range_key.value if item.range_key is not None else ""


def _unsorted_items(table: Table) -> list[Item]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


# ---- TTL ----------------------------------------------------------------------------------

_expiries: dict[int, list[tuple[int, int, DynamoType, DynamoType | None]]] = {}
_tick = 0


def _put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
    """moto's put_item, also noting when the item's TTL attribute says it expires."""
    global _tick
    item = _originals["Table.put_item"](self, item_attrs, *args, **kwargs)
    attribute = self.ttl.get("AttributeName") if self.ttl.get("TimeToLiveStatus") == "ENABLED" else None
    if attribute and attribute in item_attrs and "N" in item_attrs[attribute]:
        _tick += 1
        heapq.heappush(
            _expiries.setdefault(id(self), []),
            (int(float(item_attrs[attribute]["N"])), _tick, item.hash_key, item.range_key),
        )
    return item


def restore_item(table: Table, item_attrs: dict[str, Any]) -> Item:
    """Put back an item that was validated when first written (a store loaded from disk): without
    moto's per-attribute size walk, which is quadratic in the attributes, and without a stream record."""
    global _tick
    item = Item.__new__(Item)
    item.hash_key = DynamoType(item_attrs[table.hash_key_attr])
    item.range_key = DynamoType(item_attrs[table.range_key_attr]) if table.range_key_attr else None
    item.attrs = LimitedSizeDict(_stored_attributes(item_attrs))
    if item.range_key is not None:
        table.items[item.hash_key][item.range_key] = item
    else:
        table.items[item.hash_key] = item
    attribute = table.ttl.get("AttributeName") if table.ttl.get("TimeToLiveStatus") == "ENABLED" else None
    if attribute and attribute in item_attrs and "N" in item_attrs[attribute]:
        _tick += 1
        heapq.heappush(
            _expiries.setdefault(id(table), []),
            (int(float(item_attrs[attribute]["N"])), _tick, item.hash_key, item.range_key),
        )
    return item


def table(name: str, region: str) -> Table:
    """The embedded server's table `name` (moto keeps one account for the local stack)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(name)


def expire(table_name: str, region: str, now_epoch: float) -> int:
    """Delete the items whose TTL lies before `now_epoch`, as DynamoDB's TTL does; returns how many."""
    with STORE_LOCK:
        return _expire(table(table_name, region), now_epoch)


def stream_end(table_name: str, region: str) -> int:
    """The sequence number the table's next stream record will get."""
    with STORE_LOCK:
        shard = table(table_name, region).stream_shard
        return shard.starting_sequence_number + len(shard.items) if shard is not None else 0


def stream_start(table_name: str, region: str) -> int:
    """The sequence number of the oldest record the table's stream keeps (or would give next)."""
    with STORE_LOCK:
        shard = table(table_name, region).stream_shard
        return shard.starting_sequence_number if shard is not None else 0


def trim_stream(table_name: str, region: str, before_sequence: int) -> int:
    """Drop the table's stream records before `before_sequence` (every reader has passed them)."""
    with STORE_LOCK:
        shard = table(table_name, region).stream_shard
        return _trim(shard, before_sequence) if shard is not None else 0


def _expire(table: Table, now_epoch: float) -> int:
    heap = _expiries.get(id(table), [])
    attribute = table.ttl.get("AttributeName")
    removed = 0
    while heap and heap[0][0] < now_epoch:
        _, _, hash_key, range_key = heapq.heappop(heap)
        item = table.get_item(hash_key, range_key)
        # A later write may have moved or removed the expiry: judge the stored item.
        stored = item.attrs.get(attribute) if item is not None else None
        if stored is not None and float(stored.value) < now_epoch:
            table.delete_item(hash_key, range_key)
            removed += 1
    return removed


# ---- streams ----------------------------------------------------------------------------


def _trim(shard: StreamShard, before_sequence: int) -> int:
    # The trim horizon moves forward as DynamoDB's does after 24 hours: the sequence
    # numbers of the records kept do not change.
    count = max(0, min(before_sequence - shard.starting_sequence_number, len(shard.items)))
    if count:
        del shard.items[:count]
        shard.starting_sequence_number += count
    return count


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    """moto's get_records, keeping only the newest shard iterators (DynamoDB's expire in 15 minutes)."""
    result = _originals["DynamoDBStreamsBackend.get_records"](self, iterator_arn, limit)
    excess = len(self.shard_iterators) - MAX_SHARD_ITERATORS
    if excess > 0:
        for arn in list(self.shard_iterators)[:excess]:
            del self.shard_iterators[arn]
    return result


# ---- answers ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """What moto's JSON serializer makes of a result: no nulls, epoch seconds, base64 blobs."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def _parse_parameters(self: BaseResponse, request: Any) -> None:
    """moto's parse_parameters, with a plain json.loads for the hot operations' requests."""
    # The JSON protocol names the operation in X-Amz-Target ("DynamoDB_20120810.GetItem").
    action = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
    if (self.boto3_service_name, action) not in PLAIN_JSON:
        return _originals["BaseResponse.parse_parameters"](self, request)
    self.params = json.loads(request.data or b"{}")


def _execute_result(self: ActionResult, context: Any) -> Any:
    """moto's execute_result, with a plain json.dumps for the hot operations' results."""
    operation = (context.service_model.service_name, context.operation_model.name)
    if operation not in PLAIN_JSON or not isinstance(self.result, dict):
        return _originals["ActionResult.execute_result"](self, context)
    # What moto's JSON serializer answers, from botocore's service model.
    model = context.operation_model
    json_version = model.service_model.metadata.get("jsonVersion", "1.0")
    return (
        model.http.get("responseCode", 200),
        {"Content-Type": f"application/x-amz-json-{json_version}"},
        json.dumps(_plain(self.result), separators=(",", ":")),
    )


# ---- the server ---------------------------------------------------------------------------


class _Serialized:
    """WSGI middleware: one request at a time inside moto, its body built under the lock."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with STORE_LOCK:
            body = list(self.app(environ, start_response))
            for hook in AFTER_REQUEST:
                hook(environ)
            return body


class LockedMotoServer:
    """moto's server app, as its ThreadedMotoServer serves it, with every request serialized and the
    store's patches installed."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0):
        self._address = (ip_address, port)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        install()
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(*self._address, app, threaded=True, request_handler=MotoRequestHandler)
        # stop() waits for the next poll (default 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="moto", daemon=True
        )
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
