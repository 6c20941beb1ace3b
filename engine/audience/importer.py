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

import io
from typing import Callable, Iterator

from engine.accounts.auth import Actor
from engine.audience.csv_records import CsvRecords
from engine.audience.tag_import import ImportTags
from engine.audience import import_hooks
from engine.audience.import_mapping import csv_dialect, read_header, resolve_mapping
from engine.audience.import_batch import ImportBatch, ImportOptions, ImportReport, ImportRow, RowFailure  # noqa: F401 - the import's public types



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
        records = CsvRecords(text, csv_dialect(options))
        header = read_header(records)
        email_col, field_cols, tag_col = resolve_mapping(header, options.mapping, fields)
        tagging = tag_col is not None or bool(extra_tags)
        job = ImportBatch(self.s, list_row, fields, options, field_cols, self.uow.clock(),
                   tags=(tag_col, ImportTags(self.s, list_row, self.uow.clock())) if tagging else None,
                   room=lambda: self.uow.lists.subscriber_room(list_row.owner_user_id),
                   subscribed=lambda emails: self.uow.email_subscriptions.imported(list_row.owner_user_id, emails),
                   watermark=watermark, report=report, extra_tags=extra_tags)
        return ImportPass(job, records, len(header), email_col, counting)


class ImportPass:
    """The rows of one file, checked and written batch by batch."""

    def __init__(self, job: ImportBatch, records: CsvRecords, width: int, email_col: int, counting: CountingReader):
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
        batch: list[ImportRow] = []
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

    def _write(self, batch: list[ImportRow]) -> list[int]:
        created = self.job.flush(batch)
        self.report.bytes_read = self.counting.count
        return created


