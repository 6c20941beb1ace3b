"""`matches regex`: the part of regular-expression syntax that means the same on every backend.

PostgreSQL evaluates `~*` with its own (Spencer/Tcl) engine, MariaDB uses PCRE2, SQLite calls
Python's `re` through a registered function. Their common ground is small, so a pattern is
accepted only when it stays inside it:

* literals, `.`, `^`, `$`, groups `( )`, alternation `|`, bracket classes `[a-z]` / `[^…]`;
* quantifiers `* + ? {m} {m,} {m,n}` (m, n ≤ 100), optionally lazy (`*?`);
* a backslash only before punctuation (`\\.`, `\\(`): no `\\d`, `\\w`, `\\b`, back-references,
  look-arounds, inline flags, POSIX `[:classes:]` or possessive quantifiers;
* at most MAX_PATTERN characters, and no quantified group that itself contains a quantifier
  (`(a+)+`), so a pattern cannot make a backend backtrack for ever;
* a static cost of at most MAX_COST: the pattern's length once counted repetitions are written out
  (`x{3}` costs 3, `(ab){2,5}` 10, `a*` 1). The backends build one matcher state per written-out
  position, so `.{100}` written 32 times (cost 3200) takes PostgreSQL seconds per long value,
  while every pattern under the limit stays cheap per row. The audience statement time limit
  (engine/audience/time_limit.py) bounds what is left: many rows times a cheap pattern.

Matching is case-insensitive and `.` also matches a line break, as PostgreSQL does by default.
SQLite matches with RE2 (engine/audience/sqlfuncs.py), which never backtracks. One difference is
left: before a final line break, `$` matches on MariaDB but not on PostgreSQL and SQLite.
"""
from __future__ import annotations

import re
import string

from engine.errors import InvalidRules

MAX_PATTERN = 200
MAX_REPEAT = 100
MAX_COST = 300
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
    cost = _Scanner(pattern, fail).parse()
    if cost > MAX_COST:
        fail(f"the pattern is too expensive: written out its repetitions come to {cost} positions, "
             f"at most {MAX_COST} are allowed (use fewer or smaller counts such as {{2,5}})")
    try:
        re.compile(pattern)
    except re.error as exc:  # pragma: no cover - the scanner rejects what Python would
        fail(f"the pattern is not valid ({exc})")


class _Scanner:
    def __init__(self, pattern: str, fail):
        self.p = pattern
        self.i = 0
        self.fail = fail

    def parse(self) -> int:
        """Check the whole pattern; returns its cost (see the module docstring)."""
        cost, _ = self._alternation()
        if self.i < len(self.p):
            self.fail(f"unexpected '{self.p[self.i]}' at position {self.i + 1}")
        return cost

    def _peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    # Each parse step returns (cost, whether it holds a quantifier).
    def _alternation(self) -> tuple[int, bool]:
        cost, quantified = self._branch()
        while self._peek() == "|":
            self.i += 1
            more, inner = self._branch()
            cost, quantified = cost + more, quantified or inner
        return cost, quantified

    def _branch(self) -> tuple[int, bool]:
        cost, quantified, pieces = 0, False, 0
        while self._peek() and self._peek() not in "|)":
            more, inner = self._piece()
            cost, quantified, pieces = cost + more, quantified or inner, pieces + 1
        if pieces == 0:
            self.fail("empty alternatives and empty groups are not allowed")
        return cost, quantified

    def _piece(self) -> tuple[int, bool]:
        kind, cost, inner_quantified = self._atom()
        quantifier = self._quantifier()
        if quantifier is None:
            return cost, inner_quantified
        bound, copies = quantifier
        if kind == "anchor":
            self.fail("an anchor (^ or $) cannot be repeated")
        if inner_quantified and bound != "optional":
            self.fail("a repeated group may not contain another repetition (e.g. (a+)+)")
        return cost * copies, True

    def _atom(self) -> tuple[str, int, bool]:
        ch = self._peek()
        if ch == "(":
            self.i += 1
            if self._peek() == "?":
                self.fail("special groups (?…) are not supported")
            cost, quantified = self._alternation()
            if self._peek() != ")":
                self.fail("unbalanced parenthesis")
            self.i += 1
            return "group", cost, quantified
        if ch == "[":
            self._class()
            return "class", 1, False
        if ch in "^$":
            self.i += 1
            return "anchor", 1, False
        if ch == "\\":
            self._escape()
            return "literal", 1, False
        if ch in "*+?{":
            self.fail(f"'{ch}' at position {self.i + 1} has nothing to repeat")
        if ch in "]}":
            self.fail(f"'{ch}' must be escaped")
        self.i += 1  # '.' or a literal character
        return "literal", 1, False

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

    def _quantifier(self) -> tuple[str, int] | None:
        """(bound, copies): "optional" or "many", and how many times the atom is written out."""
        ch = self._peek()
        if ch in ("*", "+"):
            self.i += 1
            bound, copies = "many", 1
        elif ch == "?":
            self.i += 1
            bound, copies = "optional", 1
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
            # {m,} is m copies and a star; {m,n} is n copies (engines unroll counts this way).
            copies = max(1, low + 1 if high is None else high)
        else:
            return None
        if self._peek() == "?":
            self.i += 1  # lazy: the same yes/no answer everywhere
        if self._peek() in ("*", "+", "?", "{"):
            self.fail("a quantifier cannot follow another quantifier")
        return bound, copies
