"""What one declared parameter accepts, read off its marshmallow field (never written by hand).

The legacy field types (protocol/params.py and the command modules) keep their rules in attributes:
`max_length`, `min_value`/`max_value`, a Choice's `lookup`, a CommaList's bounds, the codes in
`metadata`. Plain marshmallow validators (OneOf, Range, Length) are read as well, so a field declared
either way is described the same.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable

from marshmallow import fields, missing, validate

from protocol.params import INT32_RANGE, MAX_ID, Choice, Int, Text, _enum_key
from protocol.schedule_params import CommaList

# Handler defaults worth showing: a default of "" / [] / None only means "not given".
_SHOWN_DEFAULT_TYPES = (bool, int, float, str)


def wire_name(attribute: str, field: fields.Field) -> str:
    """The name a client sends: the declared data_key, else the attribute name (matched case-insensitively)."""
    return field.data_key or attribute


def describe_field(attribute: str, field: fields.Field, defaults: dict[str, Any],
                   type_names: dict[type, str]) -> dict:
    """A plain description of one parameter: type, whether required, default, what it accepts, its codes."""
    name = wire_name(attribute, field)
    code = field.metadata.get("code")
    invalid = field.metadata.get("invalid_code", code)
    default = field.load_default if field.load_default is not missing else defaults.get(attribute)
    return {
        "name": name,
        "type": type_names[type(field)],
        "list": _returns_list(type(field)),
        "required": bool(field.required),
        "default": default,
        "accepts": accepted(field),
        "choices": _choices(field),
        "aliases": _aliases(field),
        "codes": {"missing": code, "invalid": invalid} if code is not None or invalid is not None else {},
        "lenient": bool(getattr(field, "lenient", False)),
    }


def type_names(classes: set[type]) -> dict[type, str]:
    """Glossary names of field classes: the class name, qualified by module where two classes share it
    (the EmailText of lists.py and the one of subscriber_params.py check different things)."""
    counts: dict[str, int] = {}
    for cls in classes:
        counts[cls.__name__] = counts.get(cls.__name__, 0) + 1
    return {cls: cls.__name__ if counts[cls.__name__] == 1 else f"{cls.__name__} ({_module(cls)})" for cls in classes}


def _module(cls: type) -> str:
    return cls.__module__.rsplit(".", 1)[-1]


def type_description(cls: type) -> str:
    """The class's own docstring (the glossary text); "" when it has none."""
    doc = cls.__dict__.get("__doc__") or ""
    return " ".join(inspect.cleandoc(doc).split())


def accepted(field: fields.Field) -> str:
    """The field's constraints in a few words ("at most 255 characters", "1 to 100", …)."""
    parts: list[str] = []
    if isinstance(field, Text):
        if field.max_length:
            parts.append(f"at most {field.max_length} characters")
        if not field.strip:
            parts.append("kept as sent (not trimmed)")
    if isinstance(field, Int):
        parts.append(_range_text(field.min_value, field.max_value))
    if isinstance(field, CommaList):
        parts.append(f"comma list of {field.lo} to {field.hi}" + ("; 0 = every" if field.wildcard_zero else ""))
    for validator in field.validators:
        parts.append(_validator_text(validator))
    if getattr(field, "lenient", False):
        parts.append("a value that cannot be read is ignored")
    return "; ".join(p for p in parts if p)


def _range_text(low: int | None, high: int | None) -> str:
    if (low, high) == INT32_RANGE:
        return ""
    if (low, high) == (1, MAX_ID):
        return "a positive ID"
    if high in (None, INT32_RANGE[1], MAX_ID):
        return f"at least {low}"
    if low in (None, INT32_RANGE[0]):
        return f"at most {high}"
    return f"{low} to {high}"


def _validator_text(validator: Callable) -> str:
    if isinstance(validator, validate.Range):
        return _range_text(validator.min, validator.max)
    if isinstance(validator, validate.Length):
        if validator.max is None:
            return f"length at least {validator.min}"
        return f"length {validator.min or 0} to {validator.max}"
    if isinstance(validator, validate.OneOf):
        return "one of the listed values"
    return ""


def _choices(field: fields.Field) -> list[str]:
    if isinstance(field, Choice):
        return sorted(set(field.lookup.values()), key=str.lower)
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return [str(c) for c in validator.choices]
    return []


def _aliases(field: fields.Field) -> dict[str, str]:
    """Other spellings a Choice accepts (as matched: lower case, without spaces, '-' or '_')."""
    if not isinstance(field, Choice):
        return {}
    return {key: value for key, value in sorted(field.lookup.items()) if key != _enum_key(value)}


def _returns_list(cls: type) -> bool:
    """Whether the type reads a list (its _deserialize is annotated as returning one)."""
    annotation = getattr(getattr(cls, "_deserialize", None), "__annotations__", {}).get("return", "")
    return str(annotation).startswith("list")


# --- defaults the handler applies -------------------------------------------------------------------
def handler_defaults(run: Callable) -> dict[str, Any]:
    """Defaults the handler gives absent parameters, read from its own code: `p.get("Name", 25)` and
    `p.get("Name") or 25` with a literal or a module constant. Parameters it does not read that way
    show no default (their absence is described by the engine's behaviour, not by a value)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(run)))
    except (OSError, TypeError, SyntaxError):
        return {}
    function = tree.body[0] if tree.body and isinstance(tree.body[0], ast.FunctionDef) else None
    if function is None or len(function.args.args) < 2:
        return {}
    params_name = function.args.args[1].arg
    found: dict[str, Any] = {}
    for node in ast.walk(function):
        name, fallback = _default_read(node, params_name)
        if name is not None and name not in found:
            value = _constant(fallback, run.__globals__)
            if isinstance(value, _SHOWN_DEFAULT_TYPES) and value != "":
                found[name] = value
    return found


def _default_read(node: ast.AST, params_name: str) -> tuple[str | None, ast.AST | None]:
    if _is_get(node, params_name) and len(node.args) == 2:
        return node.args[0].value, node.args[1]
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2 \
            and _is_get(node.values[0], params_name) and len(node.values[0].args) == 1:
        return node.values[0].args[0].value, node.values[1]
    return None, None


def _is_get(node: ast.AST, params_name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == params_name
            and bool(node.args) and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


def _constant(node: ast.AST | None, module_globals: dict) -> Any:
    if isinstance(node, ast.Name):
        value = module_globals.get(node.id, missing)
        return value if isinstance(value, _SHOWN_DEFAULT_TYPES) else missing
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return missing
