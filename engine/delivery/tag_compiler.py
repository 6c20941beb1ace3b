"""Parsing a subject or body into literal text and slots, once per campaign (syntax: personalize.py).

Every decision that can be taken here is taken here (escaping, helpers, fallbacks, which key a
tag reads), so a slot does only what varies per recipient.
"""
from __future__ import annotations

import bisect
import html
import re
from typing import Callable, Mapping
from urllib.parse import quote

from engine.delivery.compiled_template import as_text, merge_literals, render_parts, slot, slot_meta
from engine.delivery.html_scan import html_attributes, html_start_tags
from engine.delivery.tag_modifiers import (
    HELPER_ALIASES, HELPERS, URL_SAFE_HELPERS, apply_modifier, compare, date_format,
)
from engine.delivery.tag_names import HTML, MFROM_DOMAIN, NAMESPACES, NOW, TEXT, URL, Ref, TagNames, rng

# Every construct's body excludes the character that opens the next one, so an unclosed construct
# is scanned once, not once per opening: content is user input (a quadratic pattern is a DoS).
_TOKEN = re.compile(r"""
  (?P<marker>\x00(?P<mname>[a-z]+(?::\d+)?)\x00)
| (?P<spin>\[\[(?P<spinbody>[^\[\]]*)\]\])
| (?P<mod>\[(?P<modname>UPPER|LOWER|TITLE):(?P<modbody>[^\[\]]*)\])
| (?P<if>\[IF:(?P<ifexpr>[^\[\]\r\n]*)\])
| (?P<else>\[ELSE\])
| (?P<endif>\[ENDIF\])
| (?P<raw>\{\{\{(?P<rawexpr>[^{}]*)\}\}\})
| (?P<esc>\{\{(?P<escexpr>[^{}]*)\}\})
| (?P<legacy>%(?P<lns>[A-Za-z]+):(?P<lname>[A-Za-z0-9_]+(?::[A-Za-z0-9_]+)*)(?:\|(?P<lfb>[^%\r\n]*))?%)
| (?P<date>%Date=(?P<datefmt>[^%\r\n]+)%)
| (?P<remote>%RemoteContent(?:BeforeSend)?=(?:%[A-Za-z]+:[^%\s]*%|[^%\s])*%)
| (?P<mfrom>%MFROMDomain%)
""", re.X | re.I)
# Every personalisation tag, for code that must carry tags through other tools untouched (inline_css.py).
TAG_PATTERN = _TOKEN
# Linear on purpose: content is user input, and a backtracking pattern here would be a DoS.
_CONDITION = re.compile(r"\s*(?P<left>%[^%]+%|[A-Za-z]+:[A-Za-z0-9_:]+)(?P<rest>.*)", re.S)
_OPERATOR = re.compile(r"\s*(?P<op><>|!=|>=|<=|=|>|<)(?P<right>.*)", re.S)
_SPIN_SPLIT = re.compile(r"\{\{.*?\}\}|%[A-Za-z]+:[^%]*%|\|")
# URL attributes, where a value that continues a URL is URL-encoded rather than HTML-escaped.
_URL_ATTRS = frozenset({"href", "src", "action", "background", "formaction", "poster", "cite"})


class TagCompiler:
    """Parses one text for one mode (HTML, TEXT or URL); `unknown` collects the tags it cannot personalise."""

    def __init__(self, src: str, mode: str, names: TagNames, system_slots: Mapping[str, Callable] | None):
        self.src, self.mode, self.names = src, mode, names
        self.system_slots = system_slots or {}
        self.unknown: list[str] = []
        self.url_spans: list[tuple[int, int]] = []
        if mode == HTML:
            for tag_start, tag_end in html_start_tags(src):
                for name, group, attr in html_attributes(src, tag_start, tag_end):
                    if name in _URL_ATTRS:
                        self.url_spans.append((attr.start(group), attr.end(group)))
            self.url_spans.sort()

    def _report(self, text: str) -> None:
        self.unknown.append(text)

    def _url_position(self, pos: int) -> str | None:
        """"start" or "inside" when `pos` is in a URL attribute value, else None."""
        i = bisect.bisect_right(self.url_spans, (pos, float("inf"))) - 1
        if i >= 0 and self.url_spans[i][0] <= pos < self.url_spans[i][1]:
            return "start" if not self.src[self.url_spans[i][0]:pos].strip() else "inside"
        return None

    # -- slots ---------------------------------------------------------------------------------
    def value_slot(self, ref: Ref, helpers: list, fallback: str | None, raw: bool, pos: int,
                   url_safe: bool = False, nl2br: bool = False) -> Callable:
        key, derive = ref.key, ref.derive
        escape = None
        if self.mode == HTML and not raw:
            where = self._url_position(pos)
            if where == "inside" and not ref.is_link and not url_safe:
                escape = lambda s: quote(s, safe="")  # noqa: E731 - quote's output needs no HTML escaping
            else:
                escape = html.escape
        elif self.mode == URL and not ref.is_link and not url_safe:
            escape = lambda s: quote(s, safe="")  # noqa: E731
        if ref.random is not None:
            gen = ref.random
            return slot(lambda ctx: gen(), (), volatile=True)
        if derive is None and not helpers and fallback is None and not nl2br:
            if escape is None:
                return slot(lambda ctx: as_text(ctx.get(key, "")), (key,))
            return slot(lambda ctx: escape(as_text(ctx.get(key, ""))), (key,))

        def fn(ctx):
            v = ctx.get(key, "")
            if derive is not None:
                v = derive(v)
            if fallback is not None and not as_text(v).strip():
                v = fallback
            for helper in helpers:
                v = helper(v)
            s = as_text(v)
            if escape is not None:
                s = escape(s)
            if nl2br:
                s = s.replace("\r\n", "\n").replace("\n", "<br />\n")
            return s
        return slot(fn, (key,))

    def raw_value(self, ref: Ref) -> Callable:
        """The unescaped text of a tag, for conditions."""
        key, derive = ref.key, ref.derive
        return lambda ctx: as_text(derive(ctx.get(key, "")) if derive else ctx.get(key, ""))

    def modern(self, expr: str, raw: bool, pos: int, text: str) -> Callable | str:
        if self.mode == HTML:
            expr = html.unescape(expr)
        body, bar, fallback = expr.partition("|")
        words = body.split()
        if not words:
            self._report(text)
            return text
        if bar:
            fallback = fallback.strip()
            if len(fallback) >= 2 and fallback[0] == fallback[-1] and fallback[0] in "\"'":
                fallback = fallback[1:-1]
        ref = self.names.parse_target(words[-1])
        helpers, url_safe, nl2br, ok = [], False, False, ref is not None and ref.known
        for word in words[:-1]:
            name, dash, arg = word.partition("-")
            name = HELPER_ALIASES.get(name.lower(), name.lower())
            if name == "raw" and not dash:
                raw = True
            elif name == "nl2br" and not dash:
                nl2br = self.mode == HTML
            elif name == "dateformat" and arg:
                helpers.insert(0, date_format(arg.replace("_", " ")))
            elif name in HELPERS:
                factory, default, bounds = HELPERS[name]
                if bounds is None and dash or bounds and dash and not (
                        arg.isdecimal() and bounds[0] <= int(arg) <= bounds[1]):
                    ok = False
                    continue
                helpers.insert(0, factory(int(arg) if dash else default))
                url_safe |= name in URL_SAFE_HELPERS
            else:
                ok = False
        if not ok:
            self._report(text)
        if ref is None:
            return text
        return self.value_slot(ref, helpers, fallback if bar else None, raw, pos, url_safe, nl2br)

    def condition(self, expr: str, text: str) -> Callable:
        if self.mode == HTML:
            expr = html.unescape(expr)
        m = _CONDITION.fullmatch(expr)
        left, op, right = None, None, ""
        if m:
            left = self.names.parse_target(m.group("left").strip("%"))
            rest = m.group("rest").strip()
            operator = _OPERATOR.fullmatch(rest)
            if operator:
                op, right = operator.group("op"), operator.group("right").strip()
            elif rest:
                left = None   # something after the field that is not a comparison
        if left is None or not left.known:
            self._report(text)
        if left is None:
            return slot(lambda ctx: False, ())
        read = self.raw_value(left)
        if len(right) >= 2 and right[0] == right[-1] and right[0] in "\"'":
            right = right[1:-1]
        if "%" in right or "{{" in right:
            sub = TagCompiler(right, TEXT, self.names.without_links(), None)
            right_parts = sub.parse(0, len(right))
            self.unknown.extend(sub.unknown)
            keys = set().union(*(slot_meta(p)[0] for p in right_parts if p.__class__ is not str))
            return slot(lambda ctx: compare(read(ctx), op, render_parts(right_parts, ctx)), {left.key, *keys})
        return slot(lambda ctx: compare(read(ctx), op, right), {left.key})

    # -- the parser ----------------------------------------------------------------------------
    def parse(self, start: int, end: int) -> list:
        src = self.src
        root: list = []
        current = root
        frames: list[tuple] = []   # (condition, then-parts, else-parts or None, parent, opening text)
        pos = start
        for m in _TOKEN.finditer(src, start, end):
            current.append(src[pos:m.start()])
            pos, text = m.end(), m.group(0)
            if m.group("marker") is not None:
                fn = self.system_slots.get(m.group("mname"))
                if fn is None:
                    raise ValueError(f"no system slot named {m.group('mname')!r}")
                current.append(fn)
            elif m.group("spin") is not None:
                if "|" in m.group("spinbody"):
                    current.append(self.spin(m.start("spinbody"), m.end("spinbody")))
                else:   # `[[x]]` without choices is text, possibly with tags inside
                    current.extend(["[[", *self.parse(m.start("spinbody"), m.end("spinbody")), "]]"])
            elif m.group("mod") is not None:
                body = self.parse(m.start("modbody"), m.end("modbody"))
                current.append(self.modifier(m.group("modname"), body))
            elif m.group("if") is not None:
                frames.append((self.condition(m.group("ifexpr"), text), [], None, current, text))
                current = frames[-1][1]
            elif m.group("else") is not None or m.group("endif") is not None:
                current = self.close_block("else" if m.group("else") else "endif", frames, current, text)
            elif m.group("raw") is not None or m.group("esc") is not None:
                raw = m.group("raw") is not None
                expr = (m.group("rawexpr") if raw else m.group("escexpr")).strip()
                word = expr.split(None, 1)[0].lower() if expr else ""
                if not raw and word == "if":
                    frames.append((self.condition(expr[2:], text), [], None, current, text))
                    current = frames[-1][1]
                elif not raw and expr.lower() in ("else", "endif"):
                    current = self.close_block(expr.lower(), frames, current, text)
                else:
                    current.append(self.modern(expr, raw, m.start(), text))
            elif m.group("legacy") is not None:
                current.append(self.legacy(m, text))
            elif m.group("date") is not None:
                fmt = m.group("datefmt")
                current.append(self.value_slot(Ref(NOW), [date_format(fmt)], None, False, m.start()))
            elif m.group("mfrom") is not None:
                current.append(self.value_slot(Ref(MFROM_DOMAIN), [], None, False, m.start()))
            else:   # RemoteContent: never fetched (see the module docstring)
                self._report(text)
        current.append(src[pos:end])
        while frames:   # an [IF] left open runs to the end of the text
            self._report(frames[-1][4])
            current = self.close_block("endif", frames, current, "")
        return merge_literals(root)

    def close_block(self, word: str, frames: list, current: list, text: str) -> list:
        if not frames or (word == "else" and frames[-1][2] is not None):
            self._report(text)
            current.append(text)
            return current
        cond, then, other, parent, opening = frames[-1]
        if word == "else":
            frames[-1] = (cond, then, [], parent, opening)
            return frames[-1][2]
        frames.pop()
        then, other = merge_literals(then), merge_literals(other or [])
        parts = [p for p in then + other if p.__class__ is not str]
        keys = set(cond.keys).union(*(slot_meta(p)[0] for p in parts))
        volatile = any(slot_meta(p)[1] for p in parts)
        parent.append(slot(lambda ctx: render_parts(then if cond(ctx) else other, ctx), keys, volatile))
        return parent

    def legacy(self, m: re.Match, text: str):
        ref = self.names.resolve(m.group("lns"), m.group("lname"))
        if not ref.known:
            self._report(text)
        if m.group("lns").lower() not in NAMESPACES and m.group("lns").lower() != "random":
            return text   # `%Foo:Bar%` may not be a tag at all: left as written
        fallback = m.group("lfb")
        if fallback is not None and self.mode == HTML:
            fallback = html.unescape(fallback)
        return self.value_slot(ref, [], fallback, False, m.start())

    def modifier(self, name: str, body: list) -> Callable | str:
        mode = self.mode
        if all(p.__class__ is str for p in body):
            return apply_modifier(name, "".join(body), mode)
        parts = [p for p in body if p.__class__ is not str]
        keys = set().union(*(slot_meta(p)[0] for p in parts))
        return slot(lambda ctx: apply_modifier(name, render_parts(body, ctx), mode), keys,
                     any(slot_meta(p)[1] for p in parts))

    def spin(self, start: int, end: int) -> Callable:
        variants, cut = [], start
        # Split on `|` outside `{{ … }}` and `%…%` tags (a fallback has a `|` of its own).
        for m in _SPIN_SPLIT.finditer(self.src, start, end):
            if m.group(0) == "|":
                variants.append(self.parse(cut, m.start()))
                cut = m.end()
        variants.append(self.parse(cut, end))
        parts = [p for v in variants for p in v if p.__class__ is not str]
        keys = set().union(*(slot_meta(p)[0] for p in parts))
        return slot(lambda ctx: render_parts(rng.choice(variants), ctx), keys, volatile=True)
