"""Header fields of composed messages: RFC 2047 encoded words, folding, addresses in ASCII form.

Headers stay 7-bit: non-ASCII text becomes encoded words and an internationalised domain its IDNA
form, so no relay needs SMTPUTF8 for them; no CR or LF from a value reaches the header block.
"""
from __future__ import annotations

import base64
import re

CRLF = "\r\n"
_LINE = 78                    # RFC 5322 §2.1.1: lines SHOULD stay within 78 characters
_WORD_BYTES = 42              # UTF-8 bytes per encoded word: 56 base64 chars, 68 with the wrapper
_ASCII_HEADER = re.compile(r"^[\x20-\x7e]*$")
_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[^\s@<>()\[\],;:\"\\]{1,253}$")
_ATOM_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")


def _encoded_words(text: str) -> list[str]:
    words, chunk, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > _WORD_BYTES:   # never split a character across two words
            words.append(chunk)
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode("".join(c).encode("utf-8")).decode("ascii") + "?="
            for c in words if c]


def _fold(name: str, words: list[str]) -> str:
    """`Name: w1 w2 …` with CRLF-space folds between words so lines stay near 78 characters."""
    lines, line = [], f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > _LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return (CRLF).join(lines) + CRLF


def encode_header(name: str, value: str) -> str:
    """One header field, RFC 2047-encoded when needed, folded, CRLF-terminated."""
    value = " ".join(value.split())   # no CR/LF can reach the header block: no header injection
    words = value.split(" ") if value else []
    if _ASCII_HEADER.match(value) and "=?" not in value and all(len(w) < 900 for w in words):
        return _fold(name, words)
    return _fold(name, _encoded_words(value))


def ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (IDNA) form: headers stay 7-bit, no SMTPUTF8 needed."""
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"invalid domain {domain!r}") from None


def ascii_address(address: str) -> str:
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not _ADDRESS.match(address := f"{local}@{ascii_domain(domain)}"):
        raise ValueError(f"invalid email address {address!r}")
    return address


def mailbox_header(name: str, display_name: str, address: str) -> str:
    """`From: Display Name <address>`: the name quoted or RFC 2047-encoded as needed."""
    address = ascii_address(address)
    display_name = " ".join((display_name or "").split())
    if not display_name:
        return f"{name}: {address}{CRLF}"
    if _ASCII_HEADER.match(display_name) and "=?" not in display_name:
        phrase = display_name if _ATOM_PHRASE.match(display_name) else \
            '"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _fold(name, phrase.split(" ") + [f"<{address}>"])
    return _fold(name, _encoded_words(display_name) + [f"<{address}>"])
