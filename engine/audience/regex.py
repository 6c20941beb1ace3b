"""`matches regex`: the part of regular-expression syntax that means the same on every backend.

PostgreSQL evaluates `~*` with its own (Spencer/Tcl) engine, MariaDB uses PCRE2, SQLite calls
Python's `re` through a registered function. Their common ground is small, so a pattern is
accepted only when it stays inside it:

* literals, `.`, `^`, `$`, groups `( )`, alternation `|`, bracket classes `[a-z]` / `[^…]`;
* quantifiers `* + ? {m} {m,} {m,n}` (m, n ≤ 100), optionally lazy (`*?`);
* a backslash only before punctuation (`\\.`, `\\(`): no `\\d`, `\\w`, `\\b`, back-references,
  look-arounds, inline flags, POSIX `[:classes:]` or possessive quantifiers;
* at most MAX_PATTERN characters, and no quantified group that itself contains a quantifier
  (`(a+)+`), so a pattern cannot make a backend backtrack for ever.

Matching is case-insensitive and `.` also matches a line break, as PostgreSQL does by default.
One difference is left: before a final line break, `$` matches on MariaDB and SQLite but not on
PostgreSQL.
"""
from __future__ import annotations

import re
import string

from engine.errors import InvalidRules

MAX_PATTERN = 200
MAX_REPEAT = 100
_PUNCTUATION = frozenset(string.punctuation)
_META = frozenset(".^$|?*+()[]{}\\")
_COUNTED = re.compile(r"\{(\d{1,3})(,(\d{0,3}))?\}")


def check_portable_regex(pattern: str, where: str = "matches regex") -> None:
    """Raise InvalidRules unless `pattern` is in the portable subset described above."""
    def fail(why: str):
        raise InvalidRules(f'rule "{where}": {why}')

    if not pattern:
        fail("the pattern is empty")
    if len(pattern) > MAX_PATTERN:
        fail(f"the pattern is longer than {MAX_PATTERN} characters")
    _Scanner(pattern, fail).parse()
    try:
        re.compile(pattern)
    except re.error as exc:  # pragma: no cover - the scanner rejects what Python would
        fail(f"the pattern is not valid ({exc})")


class _Scanner:
    def __init__(self, pattern: str, fail):
        self.p = pattern
        self.i = 0
        self.fail = fail

    def parse(self) -> None:
        self._alternation()
        if self.i < len(self.p):
            self.fail(f"unexpected '{self.p[self.i]}' at position {self.i + 1}")

    def _peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def _alternation(self) -> bool:
        """Parse branches; return whether any of them holds a quantifier."""
        quantified = self._branch()
        while self._peek() == "|":
            self.i += 1
            quantified = self._branch() or quantified
        return quantified

    def _branch(self) -> bool:
        quantified = False
        pieces = 0
        while self._peek() and self._peek() not in "|)":
            quantified = self._piece() or quantified
            pieces += 1
        if pieces == 0:
            self.fail("empty alternatives and empty groups are not allowed")
        return quantified

    def _piece(self) -> bool:
        kind, inner_quantified = self._atom()
        bound = self._quantifier()
        if bound is None:
            return inner_quantified
        if kind == "anchor":
            self.fail("an anchor (^ or $) cannot be repeated")
        if inner_quantified and bound != "optional":
            self.fail("a repeated group may not contain another repetition (e.g. (a+)+)")
        return True

    def _atom(self) -> tuple[str, bool]:
        ch = self._peek()
        if ch == "(":
            self.i += 1
            if self._peek() == "?":
                self.fail("special groups (?…) are not supported")
            quantified = self._alternation()
            if self._peek() != ")":
                self.fail("unbalanced parenthesis")
            self.i += 1
            return "group", quantified
        if ch == "[":
            self._class()
            return "class", False
        if ch in "^$":
            self.i += 1
            return "anchor", False
        if ch == "\\":
            self._escape()
            return "literal", False
        if ch in "*+?{":
            self.fail(f"'{ch}' at position {self.i + 1} has nothing to repeat")
        if ch in "]}":
            self.fail(f"'{ch}' must be escaped")
        self.i += 1  # '.' or a literal character
        return "literal", False

    def _escape(self) -> str:
        nxt = self.p[self.i + 1] if self.i + 1 < len(self.p) else ""
        if nxt not in _PUNCTUATION:
            self.fail("a backslash may only escape punctuation (no \\d, \\w, \\b or back-references)")
        self.i += 2
        return nxt

    def _class(self) -> None:
        self.i += 1  # '['
        if self._peek() == "^":
            self.i += 1
        previous = None
        members = 0
        while True:
            ch = self._peek()
            if not ch:
                self.fail("unterminated character class")
            if ch == "]":
                break
            if ch == "[":
                self.fail("'[' inside a character class must be escaped (no POSIX [:classes:])")
            if ch == "\\":
                char = self._escape()
            else:
                char = ch
                self.i += 1
            if char == "-" and ch == "-" and previous is not None and self._peek() not in ("]", ""):
                upper = self._peek()
                if upper == "\\":
                    upper = self._escape()
                elif upper == "[":
                    self.fail("'[' inside a character class must be escaped (no POSIX [:classes:])")
                else:
                    self.i += 1
                if upper < previous:
                    self.fail(f"the range {previous}-{upper} is reversed")
                previous = None
            else:
                previous = char
            members += 1
        if members == 0:
            self.fail("empty character class")
        self.i += 1  # ']'

    def _quantifier(self) -> str | None:
        ch = self._peek()
        if ch in ("*", "+"):
            self.i += 1
            bound = "many"
        elif ch == "?":
            self.i += 1
            bound = "optional"
        elif ch == "{":
            match = _COUNTED.match(self.p, self.i)
            if not match:
                self.fail("'{' must be escaped unless it starts a count such as {2,5}")
            low = int(match.group(1))
            high = None if match.group(2) and not match.group(3) else int(match.group(3) or low)
            if low > MAX_REPEAT or (high is not None and (high > MAX_REPEAT or high < low)):
                self.fail(f"repetition counts must be ordered and at most {MAX_REPEAT}")
            self.i = match.end()
            bound = "many" if high is None or high > 1 else "optional"
        else:
            return None
        if self._peek() == "?":
            self.i += 1  # lazy: the same yes/no answer everywhere
        if self._peek() in ("*", "+", "?", "{"):
            self.fail("a quantifier cannot follow another quantifier")
        return bound
