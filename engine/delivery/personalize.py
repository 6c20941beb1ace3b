"""Personalisation: the legacy `%…%` tags and the `{{ … }}` tags, compiled once per campaign.

`compile_template()` parses a subject or body once into literal segments and slots (small
functions of the recipient's context). `Template.render(ctx)` per recipient is then a list
comprehension and a join: no regular expression runs per recipient.

The context is a flat mapping of canonical keys to values: `Subscriber:EmailAddress`,
`Subscriber:CustomField12`, `User:CompanyName`, `List:Name`, `Campaign:CampaignID`,
`Link:Unsubscribe`, `MFROMDomain` and `Now` (an aware datetime in the sender's time zone).
Values are strings, or ints/dates/datetimes that are turned into text.

Syntax (protocol.md §7.3; `v5.9.4/using-octeth/email-personalization.md`):
* `%Subscriber:EmailAddress%`, `%Subscriber:CustomField12%`, `%Subscriber:<MergeTagAlias>%`,
  `%User:…%`, `%List:…%`, `%Campaign:…%`, `%Link:Unsubscribe%` … , `%Date=F j, Y%` (PHP date
  format), `%Random:Letters:6%`, `%MFROMDomain%`.
* `{{ Subscriber:FirstName }}` (escaped), `{{{ … }}}` (raw), helpers (`{{ uppercase Subscriber:City }}`,
  `{{ dateFormat-F_j,_Y Now }}`), fallbacks `{{ Subscriber:FirstName|"there" }}`.
* `[IF:%Subscriber:Country%=US] … [ELSE] … [ENDIF]` and `{{ if Subscriber:Country=US }} … {{ else }}
  … {{ endif }}`; `[UPPER:…]`, `[LOWER:…]`, `[TITLE:…]`; spinning `[[Hi|Hello]]`.

Sendmill's choices where the documentation is silent: the legacy form takes a fallback too
(`%Subscriber:FirstName|there%`), and a modern fallback may be unquoted. Text comparisons in
conditions are case-insensitive, as in audience criteria (protocol.md Part 1 item 16).
Not supported (reported by `find_unknown_tags`): `%RemoteContent…=URL%` (a fetch per recipient
from user-supplied URLs is an SSRF and throughput hazard), `%Random:FirstName%`/`LastName`, and
the `Forward`, `ReportAbuse`, `SocialShare`, `SubscriberArea`, `Suppression` links.

Escaping: in HTML, values are HTML-escaped; inside a URL attribute (`href`, `src` …) a value that
is not at the start of the URL is URL-encoded instead (so `?email=%Subscriber:EmailAddress%`
works); `{{{ }}}` and `raw` insert as-is. Plain text and headers get values unchanged.
"""
from __future__ import annotations

import bisect
import calendar
import hashlib
import html
import random
import re
import string
import textwrap
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Collection, Mapping
from urllib.parse import quote, quote_plus, unquote

HTML, TEXT, URL = "html", "text", "url"

SUBSCRIBER_ID = "Subscriber:SubscriberID"
EMAIL_ADDRESS = "Subscriber:EmailAddress"
CUSTOM_FIELD_PREFIX = "Subscriber:CustomField"     # + the field id: the context key of a custom field
NOW = "Now"
MFROM_DOMAIN = "MFROMDomain"

SUBSCRIBER_FIELDS = ("SubscriberID", "EmailAddress", "ListID", "SubscriptionStatus", "BounceType",
                     "SubscriptionDate", "SubscriptionIP", "OptInDate", "UnsubscriptionDate")
USER_FIELDS = ("UserID", "FirstName", "LastName", "EmailAddress", "CompanyName", "Website", "Street",
               "City", "State", "Zip", "Country", "Phone", "Fax", "TimeZone")
LIST_FIELDS = ("ListID", "Name", "SenderName", "SenderEmailAddress", "SenderAddress", "SenderCompany")
CAMPAIGN_FIELDS = ("CampaignID", "Name")
LINKS = ("Unsubscribe", "WebBrowser", "Confirm", "Reject")


def _md5(v) -> str:
    return hashlib.md5(_text(v).encode()).hexdigest() if _text(v) else ""


# Tags computed from another key: name -> (source key, function).
_DERIVED = {
    "Subscriber:HashedSubscriberID": (SUBSCRIBER_ID, _md5),
    "Subscriber:Status": ("Subscriber:SubscriptionStatus", None),
    "Campaign:HashedCampaignID": ("Campaign:CampaignID", _md5),
}
_NAMESPACES = {ns.lower(): (ns, {f.lower(): f for f in fields}) for ns, fields in (
    ("Subscriber", SUBSCRIBER_FIELDS + ("HashedSubscriberID", "Status")), ("User", USER_FIELDS),
    ("List", LIST_FIELDS), ("Campaign", CAMPAIGN_FIELDS + ("HashedCampaignID",)), ("Link", LINKS),
)}
_CUSTOM_FIELD = re.compile(r"^customfield(\d{1,18})$", re.I)
_RANDOM = re.compile(r"^(letters|numbers|alpha):(\d{1,3})$", re.I)
_RANDOM_ALPHABETS = {"letters": string.ascii_uppercase, "numbers": string.digits,
                     "alpha": string.ascii_letters + string.digits}
_rng = random.SystemRandom()

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
# Linear on purpose: content is user input, and a backtracking pattern here would be a DoS.
_CONDITION = re.compile(r"\s*(?P<left>%[^%]+%|[A-Za-z]+:[A-Za-z0-9_:]+)(?P<rest>.*)", re.S)
_OPERATOR = re.compile(r"\s*(?P<op><>|!=|>=|<=|=|>|<)(?P<right>.*)", re.S)
_TARGET_NS = re.compile(r"[A-Za-z]+")
_TARGET_NAME = re.compile(r"[A-Za-z0-9_]+(?::[A-Za-z0-9_]+)*")
_SPIN_SPLIT = re.compile(r"\{\{.*?\}\}|%[A-Za-z]+:[^%]*%|\|")
_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$")
# URL attributes, where a value that continues a URL is URL-encoded rather than HTML-escaped.
_URL_ATTRS = frozenset({"href", "src", "action", "background", "formaction", "poster", "cite"})
_TAG_RUN = re.compile(r"[^>\"']*")
# An attribute name starts only after a separator (the lookbehind), so no name run is rescanned.
_HTML_ATTR = re.compile(r"""(?<![^\s"'>/=])([^\s"'>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_HTML_PROTECT = re.compile(r"(<[^<>]*>|&#?[A-Za-z0-9]+;)")


def html_start_tags(src: str):
    """(start, end) of every start tag `<name …>`, quoted `>` respected.

    One linear pass: content is user input, and the obvious regular expression for a tag is
    quadratic on text like `<a <a <a …`. A quote that never closes ends the scan, as it hides
    the rest of the document from a browser too.
    """
    pos, n = 0, len(src)
    while (lt := src.find("<", pos)) >= 0:
        if not src[lt + 1:lt + 2].isalpha():
            pos = lt + 1
            continue
        i = lt + 1
        while True:
            i = _TAG_RUN.match(src, i).end()
            if i >= n:
                return
            if src[i] == ">":
                break
            close = src.find(src[i], i + 1)
            if close < 0:
                return
            i = close + 1
        yield lt, i + 1
        pos = i + 1


def html_attributes(src: str, start: int, end: int):
    """(lower-case name, value group index, match) of each `name=value` in the tag at src[start:end]."""
    for attr in _HTML_ATTR.finditer(src, start, end - 1):
        yield attr.group(1).lower(), next(g for g in (2, 3, 4) if attr.group(g) is not None), attr


# --- PHP date formats (the legacy `%Date=F j, Y%` and `dateFormat-…` use them) ------------------------
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _offset(d: datetime, sep: str) -> str:
    seconds = int((d.utcoffset() or timedelta(0)).total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600:02d}{sep}{seconds % 3600 // 60:02d}"


def _ordinal_suffix(day: int) -> str:
    return "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


_PHP_DATE: dict[str, Callable[[datetime], str]] = {
    "d": lambda d: f"{d.day:02d}", "D": lambda d: _DAYS[d.weekday()][:3], "j": lambda d: str(d.day),
    "l": lambda d: _DAYS[d.weekday()], "N": lambda d: str(d.isoweekday()),
    "S": lambda d: _ordinal_suffix(d.day), "w": lambda d: str(d.isoweekday() % 7),
    "z": lambda d: str(d.timetuple().tm_yday - 1), "W": lambda d: f"{d.isocalendar()[1]:02d}",
    "F": lambda d: _MONTHS[d.month - 1], "m": lambda d: f"{d.month:02d}", "M": lambda d: _MONTHS[d.month - 1][:3],
    "n": lambda d: str(d.month), "t": lambda d: str(calendar.monthrange(d.year, d.month)[1]),
    "L": lambda d: "1" if calendar.isleap(d.year) else "0", "o": lambda d: str(d.isocalendar()[0]),
    "Y": lambda d: f"{d.year:04d}", "y": lambda d: f"{d.year % 100:02d}",
    "a": lambda d: "am" if d.hour < 12 else "pm", "A": lambda d: "AM" if d.hour < 12 else "PM",
    "g": lambda d: str(d.hour % 12 or 12), "G": lambda d: str(d.hour), "h": lambda d: f"{d.hour % 12 or 12:02d}",
    "H": lambda d: f"{d.hour:02d}", "i": lambda d: f"{d.minute:02d}", "s": lambda d: f"{d.second:02d}",
    "u": lambda d: f"{d.microsecond:06d}", "v": lambda d: f"{d.microsecond // 1000:03d}",
    "e": lambda d: getattr(d.tzinfo, "key", None) or d.tzname() or "UTC", "T": lambda d: d.tzname() or "UTC",
    "I": lambda d: "1" if d.dst() else "0", "O": lambda d: _offset(d, ""), "P": lambda d: _offset(d, ":"),
    "p": lambda d: "Z" if not d.utcoffset() else _offset(d, ":"),
    "Z": lambda d: str(int((d.utcoffset() or timedelta(0)).total_seconds())),
    "c": lambda d: php_date("Y-m-d\\TH:i:sP", d), "r": lambda d: php_date("D, d M Y H:i:s O", d),
    "U": lambda d: str(int((d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp())),
}


def php_date(fmt: str, d: datetime) -> str:
    """`d` formatted like PHP's date(): English names, a backslash escapes the next character."""
    out, i = [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "\\" and i + 1 < len(fmt):
            out.append(fmt[i + 1])
            i += 2
            continue
        f = _PHP_DATE.get(c)
        out.append(f(d) if f else c)
        i += 1
    return "".join(out)


# --- values ----------------------------------------------------------------------------------------
def _to_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _text(v) -> str:
    return v if v.__class__ is str else _to_text(v)


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
        s = _text(v)
        d = Decimal(s.strip()) if _NUMBER.match(s) else Decimal(0)
        d = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return f"{abs(d) if d == 0 else d:,.{decimals}f}"
    return fmt


def _date_format(fmt: str) -> Callable:
    def apply(v):
        if isinstance(v, datetime):
            return php_date(fmt, v)
        if isinstance(v, date):
            return php_date(fmt, datetime(v.year, v.month, v.day))
        s = _text(v).strip()
        try:
            return php_date(fmt, datetime.fromisoformat(s))
        except ValueError:
            return s   # not a date: shown as it is rather than lost
    return apply


def _wordwrap(width: int) -> Callable[[str], str]:
    def wrap(v):
        return "\n".join("\n".join(textwrap.wrap(line, width, break_on_hyphens=False)) or line
                         for line in _text(v).split("\n"))
    return wrap


def _truncate(n: int, suffix: str) -> Callable[[str], str]:
    return lambda v: _text(v)[:n] + suffix if len(_text(v)) > n else _text(v)


def _truncate_words(n: int) -> Callable[[str], str]:
    def cut(v):
        words = _text(v).split()
        return " ".join(words[:n]) + "..." if len(words) > n else _text(v)
    return cut


# name -> (factory(arg) -> function, default arg, (min arg, max arg)); arg None = takes none.
_HELPERS = {
    "uppercase": (lambda _: lambda v: _text(v).upper(), None, None),
    "lowercase": (lambda _: lambda v: _text(v).lower(), None, None),
    "capitalize": (lambda _: lambda v: _ucfirst(_text(v)), None, None),
    "capitalizeall": (lambda _: lambda v: _ucwords(_text(v).lower()), None, None),
    "camelcase": (lambda _: lambda v: "".join(
        w.lower() if i == 0 else _ucfirst(w.lower()) for i, w in enumerate(_words(_text(v)))), None, None),
    "pascalcase": (lambda _: lambda v: "".join(_ucfirst(w.lower()) for w in _words(_text(v))), None, None),
    "dashcase": (lambda _: lambda v: "-".join(w.lower() for w in _words(_text(v))), None, None),
    "dotcase": (lambda _: lambda v: ".".join(w.lower() for w in _words(_text(v))), None, None),
    "snakecase": (lambda _: lambda v: "_".join(w.lower() for w in _words(_text(v))), None, None),
    "trim": (lambda _: lambda v: _text(v).strip(), None, None),
    "trimleft": (lambda _: lambda v: _text(v).lstrip(), None, None),
    "trimright": (lambda _: lambda v: _text(v).rstrip(), None, None),
    "ellipsis": (lambda n: _truncate(n, "..."), 20, (1, 10000)),
    "truncate": (lambda n: _truncate(n, ""), 20, (1, 10000)),
    "truncatewords": (_truncate_words, 5, (1, 10000)),
    "urlencode": (lambda _: lambda v: quote_plus(_text(v), safe=""), None, None),
    "encodeuri": (lambda _: lambda v: quote(_text(v), safe=""), None, None),
    "decodeuri": (lambda _: lambda v: unquote(_text(v)), None, None),
    "number_format": (_number_format, 0, (0, 20)),
    "wordwrap": (_wordwrap, 75, (1, 10000)),
    "md5": (lambda _: lambda v: hashlib.md5(_text(v).encode()).hexdigest(), None, None),
    "sha1": (lambda _: lambda v: hashlib.sha1(_text(v).encode()).hexdigest(), None, None),
}
_HELPER_ALIASES = {"upcase": "uppercase", "downcase": "lowercase", "titleize": "capitalizeall"}
_URL_SAFE_HELPERS = frozenset({"urlencode", "encodeuri", "md5", "sha1"})


def _apply_modifier(name: str, s: str, mode: str) -> str:
    fn = {"upper": str.upper, "lower": str.lower, "title": _ucwords}[name.lower()]
    if mode != HTML:
        return fn(s)
    # Markup and entities keep their spelling: `&NBSP;` or `<DIV>` would change the document.
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(_HTML_PROTECT.split(s)))


def _compare(left: str, op: str | None, right: str) -> bool:
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


# --- the compiled template ------------------------------------------------------------------------
def _meta(part) -> tuple[frozenset, bool]:
    return getattr(part, "keys", frozenset()), getattr(part, "volatile", True)


def slot(fn: Callable, keys: Collection[str], volatile: bool = False) -> Callable:
    """Mark `fn(ctx) -> str` as a template slot reading `keys`; `volatile` ones are never pre-filled."""
    fn.keys, fn.volatile = frozenset(keys), volatile
    return fn


def _merge(parts: list) -> list:
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


def _join(parts: list, ctx) -> str:
    return "".join([p if p.__class__ is str else p(ctx) for p in parts])


class Template:
    """A compiled subject or body: literal text and slots. Render it once per recipient."""

    __slots__ = ("_parts", "unknown_tags", "keys")

    def __init__(self, parts: list, unknown_tags: list[str]):
        self._parts = _merge(parts)
        self.unknown_tags = unknown_tags
        self.keys = frozenset().union(*(_meta(p)[0] for p in self._parts if p.__class__ is not str))

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
                keys, volatile = _meta(p)
                if not volatile and keys <= values.keys():
                    p = p(values)
            parts.append(p)
        return Template(parts, self.unknown_tags)


# --- compiling --------------------------------------------------------------------------------------
class _Ref:
    """What a tag names: a context key, and how to read it."""

    __slots__ = ("key", "derive", "is_link", "known", "random")

    def __init__(self, key, derive=None, is_link=False, known=True, random=None):
        self.key, self.derive, self.is_link, self.known, self.random = key, derive, is_link, known, random


class _Compiler:
    def __init__(self, src: str, mode: str, aliases: Mapping[str, int] | None,
                 custom_field_ids: Collection[int] | None, links: Collection[str],
                 system_slots: Mapping[str, Callable] | None):
        self.src, self.mode = src, mode
        self.aliases = {str(k).lower(): f"CustomField{int(v)}" for k, v in (aliases or {}).items()}
        self.custom_ids = None if custom_field_ids is None else {int(i) for i in custom_field_ids}
        self.links = {name.lower() for name in links}
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

    # -- names -------------------------------------------------------------------------------
    def resolve(self, namespace: str, name: str) -> _Ref:
        ns = _NAMESPACES.get(namespace.lower())
        if namespace.lower() == "random":
            m = _RANDOM.match(name)
            if m and 1 <= int(m.group(2)) <= 256:
                alphabet, n = _RANDOM_ALPHABETS[m.group(1).lower()], int(m.group(2))
                return _Ref(f"Random:{name}", random=lambda: "".join(_rng.choices(alphabet, k=n)))
            return _Ref(f"Random:{name}", known=False)
        if ns is None:
            return _Ref(f"{namespace}:{name}", known=False)
        canonical_ns, fields = ns
        field = fields.get(name.lower())
        if canonical_ns == "Link":
            if field is None or name.lower() not in self.links:
                # Never filled, even when the context has it: a link tag is not allowed here.
                return _Ref(f"!Link:{name}", is_link=True, known=False)
            return _Ref(f"Link:{field}", is_link=True)
        if canonical_ns == "Subscriber" and field is None:
            m = _CUSTOM_FIELD.match(name)
            field = f"CustomField{int(m.group(1))}" if m else self.aliases.get(name.lower())
            if field is None:
                return _Ref(f"Subscriber:{name}", known=False)
            known = self.custom_ids is None or int(field[11:]) in self.custom_ids
            return _Ref(f"Subscriber:{field}", known=known)
        if field is None:
            return _Ref(f"{canonical_ns}:{name}", known=False)
        key = f"{canonical_ns}:{field}"
        if key in _DERIVED:
            source, fn = _DERIVED[key]
            return _Ref(source, derive=fn)
        return _Ref(key)

    def parse_target(self, target: str) -> _Ref | None:
        if target.lower() == "now":
            return _Ref(NOW)
        if target.lower() == "mfromdomain":
            return _Ref(MFROM_DOMAIN)
        namespace, colon, name = target.partition(":")
        if not colon or not _TARGET_NS.fullmatch(namespace) or not _TARGET_NAME.fullmatch(name):
            return None
        return self.resolve(namespace, name)

    # -- slots ---------------------------------------------------------------------------------
    def value_slot(self, ref: _Ref, helpers: list, fallback: str | None, raw: bool, pos: int,
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
                return slot(lambda ctx: _text(ctx.get(key, "")), (key,))
            return slot(lambda ctx: escape(_text(ctx.get(key, ""))), (key,))

        def fn(ctx):
            v = ctx.get(key, "")
            if derive is not None:
                v = derive(v)
            if fallback is not None and not _text(v).strip():
                v = fallback
            for helper in helpers:
                v = helper(v)
            s = _text(v)
            if escape is not None:
                s = escape(s)
            if nl2br:
                s = s.replace("\r\n", "\n").replace("\n", "<br />\n")
            return s
        return slot(fn, (key,))

    def raw_value(self, ref: _Ref) -> Callable:
        """The unescaped text of a tag, for conditions."""
        key, derive = ref.key, ref.derive
        return lambda ctx: _text(derive(ctx.get(key, "")) if derive else ctx.get(key, ""))

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
        ref = self.parse_target(words[-1])
        helpers, url_safe, nl2br, ok = [], False, False, ref is not None and ref.known
        for word in words[:-1]:
            name, dash, arg = word.partition("-")
            name = _HELPER_ALIASES.get(name.lower(), name.lower())
            if name == "raw" and not dash:
                raw = True
            elif name == "nl2br" and not dash:
                nl2br = self.mode == HTML
            elif name == "dateformat" and arg:
                helpers.insert(0, _date_format(arg.replace("_", " ")))
            elif name in _HELPERS:
                factory, default, bounds = _HELPERS[name]
                if bounds is None and dash or bounds and dash and not (
                        arg.isdigit() and bounds[0] <= int(arg) <= bounds[1]):
                    ok = False
                    continue
                helpers.insert(0, factory(int(arg) if dash else default))
                url_safe |= name in _URL_SAFE_HELPERS
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
            left = self.parse_target(m.group("left").strip("%"))
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
            sub = _Compiler(right, TEXT, None, None, (), None)
            sub.aliases, sub.custom_ids = self.aliases, self.custom_ids
            right_parts = sub.parse(0, len(right))
            self.unknown.extend(sub.unknown)
            keys = set().union(*(_meta(p)[0] for p in right_parts if p.__class__ is not str))
            return slot(lambda ctx: _compare(read(ctx), op, _join(right_parts, ctx)), {left.key, *keys})
        return slot(lambda ctx: _compare(read(ctx), op, right), {left.key})

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
                current.append(self.value_slot(_Ref(NOW), [_date_format(fmt)], None, False, m.start()))
            elif m.group("mfrom") is not None:
                current.append(self.value_slot(_Ref(MFROM_DOMAIN), [], None, False, m.start()))
            else:   # RemoteContent: never fetched (see the module docstring)
                self._report(text)
        current.append(src[pos:end])
        while frames:   # an [IF] left open runs to the end of the text
            self._report(frames[-1][4])
            current = self.close_block("endif", frames, current, "")
        return _merge(root)

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
        then, other = _merge(then), _merge(other or [])
        parts = [p for p in then + other if p.__class__ is not str]
        keys = set(cond.keys).union(*(_meta(p)[0] for p in parts))
        volatile = any(_meta(p)[1] for p in parts)
        parent.append(slot(lambda ctx: _join(then if cond(ctx) else other, ctx), keys, volatile))
        return parent

    def legacy(self, m: re.Match, text: str):
        ref = self.resolve(m.group("lns"), m.group("lname"))
        if not ref.known:
            self._report(text)
        if m.group("lns").lower() not in _NAMESPACES and m.group("lns").lower() != "random":
            return text   # `%Foo:Bar%` may not be a tag at all: left as written
        fallback = m.group("lfb")
        if fallback is not None and self.mode == HTML:
            fallback = html.unescape(fallback)
        return self.value_slot(ref, [], fallback, False, m.start())

    def modifier(self, name: str, body: list) -> Callable | str:
        mode = self.mode
        if all(p.__class__ is str for p in body):
            return _apply_modifier(name, "".join(body), mode)
        parts = [p for p in body if p.__class__ is not str]
        keys = set().union(*(_meta(p)[0] for p in parts))
        return slot(lambda ctx: _apply_modifier(name, _join(body, ctx), mode), keys,
                     any(_meta(p)[1] for p in parts))

    def spin(self, start: int, end: int) -> Callable:
        variants, cut = [], start
        # Split on `|` outside `{{ … }}` and `%…%` tags (a fallback has a `|` of its own).
        for m in _SPIN_SPLIT.finditer(self.src, start, end):
            if m.group(0) == "|":
                variants.append(self.parse(cut, m.start()))
                cut = m.end()
        variants.append(self.parse(cut, end))
        parts = [p for v in variants for p in v if p.__class__ is not str]
        keys = set().union(*(_meta(p)[0] for p in parts))
        return slot(lambda ctx: _join(_rng.choice(variants), ctx), keys, volatile=True)


def compile_template(text: str, mode: str = TEXT, *, aliases: Mapping[str, int] | None = None,
                     custom_field_ids: Collection[int] | None = None, links: Collection[str] = LINKS,
                     system_slots: Mapping[str, Callable] | None = None) -> Template:
    """Parse `text` once. `mode` is HTML, TEXT (plain bodies and headers) or URL (a link target).

    `aliases` maps merge-tag aliases to custom field ids; `custom_field_ids` (when given) are the
    fields that exist, others are reported; `links` are the link tags allowed here;
    `system_slots` fill the `\\x00name\\x00` markers that links.py places for tracking.
    """
    if mode not in (HTML, TEXT, URL):
        raise ValueError(f"unknown mode {mode!r}")
    compiler = _Compiler(text or "", mode, aliases, custom_field_ids, links, system_slots)
    parts = compiler.parse(0, len(compiler.src))
    return Template(parts, list(dict.fromkeys(compiler.unknown)))


def find_unknown_tags(text: str, known_custom_field_ids: Collection[int], *,
                      aliases: Mapping[str, int] | None = None, links: Collection[str] = LINKS) -> list[str]:
    """Tags in `text` that cannot be personalised (misspelt, missing fields, unsupported), in order.

    For a subject pass `links=()`: link tags are not allowed there.
    """
    return compile_template((text or "").replace("\x00", ""), TEXT, aliases=aliases,
                            custom_field_ids=known_custom_field_ids, links=links).unknown_tags
