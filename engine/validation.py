"""Small validators shared by several services."""
from __future__ import annotations

import re

# ID columns are 32-bit INTEGERs on PostgreSQL and MariaDB: a larger number names nothing, and
# binding it would fail inside the database ("integer out of range") instead of matching nothing.
MAX_ID = 2**31 - 1


def as_id(value) -> int | None:
    """A positive row ID from an int or a digit string, or None when it cannot name a row."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    if not re.fullmatch(r"\d{1,10}", text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def normalize_email(address: str | None) -> str | None:
    """A lower-cased, IDNA-encoded address, or None when it is not a valid address.

    The local part keeps its characters but is compared case-insensitively, as nearly
    every mailbox provider does; the domain is case-insensitive by definition.
    """
    if not address or not isinstance(address, str):
        return None
    address = address.strip()
    if address.count("@") != 1 or len(address) > 254:
        return None
    local, domain = address.rsplit("@", 1)
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    return f"{local.lower()}@{ascii_domain}"
