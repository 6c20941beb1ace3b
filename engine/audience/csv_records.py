"""The records of a CSV file, as the subscriber importer reads them: numbered by line, malformed ones named.

A record is reported with the number of the line it starts on (the header is line 1), so a failure
points at the line to fix, and every record counts once however many lines it spans. Rules:
* a quoted value may span lines (an address with line breaks), but only as a well-formed record with
  the header's number of columns, within MAX_RECORD_LINES lines; otherwise the quote opened on its
  first line is not closed: that line is malformed, and the lines after it are read again as records
  of their own (an unclosed quote used to swallow the following rows into one failure);
* a record with more non-empty values than the header has columns is malformed (which column it
  meant is unknown); empty values after the last column (a trailing separator) and missing trailing
  columns are accepted;
* anything else `csv` in strict mode refuses (text after a closing quote) is malformed.
Streaming: only the lines of the record being read are kept.
"""
from __future__ import annotations

import csv
from collections import deque
from typing import Iterator

# A quoted value spanning more lines than this is taken for an unclosed quote.
MAX_RECORD_LINES = 50
UNCLOSED_QUOTE = "a quoted value opened on this line is not closed"


class CsvRecords:
    def __init__(self, text, dialect: dict):
        """`text`: a text stream opened with newline=""; `dialect`: csv.reader's keyword arguments."""
        self._lines = _Lines(text)
        self._reader = csv.reader(self._lines, strict=True, **dialect)

    def header(self) -> list[str]:
        """The first record; StopIteration on an empty file, csv.Error when it cannot be read."""
        self._lines.taken = []
        try:
            return next(self._reader)
        except _RecordTooLong:
            raise csv.Error(UNCLOSED_QUOTE) from None

    def rows(self, width: int) -> Iterator[tuple[int, list[str], str]]:
        """(line number, cells, problem) for each record after the header; a malformed one has no cells and
        says why in `problem` ("" otherwise). `width` is the header's number of columns."""
        lines = self._lines
        while True:
            lines.taken = []
            problem = ""
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except _RecordTooLong:
                cells, problem = [], UNCLOSED_QUOTE
            except csv.Error as exc:
                cells, problem = [], UNCLOSED_QUOTE if str(exc) == "unexpected end of data" else \
                    f"the row cannot be read as CSV ({exc})"
            number, spans_lines = lines.taken[0][0], len(lines.taken) > 1
            values = len(cells)
            while values > width and not cells[values - 1].strip():
                values -= 1
            if spans_lines and (problem or values != width):
                lines.read_again_after_first()
                yield number, [], f"{UNCLOSED_QUOTE}; the lines after it were read as rows of their own"
            elif problem:
                yield number, [], problem
            elif values > width:
                yield number, [], f"the row has {values} values but the header has {width} columns"
            else:
                yield number, cells, ""


class _RecordTooLong(Exception):
    """A quoted value ran over MAX_RECORD_LINES lines."""


class _Lines:
    """The file's physical lines for csv.reader, numbered. The lines of the record being read are kept
    (`taken`), so that those after its first can be read again when it proves malformed."""

    def __init__(self, text):
        self._text = text
        self._again: deque[tuple[int, str]] = deque()
        self._count = 0
        self.taken: list[tuple[int, str]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES:
            raise _RecordTooLong()
        if self._again:
            number, line = self._again.popleft()
        else:
            line = self._text.readline()
            if not line:
                raise StopIteration
            self._count += 1
            number = self._count
        self.taken.append((number, line))
        return line

    def read_again_after_first(self) -> None:
        self._again.extendleft(reversed(self.taken[1:]))
