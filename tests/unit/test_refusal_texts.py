"""Every refusal a caller reads is a catalogue Message: no Problem (core/errors.py and its subclasses
anywhere), generic problem or validator error is built from a plain string or an f-string, so a new
English-only refusal cannot land (README, Languages)."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.core import errors
from chalicelib.core.errors import Problem

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app.py", "chalicelib", "local_stack")
# Operator-only exceptions (core/config.py ConfigError, local_stack/persistence.py StoreRefused) are
# not Problems and stay English: an operator reads them in a log, no caller ever does.
GENERIC = "generic_problem"  # core/problems.py: the body of a status no Problem has
VALIDATORS = {"field_validator", "model_validator", "AfterValidator", "BeforeValidator"}


def _paths() -> list[Path]:
    out = []
    for name in SOURCES:
        path = ROOT / name
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _trees() -> dict[str, ast.Module]:
    return {p.relative_to(ROOT).as_posix(): ast.parse(p.read_text(encoding="utf-8")) for p in _paths()}


def _problem_names(trees: dict[str, ast.Module]) -> set[str]:
    """core/errors.py's Problems and every class deriving from one, by name (to a fixed point)."""
    names = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, Problem)}
    classes = [node for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    while True:
        more = {c.name for c in classes if c.name not in names and {_name(b) for b in c.bases} & names}
        if not more:
            return names
        names |= more


def _name(node: ast.expr) -> str | None:
    """`X` of `X` or `module.X`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _plain(node: ast.expr | None) -> bool:
    """A text that cannot be a Message: a string literal, an f-string, `"..." + x`, `"...".format()`,
    or a conditional with one of those."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _plain(node.left) or _plain(node.right)
    if isinstance(node, ast.IfExp):
        return _plain(node.body) or _plain(node.orelse)
    if isinstance(node, ast.BoolOp):
        return any(_plain(v) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _plain(node.func.value)
    return False


def _detail(call: ast.Call, position: int) -> ast.expr | None:
    keyword = next((k.value for k in call.keywords if k.arg == "detail"), None)
    return keyword or (call.args[position] if len(call.args) > position else None)


def _validator_functions(tree: ast.Module) -> set[str]:
    """Functions a pydantic model validates with: decorated as validators, or wrapped in After/Before."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if _name(target) in VALIDATORS:
                    names.add(node.name)
        elif isinstance(node, ast.Call) and _name(node.func) in VALIDATORS and node.args:
            if isinstance(node.args[0], ast.Name):
                names.add(node.args[0].id)
    return names


def _aliases(tree: ast.Module, problems: set[str]) -> set[str]:
    """Names bound to a Problem class: `refusal = BadRequest if opaque else Invalid`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value
            chosen = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            if all(_name(c) in problems for c in chosen):
                names.add(node.targets[0].id)
    return names


def _plain_refusals(where: str, tree: ast.Module, problems: set[str]) -> list[str]:
    found = []
    validators = _validator_functions(tree)
    problems = problems | _aliases(tree, problems)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            if called in problems and _plain(_detail(node, 0)):
                found.append(f"{where}:{node.lineno} {called}(...) with a plain-text detail")
            elif called == GENERIC and _plain(_detail(node, 1)):
                found.append(f"{where}:{node.lineno} {GENERIC}(...) with a plain-text detail")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "message" and _plain(value):
                    found.append(f'{where}:{node.lineno} an errors entry with a plain-text "message"')
        elif isinstance(node, ast.ClassDef) and node.name in problems:
            for statement in node.body:
                if isinstance(statement, ast.Assign) and _name(statement.targets[0]) == "title":
                    if _plain(statement.value):
                        found.append(f"{where}:{statement.lineno} {node.name} with a plain-text title")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in validators:
            for raised in ast.walk(node):
                if isinstance(raised, ast.Raise) and isinstance(raised.exc, ast.Call):
                    if _name(raised.exc.func) == "ValueError" and _plain(_detail(raised.exc, 0)):
                        found.append(f"{where}:{raised.lineno} a validator's ValueError with plain text")
    return found


def test_no_refusal_is_built_from_plain_english_text():
    trees = _trees()
    problems = _problem_names(trees)
    found = [line for where, tree in trees.items() for line in sorted(_plain_refusals(where, tree, problems))]
    assert not found, (
        'write these as Message("... %(x)s", x=...) and translate them (README, Languages):\n'
        + ("\n".join(found))
    )


def test_app_py_writes_no_message_of_its_own():
    # babel.cfg extracts chalicelib and local_stack only: a Message written in app.py has no translation.
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    written = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == "Message"]
    assert written == [], "declare these texts in chalicelib (core/problems.py) and import them"


def test_the_check_sees_a_plain_refusal_in_each_of_its_shapes():
    source = """
class Busy(Problem):
    title = "Busy"

def view(x):
    raise Conflict(f"Filing {x} is busy")

def other():
    raise errors.NotFound("gone", errors=[{"field": "x", "message": "no such x"}])

def third():
    return generic_problem(403, "no")

class In(Body):
    @field_validator("x")
    @classmethod
    def _check(cls, v):
        raise ValueError("bad " + v)

def chosen(x):
    refusal = BadRequest if x else Invalid
    raise refusal(f"{x} is bad")

def fine(x):
    raise Conflict(Message("Filing %(x)s", x=x), errors=[{"field": "x", "message": Message("busy")}])
"""
    tree = ast.parse(source)
    found = _plain_refusals("probe.py", tree, _problem_names({"probe.py": tree}))
    assert {line.split(" ", 1)[0] for line in found} == {
        "probe.py:3",
        "probe.py:6",
        "probe.py:9",
        "probe.py:12",
        "probe.py:18",
        "probe.py:22",
    }
    assert len(found) == 7
