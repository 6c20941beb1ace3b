"""The stored upload of an import job: its options, and reading it back as a stream.

The upload is kept in the database in chunks (engine/models/imports.py); `store_upload` writes a
request's file there, `upload_stream` reads it back one chunk at a time, whatever its size.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass

from sqlalchemy import select

from engine.audience.importer import ImportOptions
from engine.errors import UploadTooLarge
from engine.models.imports import UPLOAD_CHUNK_BYTES, ImportUploadChunk

# The largest upload stored (README "Imports"): above it the request is refused, nothing is kept.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass
class JobOptions:
    """What a job needs to run besides its upload, stored as JSON on the job."""

    mapping: dict | list | None = None
    update_existing: bool = False
    delimiter: str = ","
    quotechar: str = '"'
    tags: tuple[str, ...] = ()        # put on every imported row (subscribers.import.post)
    trigger_actions: bool = True      # subscribers.import.post's TriggerActions, for the autoresponder hook

    def importer_options(self, batch_size: int = 1000) -> ImportOptions:
        return ImportOptions(mapping=self.mapping, update_existing=self.update_existing, delimiter=self.delimiter,
                             quotechar=self.quotechar, batch_size=batch_size)

    @classmethod
    def load(cls, text: str) -> "JobOptions":
        data = json.loads(text or "{}")
        data["tags"] = tuple(data.get("tags", ()))
        return cls(**data)


class UploadReader:
    """The stored upload as a binary stream, one chunk in memory at a time."""

    def __init__(self, session, job_id: int):
        self.s, self.job_id, self.seq, self.buffer = session, job_id, 0, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            chunk = self.s.scalar(select(ImportUploadChunk.data).where(
                ImportUploadChunk.job_id == self.job_id, ImportUploadChunk.seq == self.seq))
            if chunk is None:
                break
            self.buffer += chunk
            self.seq += 1
        if n < 0:
            n = len(self.buffer)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def store_upload(session, job_id: int, source) -> tuple[int, int]:
    """Write `source` (CSV text or a binary stream) as the job's upload; (bytes, lines). UploadTooLarge
    past MAX_UPLOAD_BYTES (the caller's transaction is then rolled back: nothing is kept)."""
    if isinstance(source, str):
        source = _BytesSource(source.encode("utf-8"))
    size = lines = seq = 0
    last = b""
    while True:
        chunk = source.read(UPLOAD_CHUNK_BYTES)
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it, or "
                                 "import it with `sendmill import` on the server")
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        session.execute(ImportUploadChunk.__table__.insert(), [{"job_id": job_id, "seq": seq, "data": chunk}])
        seq += 1
    return size, lines + (1 if last not in (b"", b"\n") else 0)


def upload_stream(session, job_id: int) -> io.RawIOBase:
    """The job's stored upload as a raw binary stream."""
    return _Raw(UploadReader(session, job_id))


class _BytesSource:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, n: int) -> bytes:
        chunk = self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


class _Raw(io.RawIOBase):
    """The stored upload as a raw binary stream (what io.BufferedReader and the importer read)."""

    def __init__(self, reader: UploadReader):
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.reader.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
