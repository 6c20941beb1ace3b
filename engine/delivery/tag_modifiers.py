"""What tags do to values: the `{{ helper … }}` functions, the `[UPPER:…]` modifiers, `[IF]` comparisons.

Several follow the PHP functions Octeth is built on (date, ucwords, number_format, wordwrap), so
templates written for it render the same here.
"""
from __future__ import annotations

import hashlib
import re
import textwrap
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable
from urllib.parse import quote, quote_plus, unquote

from engine.delivery.compiled_template import as_text
from engine.delivery.php_format import php_date
from engine.delivery.tag_names import HTML

_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$")
_HTML_PROTECT = re.compile(r"(<[^<>]*>|&#?[A-Za-z0-9]+;)")


def _ucfirst(s: str) -> str:
    return s[:1].upper() + s[1:]


_WORD_START = re.compile(r"(?:^|(?<=[ \t\r\n\f\v]))(\S)")
_WORD_SPLIT = re.compile(r"[\s_.-]+|(?<=[a-z0-9])(?=[A-Z])")


def _ucwords(s: str) -> str:
    """PHP's ucwords(): the first character after each whitespace upper-cased, the rest unchanged."""
    return _WORD_START.sub(lambda m: m.group(1).upper(), s)


def _words(s: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(s.strip()) if w]


def _number_format(decimals: int) -> Callable[[str], str]:
    def fmt(v):
        s = as_text(v)
        d = Decimal(s.strip()) if _NUMBER.match(s) else Decimal(0)
        d = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return f"{abs(d) if d == 0 else d:,.{decimals}f}"
    return fmt


def date_format(fmt: str) -> Callable:
    def apply(v):
        if isinstance(v, datetime):
            return php_date(fmt, v)
        if isinstance(v, date):
            return php_date(fmt, datetime(v.year, v.month, v.day))
        s = as_text(v).strip()
        try:
            return php_date(fmt, datetime.fromisoformat(s))
        except ValueError:
            return s   # not a date: shown as it is rather than lost
    return apply


def _wordwrap(width: int) -> Callable[[str], str]:
    def wrap(v):
        return "\n".join("\n".join(textwrap.wrap(line, width, break_on_hyphens=False)) or line
                         for line in as_text(v).split("\n"))
    return wrap


def _truncate(n: int, suffix: str) -> Callable[[str], str]:
    return lambda v: as_text(v)[:n] + suffix if len(as_text(v)) > n else as_text(v)


def _truncate_words(n: int) -> Callable[[str], str]:
    def cut(v):
        words = as_text(v).split()
        return " ".join(words[:n]) + "..." if len(words) > n else as_text(v)
    return cut


# name -> (factory(arg) -> function, default arg, (min arg, max arg)); arg None = takes none.
HELPERS = {
    "uppercase": (lambda _: lambda v: as_text(v).upper(), None, None),
    "lowercase": (lambda _: lambda v: as_text(v).lower(), None, None),
    "capitalize": (lambda _: lambda v: _ucfirst(as_text(v)), None, None),
    "capitalizeall": (lambda _: lambda v: _ucwords(as_text(v).lower()), None, None),
    "camelcase": (lambda _: lambda v: "".join(
        w.lower() if i == 0 else _ucfirst(w.lower()) for i, w in enumerate(_words(as_text(v)))), None, None),
    "pascalcase": (lambda _: lambda v: "".join(_ucfirst(w.lower()) for w in _words(as_text(v))), None, None),
    "dashcase": (lambda _: lambda v: "-".join(w.lower() for w in _words(as_text(v))), None, None),
    "dotcase": (lambda _: lambda v: ".".join(w.lower() for w in _words(as_text(v))), None, None),
    "snakecase": (lambda _: lambda v: "_".join(w.lower() for w in _words(as_text(v))), None, None),
    "trim": (lambda _: lambda v: as_text(v).strip(), None, None),
    "trimleft": (lambda _: lambda v: as_text(v).lstrip(), None, None),
    "trimright": (lambda _: lambda v: as_text(v).rstrip(), None, None),
    "ellipsis": (lambda n: _truncate(n, "..."), 20, (1, 10000)),
    "truncate": (lambda n: _truncate(n, ""), 20, (1, 10000)),
    "truncatewords": (_truncate_words, 5, (1, 10000)),
    "urlencode": (lambda _: lambda v: quote_plus(as_text(v), safe=""), None, None),
    "encodeuri": (lambda _: lambda v: quote(as_text(v), safe=""), None, None),
    "decodeuri": (lambda _: lambda v: unquote(as_text(v)), None, None),
    "number_format": (_number_format, 0, (0, 20)),
    "wordwrap": (_wordwrap, 75, (1, 10000)),
    "md5": (lambda _: lambda v: hashlib.md5(as_text(v).encode()).hexdigest(), None, None),
    "sha1": (lambda _: lambda v: hashlib.sha1(as_text(v).encode()).hexdigest(), None, None),
}
HELPER_ALIASES = {"upcase": "uppercase", "downcase": "lowercase", "titleize": "capitalizeall"}
# Their output is already safe inside a URL, so it is not URL-encoded a second time there.
URL_SAFE_HELPERS = frozenset({"urlencode", "encodeuri", "md5", "sha1"})


def apply_modifier(name: str, s: str, mode: str) -> str:
    """`[UPPER:…]`, `[LOWER:…]` or `[TITLE:…]` (by `name`) applied to the rendered text `s`."""
    fn = {"upper": str.upper, "lower": str.lower, "title": _ucwords}[name.lower()]
    if mode != HTML:
        return fn(s)
    # Markup and entities keep their spelling: `&NBSP;` or `<DIV>` would change the document.
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(_HTML_PROTECT.split(s)))


def compare(left: str, op: str | None, right: str) -> bool:
    """An `[IF]` condition: numbers compare as numbers, text case-insensitively; no `op` tests for a value."""
    if op is None:
        return left.strip() != ""
    if op == "<>" and right == "":
        return left.strip() != ""
    if _NUMBER.match(left) and _NUMBER.match(right):
        a, b = Decimal(left.strip()), Decimal(right.strip())
    else:
        a, b = left.casefold(), right.casefold()
    if op == "=":
        return a == b
    if op in ("!=", "<>"):
        return a != b
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
