"""The compiled template: literal text and slots, rendered once per recipient.

This is the per-recipient hot path: keep it free of indirection (no regular expression, no extra
call per part). tag_compiler.py builds the slots; personalize.py is the public face.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable, Collection, Mapping


def _to_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def as_text(v) -> str:
    """A context value as text: strings as they are, None as "", dates in ISO form."""
    return v if v.__class__ is str else _to_text(v)


def slot_meta(part) -> tuple[frozenset, bool]:
    return getattr(part, "keys", frozenset()), getattr(part, "volatile", True)


def slot(fn: Callable, keys: Collection[str], volatile: bool = False) -> Callable:
    """Mark `fn(ctx) -> str` as a template slot reading `keys`; `volatile` ones are never pre-filled."""
    fn.keys, fn.volatile = frozenset(keys), volatile
    return fn


def merge_literals(parts: list) -> list:
    out: list = []
    for p in parts:
        if p.__class__ is str:
            if not p:
                continue
            if out and out[-1].__class__ is str:
                out[-1] += p
                continue
        out.append(p)
    return out


def render_parts(parts: list, ctx) -> str:
    return "".join([p if p.__class__ is str else p(ctx) for p in parts])


class Template:
    """A compiled subject or body: literal text and slots. Render it once per recipient."""

    __slots__ = ("_parts", "unknown_tags", "keys")

    def __init__(self, parts: list, unknown_tags: list[str]):
        self._parts = merge_literals(parts)
        self.unknown_tags = unknown_tags
        self.keys = frozenset().union(*(slot_meta(p)[0] for p in self._parts if p.__class__ is not str))

    def render(self, ctx: Mapping) -> str:
        return "".join([p if p.__class__ is str else p(ctx) for p in self._parts])

    @property
    def parts(self) -> tuple:
        """Literal strings and slots (`slot(ctx) -> str`), in order: for encoders that pre-encode literals."""
        return tuple(self._parts)

    @property
    def is_constant(self) -> bool:
        return all(p.__class__ is str for p in self._parts)

    def bind(self, values: Mapping) -> "Template":
        """A template with every slot that depends only on `values` (campaign constants) filled in."""
        parts = []
        for p in self._parts:
            if p.__class__ is not str:
                keys, volatile = slot_meta(p)
                if not volatile and keys <= values.keys():
                    p = p(values)
            parts.append(p)
        return Template(parts, self.unknown_tags)
