"""One import's state and its batch writer: the counters and the report, each row checked against the list's
field rules, and a batch written with one lookup, one multi-row INSERT and one value INSERT (the map of
the whole import is engine/audience/importer.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engine.audience.custom_fields.rules import is_blank
from engine.audience.custom_fields.values import FieldValues, value_row
from engine.audience.tag_import import ImportTags
from engine.errors import CustomFieldValueError, EmptyTagName, InvalidTagName
from engine.models import Subscriber, SubscriberFieldValue
from engine.validation import normalize_email

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
class ImportRow:
    number: int
    email: str
    normalized: str
    values: dict
    tags: tuple[str, ...] = ()


class ImportBatch:
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

    def read_row(self, number: int, cells: list[str], email_col: int) -> ImportRow | None:
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
        return ImportRow(number, email, normalized, values, tags)

    def flush(self, batch: list[ImportRow], *, retry: bool = True) -> list[int]:
        """Write a batch; the IDs of the subscribers it created."""
        if not batch:
            return []
        before = (self.report.duplicates, self.report.failed, len(self.report.failures))
        unique: dict[str, ImportRow] = {}
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

    def _within_quota(self, rows: list[ImportRow]) -> list[ImportRow]:
        room = self.room() if rows else None
        if room is None or len(rows) <= room[1]:
            return rows
        for row in rows[room[1]:]:
            self.fail(row.number, row.email, f"not imported: the account has reached its limit of {room[0]} "
                                             "subscribers (LimitSubscribers of its user group)")
        return rows[:room[1]]

    def _check_new(self, rows: list[ImportRow]) -> list[ImportRow]:
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

    def _check_unique(self, pairs: list[tuple[int | None, ImportRow]]) -> list[tuple[int | None, ImportRow]]:
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

    def _write(self, new_rows: list[ImportRow], updates: list[tuple[int, ImportRow]]) -> list[int]:
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
