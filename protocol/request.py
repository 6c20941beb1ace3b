"""Reading /api.php parameters the way PHP's $_REQUEST does."""
from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.datastructures import MultiDict

from protocol.limits import MAX_NESTING, MAX_VALUES, TooDeep, TooManyValues, check_json

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
# MAX_NESTING is PHP's max_input_nesting_level: deeper input is dropped (form) or refused (JSON)
# instead of being walked recursively, which would overflow the stack and answer HTTP 500.
# PHP turns only canonical integer keys into list indexes: "00" stays a string key.
_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")  # canonical PHP integer keys only ("00" stays a string key)


class BadJsonBody(ValueError):
    pass


def parse_parameters(args: MultiDict, form: MultiDict, json_body: bytes | None) -> dict:
    """Query string, then body on top (body wins); names lower-cased at every depth.

    Empty values mean "not supplied" and are dropped. `a[b]=1` and `a[]=x` build nested maps
    and lists; for a repeated key the last value wins. More than MAX_VALUES values raise
    TooManyValues (PHP would silently drop those beyond its max_input_vars).
    """
    if _pairs(args) + (_pairs(form) if form is not None else 0) > MAX_VALUES:
        raise TooManyValues(f"the request carries more than {MAX_VALUES} parameters")
    params = _from_pairs(args.items(multi=True))
    if json_body is not None:
        body = _from_json(json_body)
    else:
        body = _from_pairs(form.items(multi=True))
    params.update(body)
    return _drop_empty(params)


def _from_json(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadJsonBody(str(exc)) from None
    if not isinstance(data, dict):
        raise BadJsonBody("the JSON body must be an object of parameters")
    try:
        check_json(data)
    except TooDeep as exc:
        raise BadJsonBody(str(exc)) from None
    return _lower_keys(data)


def _pairs(values: MultiDict) -> int:
    return sum(len(items) for _key, items in values.lists())


def count_pairs(encoded: bytes) -> int:
    """The pairs of a query string or URL-encoded body, counted on the raw bytes: cheap enough to
    refuse a body of a million pairs before werkzeug spends seconds decoding it."""
    return encoded.count(b"&") + 1 if encoded else 0


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _from_pairs(pairs) -> dict:
    root: dict = {}
    for key, value in pairs:
        _php_assign(root, key, value)
    return _lists_from_indexes(root)


def _php_assign(root: dict, key: str, value: str) -> None:
    first = key.find("[")
    if first <= 0 or not key.endswith("]"):
        root[key.lower()] = value
        return
    path = [key[:first].lower()] + [p.lower() for p in _BRACKETS.findall(key[first:])]
    if len(path) > MAX_NESTING:
        return
    node = root
    for part, nxt in zip(path, path[1:]):
        part = part if part != "" else str(len(node))
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = path[-1] if path[-1] != "" else str(len(node))
    node[last] = value


def _lists_from_indexes(value: Any) -> Any:
    """PHP arrays with keys 0..n-1 become lists; other maps stay maps."""
    if not isinstance(value, dict):
        return value
    converted = {k: _lists_from_indexes(v) for k, v in value.items()}
    if converted and all(_INDEX.fullmatch(k) for k in converted) and \
            sorted(int(k) for k in converted) == list(range(len(converted))):
        return [converted[str(i)] for i in range(len(converted))]
    return converted


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {_no_nul(k): _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if not _is_empty(v)}
    if isinstance(value, list):
        return [v for v in (_drop_empty(v) for v in value) if not _is_empty(v)]
    return _no_nul(value)


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL (binding one fails inside the database), and no legacy
    # value means anything by it: drop it here, once, for every command.
    return value.replace("\x00", "") if isinstance(value, str) else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")
