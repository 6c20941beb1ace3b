"""Reading a REST request's inputs: the query values a schema asks for, the JSON body, and the
checks every value passes before a schema sees it (protocol.limits).

Refused before validation, with the modern error bodies:
* a body that is not JSON, not an object, or nested deeper than MAX_NESTING: 400 INVALID_ARGUMENT;
* a body of more than MAX_VALUES keys and items: 413 PAYLOAD_TOO_LARGE;
* a NUL character in any value or key (PostgreSQL cannot store one, and no value means anything
  by it) or a list of more than MAX_LIST_ITEMS entries: 400 INVALID_ARGUMENT, one field violation each.
"""
from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema, fields

from protocol.limits import MAX_LIST_ITEMS, MAX_VALUES, TooDeep, TooManyValues, check_json, walk


class InputRefused(Exception):
    """A request refused before validation: its HTTP status, application code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def query_values(schema: Schema) -> dict:
    """Request arguments for a query schema: list fields take every repeat (`?ids=1&ids=2`)."""
    if sum(len(items) for _key, items in request.args.lists()) > MAX_VALUES:
        raise InputRefused(413, "PAYLOAD_TOO_LARGE", f"The query string carries more than {MAX_VALUES} values")
    values: dict = {}
    for name, fld in schema.fields.items():
        key = fld.data_key or name
        if isinstance(fld, fields.List):
            items = [v for v in request.args.getlist(key) + request.args.getlist(f"{key}[]") if v != ""]
            if items:
                values[key] = items
        elif key in request.args and request.args.get(key) != "":
            values[key] = request.args.get(key)
    return values


def json_body() -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputRefused(400, "INVALID_ARGUMENT", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputRefused(400, "INVALID_ARGUMENT", "The request body must be a JSON object")
    try:
        check_json(data)
    except TooDeep as exc:
        raise InputRefused(400, "INVALID_ARGUMENT", f"The request body is refused: {exc}") from None
    except TooManyValues as exc:
        raise InputRefused(413, "PAYLOAD_TOO_LARGE", f"The request body is refused: {exc}") from None
    return data


def value_violations(**sources: Any) -> list[dict]:
    """Field violations of the values as sent (path, query and body, passed by name)."""
    found = []
    for document in sources.values():
        for path, node in walk(document):
            if isinstance(node, str) and "\x00" in node:
                found.append({"field": _name(path), "description": "must not contain a NUL character"})
            elif isinstance(node, dict):
                found += [{"field": _name(path + (key,)), "description": "must not have a NUL character in its name"}
                          for key in node if "\x00" in str(key)]
            elif isinstance(node, list) and len(node) > MAX_LIST_ITEMS:
                found.append({"field": _name(path), "description": f"must have at most {MAX_LIST_ITEMS} items"})
    return found


def _name(path: tuple) -> str:
    return ".".join(str(part) for part in path)
