"""CSV import of subscribers, streamed: a million-row file never sits in memory.

The file is read row by row through `csv.reader`; rows are checked one at a time and written in
batches (one lookup, one multi-row INSERT and one value INSERT per batch), so memory stays flat
whatever the file size. Per-row problems (bad address, bad custom-field value) fail that row
only and are reported; problems with the file as a whole (no header, a mapping that names no
address column) stop the import before anything is written.

Malformed rows (an unclosed quote, more values than the header has columns) fail alone, reported with
the number of the line they start on; the rows after them are read as usual (engine/audience/csv_records.py).

Counting rules:
* TotalImported: new subscribers created.
* TotalUpdated: existing subscribers whose mapped fields were rewritten (`update_existing`).
* TotalDuplicates: rows whose address is already in the list and not updated, and repeated
  addresses within the file (the first occurrence wins; later ones are never applied).
* TotalFailed: rows refused or malformed, with the reason (the first `max_failures_listed` are listed). Once
  the account reaches its group's LimitSubscribers, every further new address is refused with that
  reason (existing subscribers are still updated): the import stops growing the account there.
Every row counts once (TotalData = imported + updated + duplicates + failed); blank lines are not rows.
A blank cell never clears a stored value; imported subscribers are Subscribed (the importer is
the list owner, so double opt-in does not apply) with Source "CSVImport". A column mapped to Tags
(a header named Tags, unless a custom field has that name) puts subscriber tags on the new and the
updated rows (engine/audience/tag_import.py); a bad tag name fails its row.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.audience.custom_fields.rules import is_blank
from engine.audience.csv_records import CsvRecords
from engine.audience.custom_fields.values import FieldValues, value_row
from engine.audience.tag_import import TARGETS as TAG_TARGETS, ImportTags
from engine.audience import import_hooks
from engine.errors import (
    CustomFieldValueError, EmailMappedTwice, EmailNotMapped, EmptyTagName, ImportFormatError, InvalidFieldMapping,
    InvalidTagName,
)
from engine.models import Subscriber, SubscriberFieldValue
from engine.validation import normalize_email

EMAIL_HEADERS = {"emailaddress", "email", "email address", "e-mail", "e-mail address", "mail"}
SKIP_TARGETS = {"", "ignore", "skip", "none", "-"}
NO_SYNC = {"synchronize_session": False}


@dataclass
class ImportOptions:
    # Column → target. Columns: a header name (any case), "FIELD<n>" or a 1-based number; targets:
    # "EmailAddress", "CustomField<ID>", a field ID, a field name or merge-tag alias, "" = skip.
    # A list maps by position; None maps header names that are field names.
    mapping: dict[str, str] | list[str] | None = None
    update_existing: bool = False
    delimiter: str = ","
    quotechar: str = '"'  # "" = fields are never quoted
    batch_size: int = 1000
    max_failures_listed: int = 100
    # New rows trigger the list's OnSubscription autoresponders (Subscribers.Import TriggerActions /
    # TriggerAutoResponders); off by default, as documented: an import is usually old contacts.
    trigger_autoresponders: bool = False


@dataclass
class RowFailure:
    row: int    # line number in the file, the header being row 1
    email: str
    reason: str


@dataclass
class ImportReport:
    total_rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    bytes_read: int = 0


@dataclass
class _Row:
    number: int
    email: str
    normalized: str
    values: dict
    tags: tuple[str, ...] = ()


class CountingReader(io.RawIOBase):
    """A binary stream over any object with `read(n)`, counting the bytes read (for progress)."""

    def __init__(self, source):
        self.source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        if isinstance(data, str):
            data = data.encode("utf-8")
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class SubscriberImporter:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def run(self, actor: Actor, list_id: int, stream, options: ImportOptions,
            progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
        list_row = self.uow.lists.get(actor, list_id)
        importing = self.open(list_row, stream, options)
        for created in importing.batches():
            # What the batch's new subscribers trigger, in its transaction (before `progress` commits),
            # through the hook the import jobs call too (engine/audience/import_runner.py).
            import_hooks.subscribed_by_import(self.uow, list_row, created,
                                              trigger_actions=options.trigger_autoresponders)
            if progress:
                progress(importing.report)
        return importing.report

    def open(self, list_row, stream, options: ImportOptions, *, watermark: int | None = None,
             report: ImportReport | None = None, extra_tags: tuple[str, ...] = ()) -> "ImportPass":
        """An import of `stream` into `list_row` whose header is read and mapping resolved (the file-wide
        errors are raised here, before anything is written); `batches()` does the rest. A resumed job
        passes the watermark and the report it stored."""
        fields = self.uow.custom_fields.values_for(list_row)
        counting = CountingReader(io.BytesIO(stream.encode("utf-8")) if isinstance(stream, str) else stream)
        # Undecodable bytes become U+FFFD so that one bad row fails alone instead of the whole file.
        text = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8-sig", errors="replace", newline="")
        records = CsvRecords(text, _dialect(options))
        header = read_header(records)
        email_col, field_cols, tag_col = resolve_mapping(header, options.mapping, fields)
        tagging = tag_col is not None or bool(extra_tags)
        job = _Job(self.s, list_row, fields, options, field_cols, self.uow.clock(),
                   tags=(tag_col, ImportTags(self.s, list_row, self.uow.clock())) if tagging else None,
                   room=lambda: self.uow.lists.subscriber_room(list_row.owner_user_id),
                   subscribed=lambda emails: self.uow.email_subscriptions.imported(list_row.owner_user_id, emails),
                   watermark=watermark, report=report, extra_tags=extra_tags)
        return ImportPass(job, records, len(header), email_col, counting)


def read_header(records: CsvRecords) -> list[str]:
    """The header row; ImportFormatError when the file has none or it cannot be read."""
    try:
        return records.header()
    except StopIteration:
        raise ImportFormatError("the file is empty; it needs a header row and one row per subscriber")
    except csv.Error as exc:
        raise ImportFormatError(f"the header row cannot be read ({exc})")


class ImportPass:
    """The rows of one file, checked and written batch by batch."""

    def __init__(self, job: "_Job", records: CsvRecords, width: int, email_col: int, counting: CountingReader):
        self.job, self.records, self.width, self.email_col, self.counting = job, records, width, email_col, counting
        self.report = job.report
        self.consumed = 0   # records of the file after the header handled so far (the resumable cursor)

    @property
    def watermark(self) -> int:
        return self.job.watermark

    def batches(self, skip: int = 0) -> Iterator[list[int]]:
        """Write the rows batch by batch, yielding after each write the IDs of the subscribers it created
        (the rows it made Subscribed); `consumed` then counts the records the written batches covered.
        The first `skip` records were handled by an earlier pass: they are read, not applied."""
        job, report, size = self.job, self.job.report, self.job.options.batch_size
        batch: list[_Row] = []
        for number, cells, problem in self.records.rows(self.width):
            if self.consumed < skip:
                self.consumed += 1
                continue
            self.consumed += 1
            if problem:
                report.total_rows += 1
                job.fail(number, "", problem)
            elif cells and not all(not c.strip() for c in cells):
                report.total_rows += 1
                row = job.read_row(number, cells, self.email_col)
                if row is not None:
                    batch.append(row)
            if len(batch) >= size:
                yield self._write(batch)
                batch = []
        yield self._write(batch)

    def _write(self, batch: list[_Row]) -> list[int]:
        created = self.job.flush(batch)
        self.report.bytes_read = self.counting.count
        return created


def _dialect(options: ImportOptions) -> dict:
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


class _Job:
    """The state of one import: counters, the batch writer and the field rules."""

    def __init__(self, session, list_row, fields: FieldValues, options: ImportOptions, field_cols, now,
                 tags: tuple[int, ImportTags] | None = None,
                 room: Callable[[], tuple[int, int] | None] = lambda: None,
                 subscribed: Callable[[list[str]], None] = lambda emails: None,
                 watermark: int | None = None, report: ImportReport | None = None,
                 extra_tags: tuple[str, ...] = ()):
        self.s = session
        self.subscribed = subscribed   # keeps the modern subscription status in step (email_subscriptions)
        # Asked again for every batch: the CLI commits between batches, and sign-ups keep coming.
        self.room = room
        self.now = now
        self.list = list_row
        self.fields = fields
        self.options = options
        self.field_cols = field_cols
        self.tags = tags   # (column or None, ImportTags) when rows get subscriber tags
        self.extra_tags = extra_tags   # put on every imported row (subscribers.import.post's Tags)
        self.report = report or ImportReport()
        self.defaults = fields.defaults({fid: None for _, fid in field_cols})
        # Rows this import creates get IDs above this mark: finding one of them again means the
        # file repeats an address, which is a duplicate even when updating is on.
        self.watermark = watermark if watermark is not None else \
            session.scalar(select(func.max(Subscriber.id))) or 0

    def fail(self, number: int, email: str, reason: str) -> None:
        self.report.failed += 1
        if len(self.report.failures) < self.options.max_failures_listed:
            self.report.failures.append(RowFailure(number, email[:255], reason))

    def read_row(self, number: int, cells: list[str], email_col: int) -> _Row | None:
        if any("\ufffd" in c for c in cells):
            self.fail(number, "", "the row is not valid UTF-8 text; save the file as UTF-8")
            return None
        email = cells[email_col].strip() if email_col < len(cells) else ""
        normalized = normalize_email(email)
        if normalized is None:
            self.fail(number, email, "missing email address" if not email else "invalid email address")
            return None
        values = {}
        try:
            for column, field_id in self.field_cols:
                raw = cells[column] if column < len(cells) else ""
                if not is_blank(raw):
                    values[field_id] = self.fields.rules(field_id).parse(raw)
        except CustomFieldValueError as exc:
            self.fail(number, email, f"custom field {exc.field_name} (CustomField{exc.field_id}): {exc.reason}")
            return None
        tags: tuple[str, ...] = ()
        if self.tags is not None:
            column, importer = self.tags
            try:
                tags = importer.names(cells[column] if column is not None and column < len(cells) else "")
            except (InvalidTagName, EmptyTagName) as exc:
                self.fail(number, email, f"tags: {exc.message}")
                return None
            tags = tuple(dict.fromkeys(tags + self.extra_tags))
        return _Row(number, email, normalized, values, tags)

    def flush(self, batch: list[_Row], *, retry: bool = True) -> list[int]:
        """Write a batch; the IDs of the subscribers it created."""
        if not batch:
            return []
        before = (self.report.duplicates, self.report.failed, len(self.report.failures))
        unique: dict[str, _Row] = {}
        for row in batch:
            if row.normalized in unique:
                self.report.duplicates += 1
            else:
                unique[row.normalized] = row
        existing = dict(self.s.execute(select(Subscriber.email_normalized, Subscriber.id).where(
            Subscriber.list_id == self.list.id, Subscriber.email_normalized.in_(list(unique)))).all())
        new_rows, updates = [], []
        for row in unique.values():
            sid = existing.get(row.normalized)
            if sid is None:
                new_rows.append(row)
            elif sid > self.watermark or not self.options.update_existing:
                self.report.duplicates += 1
            else:
                updates.append((sid, row))
        new_rows = self._within_quota(self._check_new(new_rows))
        updates = self._check_unique(updates)
        try:
            with self.s.begin_nested():
                created = self._write(new_rows, updates)
                self.subscribed([r.normalized for r in new_rows])
        except IntegrityError:
            if not retry:
                raise
            # Someone subscribed one of these addresses meanwhile: classify the batch again.
            self.report.duplicates, self.report.failed = before[:2]
            del self.report.failures[before[2]:]
            return self.flush(batch, retry=False)
        self.report.imported += len(new_rows)
        self.report.updated += len(updates)
        return created

    def _within_quota(self, rows: list[_Row]) -> list[_Row]:
        room = self.room() if rows else None
        if room is None or len(rows) <= room[1]:
            return rows
        for row in rows[room[1]:]:
            self.fail(row.number, row.email, f"not imported: the account has reached its limit of {room[0]} "
                                             "subscribers (LimitSubscribers of its user group)")
        return rows[:room[1]]

    def _check_new(self, rows: list[_Row]) -> list[_Row]:
        kept = []
        required = [f for f in self.fields.fields.values() if f.is_required and any(
            fid == f.id for _, fid in self.field_cols)]
        for row in rows:
            missing = [f for f in required if f.id not in row.values and f.id not in self.defaults]
            if missing:
                self.fail(row.number, row.email, f"custom field {missing[0].name} "
                                                 f"(CustomField{missing[0].id}) is required")
            else:
                kept.append(row)
        return [r for _, r in self._check_unique([(None, r) for r in kept])]

    def _check_unique(self, pairs: list[tuple[int | None, _Row]]) -> list[tuple[int | None, _Row]]:
        for f in self.fields.fields.values():
            if not f.is_unique or not pairs:
                continue
            texts = {r.values[f.id].text.lower() for _, r in pairs if f.id in r.values and r.values[f.id].text}
            if not texts:
                continue
            owners = {}
            for text, sid in self.s.execute(
                    select(func.lower(SubscriberFieldValue.value_text), SubscriberFieldValue.subscriber_id)
                    .join(Subscriber, Subscriber.id == SubscriberFieldValue.subscriber_id)
                    .where(SubscriberFieldValue.field_id == f.id, Subscriber.list_id == self.list.id,
                           func.lower(SubscriberFieldValue.value_text).in_(texts))):
                owners.setdefault(text, sid)
            kept = []
            for sid, row in pairs:
                value = row.values.get(f.id)
                key = value.text.lower() if value and value.text else None
                if key is not None and key in owners and owners[key] != sid:
                    self.fail(row.number, row.email, f"custom field {f.name} (CustomField{f.id}): "
                                                     f"'{value.text}' is already used by another subscriber")
                    continue
                if key is not None:
                    owners[key] = sid if sid is not None else -row.number  # later rows of the file clash too
                kept.append((sid, row))
            pairs = kept
        return pairs

    def _write(self, new_rows: list[_Row], updates: list[tuple[int, _Row]]) -> list[int]:
        now = self.now
        ids: dict[str, int] = {}
        if new_rows:
            self.s.execute(Subscriber.__table__.insert(), [{
                "list_id": self.list.id, "email_address": r.email[:255], "email_normalized": r.normalized,
                "subscription_status": "Subscribed", "bounce_type": "Not Bounced", "soft_bounce_count": 0,
                "subscription_date": now, "subscription_ip": "", "opt_in_date": now, "unsubscription_ip": "",
                "unsubscription_campaign_id": 0, "unsubscription_email_id": 0, "unsubscription_channel": "",
                "source": "CSVImport", "source_ref": "", "confirmation_due_at": None,
            } for r in new_rows])
            ids = dict(self.s.execute(select(Subscriber.email_normalized, Subscriber.id).where(
                Subscriber.list_id == self.list.id,
                Subscriber.email_normalized.in_([r.normalized for r in new_rows]))).all())
        values = []
        for row in new_rows:
            merged = {**self.defaults, **row.values}
            values.extend(value_row(ids[row.normalized], fid, v) for fid, v in merged.items())
        for field_id in {fid for _, fid in self.field_cols}:
            targets = [sid for sid, row in updates if field_id in row.values]
            if targets:
                self.s.execute(delete(SubscriberFieldValue).where(
                    SubscriberFieldValue.field_id == field_id, SubscriberFieldValue.subscriber_id.in_(targets)),
                    execution_options=NO_SYNC)
        for sid, row in updates:
            values.extend(value_row(sid, fid, v) for fid, v in row.values.items())
        if values:
            self.s.execute(SubscriberFieldValue.__table__.insert(), values)
        if self.tags is not None:
            tagged = [(ids[r.normalized], r.tags) for r in new_rows if r.tags]
            self.tags[1].apply(tagged + [(sid, r.tags) for sid, r in updates if r.tags])
        return sorted(ids.values())
