"""What one request may carry, on both surfaces (README "Request limits").

Every limit here bounds the work a single request can cause before any command runs, so that no
request, however it is built, holds a server thread for more than a few seconds. Legacy clients
stay far below them: PHP itself keeps only 1,000 input variables (max_input_vars) and 64 levels of
nesting (max_input_nesting_level).
"""
from __future__ import annotations

from typing import Any, Iterator

# Bodies parsed in memory (JSON, URL-encoded forms) and multipart bodies, whose file parts
# (Subscribers.Import's ImportFile) werkzeug spools to disk.
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
# A body must arrive within BODY_SECONDS plus one second per MIN_BODY_RATE bytes received: a
# client must keep sending at that rate to keep a server thread (protocol/body_limits.py).
BODY_SECONDS = 10.0
MIN_BODY_RATE = 16 * 1024
# Values in one request: form and query pairs, or every key and array item of a JSON body.
MAX_VALUES = 20_000
# Entries of one list parameter (a comma list or an array); a command may take fewer.
MAX_LIST_ITEMS = 10_000
# Nesting of brackets (`a[b][c]`) and of JSON arrays and objects.
MAX_NESTING = 64


class TooManyValues(ValueError):
    """The request carries more than MAX_VALUES values."""


class TooDeep(ValueError):
    """A JSON body nested deeper than MAX_NESTING levels."""


def check_json(document: Any) -> None:
    """Refuse a decoded JSON body before anything else walks it: TooDeep or TooManyValues (every
    key of an object and every item of an array is a value). Children are counted before they are
    visited, so a refusal costs no more than the document's first MAX_VALUES values."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    values = 0
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        if not children:
            continue
        if depth >= MAX_NESTING:
            raise TooDeep(f"the JSON body is nested deeper than {MAX_NESTING} levels")
        values += len(children)
        if values > MAX_VALUES:
            raise TooManyValues(f"the JSON body holds more than {MAX_VALUES} values")
        stack.extend((child, depth + 1) for child in children)


def walk(document: Any) -> Iterator[tuple[tuple, Any]]:
    """(path, node) for every node of a decoded JSON document, parents first, without recursion.
    Call it on documents check_json accepted: the paths are then short and the nodes few."""
    stack: list[tuple[tuple, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            stack.extend((path + (key,), child) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((path + (index,), child) for index, child in enumerate(node))
