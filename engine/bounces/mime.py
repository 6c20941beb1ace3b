"""Reading a received message defensively: bounce reports arrive from any MTA on the internet, in
any state of repair, and nothing in them may crash the parser (engine/bounces.py) or make it slow."""
from __future__ import annotations

import base64
import binascii
import quopri
import re
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32
from typing import Iterator

MAX_PARSE_BYTES = 1 << 20     # the report parts come first; the returned original may be cut off
MAX_HEADER = 2000             # address parsing is superlinear on some inputs: keep it short


def load_message(raw) -> Message | None:
    if isinstance(raw, Message):
        return raw
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None
    raw = bytes(raw[:MAX_PARSE_BYTES])
    if not raw.strip():
        return None
    try:
        return BytesParser(policy=compat32).parsebytes(raw)
    except Exception:   # the stdlib parser is lenient, but garbage must never escape as a crash
        return None


def header_text(msg: Message | None, name: str) -> str:
    """One header as readable, unfolded text ("" when absent or unreadable)."""
    if msg is None:
        return ""
    values = _raw_headers(msg, name)
    if not values:
        return ""
    value = values[0]
    try:
        text = str(make_header(decode_header(value)))
    except Exception:   # bad RFC 2047 words, unknown charsets
        text = value
    return " ".join(text.encode("utf-8", "replace").decode("utf-8").split())


def header_values(msg: Message | None, name: str) -> list[str]:
    return [" ".join(v.split()) for v in _raw_headers(msg, name)[:8]]


def _raw_headers(msg: Message | None, name: str) -> list[str]:
    """A header's values as text; raw 8-bit bytes (not allowed, yet common) are read as UTF-8."""
    if msg is None:
        return []
    name = name.lower()
    # raw_items(), because compat32's get() wraps 8-bit values in a Header that mangles them.
    return [v[:MAX_HEADER].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            for k, v in msg.raw_items() if k.lower() == name and isinstance(v, str)]


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def child_parts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def walk_parts(part: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, but not inside message/* parts: those are the returned original, not the notice."""
    yield part
    if content_type(part).startswith("multipart/") and depth < 8:
        for child in child_parts(part):
            yield from walk_parts(child, depth + 1)


def part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def field_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    children = child_parts(part)
    if children and cte not in ("base64", "quoted-printable"):
        # The stdlib parser already split the blocks into header-only messages.
        blocks = [_fields(child.items()) for child in children]
    else:
        if children:   # encoded: the parser saw one header-less block holding the encoded text
            text = "\n".join(c.get_payload() for c in children if isinstance(c.get_payload(), str))
            try:
                encoded = text.encode("ascii", "replace")
                data = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
            except (binascii.Error, ValueError):
                data = b""
            text = data.decode("utf-8", "replace")
        else:
            text = part_text(part)
        blocks = [_fields(HeaderParser(policy=compat32).parsestr(chunk).items())
                  for chunk in re.split(r"\r?\n[ \t]*\r?\n", text) if chunk.strip()]
    return [block for block in blocks if block]


def _fields(items) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in items:
        if not isinstance(value, Header):
            fields.setdefault(name.strip().lower(), " ".join(str(value)[:MAX_HEADER].split()))
    return fields


def returned_original(msg: Message) -> Message | None:
    """The headers of the returned original (message/rfc822 or text/rfc822-headers part)."""
    for part in walk_parts(msg):
        ctype = content_type(part)
        if part is msg or ctype not in ("message/rfc822", "message/global", "text/rfc822-headers",
                                          "message/rfc822-headers", "message/global-headers"):
            continue
        children = child_parts(part)
        if children:
            return children[0]
        text = part_text(part)
        return HeaderParser(policy=compat32).parsestr(text) if text.strip() else None
    return None
