"""Body parts of composed messages, encoded once per campaign where they can be.

Quoted-printable, or base64 when a body is mostly non-ASCII; CRLF line ends, no line over 76
characters and none starting with "." (so SMTP can send the message as it is).
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Callable, Mapping

from engine.delivery.mime_headers import CRLF

# Text quoted-printable leaves as it is: printable ASCII without "=" or spaces (tracking URLs, tokens, ids).
_QP_VERBATIM_MAX = 72
QP_VERBATIM = re.compile(r"[!-<>-~]{1,%d}" % _QP_VERBATIM_MAX)
_QP_LINE = 76


def _crlf(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", CRLF)


def _qp(text: str) -> bytes:
    # binascii's quoted-printable is C code. It writes soft breaks as CRLF only when the data's first
    # line ends in CRLF, so a body without any line break comes back with bare-LF soft breaks.
    encoded = binascii.b2a_qp(_crlf(text).encode("utf-8"), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class QuotedPrintableBody:
    """A template whose literal text is quoted-printable encoded once; per recipient only the substituted
    values are. Every piece ends with a soft line break (RFC 2045 §6.7 rule 5), so each piece starts an
    encoded line of its own and the pieces concatenate into valid quoted-printable of the whole text.

    `verbatim` slots (tracking URLs: a checked prefix and a base64url token) produce text that
    quoted-printable leaves as it is whenever it fits on a line, so they skip the check for it."""

    def __init__(self, template, verbatim: frozenset = frozenset()):
        self._pieces = [_qp_piece(p) if p.__class__ is str else _verbatim_piece(p) if p in verbatim else _encoding(p)
                        for p in template.parts]

    def render(self, ctx: Mapping) -> bytes:
        return b"".join([p if p.__class__ is bytes else p(ctx) for p in self._pieces])


def _encoding(fill) -> Callable[[Mapping], bytes]:
    return lambda ctx: _qp_piece(fill(ctx))


def _verbatim_piece(fill) -> Callable[[Mapping], bytes]:
    def piece(ctx):
        text = fill(ctx)
        return (text + "=\r\n").encode("ascii") if len(text) <= _QP_VERBATIM_MAX else _qp_piece(text)
    return piece


def _qp_piece(text: str) -> bytes:
    if not text:
        return b""
    if QP_VERBATIM.fullmatch(text) and text[0] != ".":
        return text.encode("ascii") + b"=\r\n"
    encoded = _without_dot_lines(_qp(text))
    return encoded if encoded.endswith(b"\r\n") else encoded + b"=\r\n"


def _without_dot_lines(encoded: bytes) -> bytes:
    """Quoted-printable in which no line starts with ".": a leading dot is written "=2E".

    SMTP would otherwise have to double such dots (RFC 5321 §4.5.2), which means scanning every
    8 KB message on its way out; this way a composed message goes into DATA as it is."""
    if not (encoded.startswith(b".") or b"\n." in encoded):
        return encoded
    lines = []
    for line in encoded.split(b"\r\n"):
        while line.startswith(b"."):
            line = b"=2E" + line[1:]
            if len(line) <= _QP_LINE:
                break
            cut = _QP_LINE - 1                     # room for the soft break's "="
            while b"=" in line[cut - 2:cut]:       # never split an =XX escape
                cut -= 1
            lines.append(line[:cut] + b"=")
            line = line[cut:]
        lines.append(line)
    return b"\r\n".join(lines)


class Base64Body:
    def __init__(self, template):
        self._template = template

    def render(self, ctx: Mapping) -> bytes:
        return _b64(self._template.render(ctx))


def _b64(text: str) -> bytes:
    return base64.encodebytes(_crlf(text).encode("utf-8")).replace(b"\n", b"\r\n")


def mostly_non_ascii(text: str) -> bool:
    return sum(1 for ch in text if ord(ch) > 127) * 5 > len(text)
