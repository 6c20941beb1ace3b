"""How a CSV file's columns become subscriber data: the header row, the CSV dialect an import asks for, and
the mapping of columns to EmailAddress, Tags and custom fields (by header name, by position or by an explicit
MappedFields table). Problems with the file as a whole raise before any row is read (engine/audience/importer.py)."""
from __future__ import annotations

import csv
import re

from engine.audience.csv_records import CsvRecords
from engine.audience.import_batch import ImportOptions
from engine.audience.custom_fields.values import FieldValues
from engine.audience.tag_import import TARGETS as TAG_TARGETS
from engine.errors import EmailMappedTwice, EmailNotMapped, ImportFormatError, InvalidFieldMapping

EMAIL_HEADERS = {"emailaddress", "email", "email address", "e-mail", "e-mail address", "mail"}
SKIP_TARGETS = {"", "ignore", "skip", "none", "-"}


def read_header(records: CsvRecords) -> list[str]:
    """The header row; ImportFormatError when the file has none or it cannot be read."""
    try:
        return records.header()
    except StopIteration:
        raise ImportFormatError("the file is empty; it needs a header row and one row per subscriber")
    except csv.Error as exc:
        raise ImportFormatError(f"the header row cannot be read ({exc})")


def csv_dialect(options: ImportOptions) -> dict:
    delimiter = {"\\t": "\t", "tab": "\t"}.get(options.delimiter.lower(), options.delimiter)
    if len(delimiter) != 1 or delimiter in "\r\n":
        raise ImportFormatError("FieldTerminator must be a single character such as , ; or \\t")
    if not options.quotechar:
        return {"delimiter": delimiter, "quoting": csv.QUOTE_NONE, "escapechar": None}
    if len(options.quotechar) != 1 or options.quotechar == delimiter:
        raise ImportFormatError("FieldEncloser must be a single character different from FieldTerminator")
    return {"delimiter": delimiter, "quotechar": options.quotechar}


def resolve_mapping(header: list[str], mapping, fields: FieldValues) -> tuple[int, list[tuple[int, int]], int | None]:
    """(email column, [(column, field ID)], tags column or None) from the header and the requested mapping."""
    names = [h.strip().lower() for h in header]
    if mapping is None:
        pairs = [(i, name) for i, name in enumerate(names) if _target(name, fields, strict=False) is not None]
    elif isinstance(mapping, list):
        pairs = [(i, str(t)) for i, t in enumerate(mapping) if i < len(header)]
    else:
        pairs = [(_column(str(key), names), str(target)) for key, target in mapping.items()]
    email_cols, field_cols, tag_cols, seen = [], [], [], set()
    for column, target in pairs:
        resolved = _target(target, fields, strict=mapping is not None)
        if resolved == "email":
            email_cols.append(column)
        elif resolved == "tags":
            tag_cols.append(column)
        elif isinstance(resolved, int):
            if resolved in seen:
                raise InvalidFieldMapping(f"custom field {resolved} is mapped to more than one column")
            seen.add(resolved)
            field_cols.append((column, resolved))
    if not email_cols:
        raise EmailNotMapped("no column is mapped to EmailAddress; name the column EmailAddress or map it "
                             "(e.g. MappedFields[email]=EmailAddress)")
    if len(email_cols) > 1:
        raise EmailMappedTwice()
    if len(tag_cols) > 1:
        raise InvalidFieldMapping("tags are mapped to more than one column")
    return email_cols[0], field_cols, tag_cols[0] if tag_cols else None


def _column(key: str, names: list[str]) -> int:
    lowered = key.strip().lower()
    if lowered in names:
        return names.index(lowered)
    match = re.fullmatch(r"(?:field)?(\d+)", lowered)
    if match and 1 <= int(match.group(1)) <= len(names):
        return int(match.group(1)) - 1
    raise InvalidFieldMapping(f"column {key!r} is not in the header ({', '.join(names)})")


def _target(target: str, fields: FieldValues, *, strict: bool):
    lowered = target.strip().lower()
    if lowered in EMAIL_HEADERS:
        return "email"
    if lowered in SKIP_TARGETS:
        return None
    match = re.fullmatch(r"(?:customfield)?(\d+)", lowered)
    if match and int(match.group(1)) in fields.fields:
        return int(match.group(1))
    for f in fields.fields.values():
        if lowered in (f.name.strip().lower(), f.merge_tag_alias.lower()):
            return f.id
    if lowered in TAG_TARGETS:
        return "tags"
    if strict:
        raise InvalidFieldMapping(f"{target!r} is not EmailAddress, Tags or a custom field of this list")
    return None
