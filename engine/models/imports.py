"""Background subscriber imports: the job (options, progress, report) and its stored upload.

The upload lives in the database (one data home: every web worker, tick and `sendmill worker` host
reads the same file), cut into chunks of UPLOAD_CHUNK_BYTES so that no single value approaches
MariaDB's max_allowed_packet. `cursor` is the number of CSV records already handled; it is written in
the same transaction as the subscribers of the batch it covers, so a job resumed after a crash starts
exactly where the last committed batch ended (engine/audience/import_jobs.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, Text
from sqlalchemy.dialects.mysql import MEDIUMBLOB
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow

UPLOAD_CHUNK_BYTES = 1024 * 1024
ChunkBytes = LargeBinary().with_variant(MEDIUMBLOB(), "mysql", "mariadb")

# Pending: uploaded by Subscribers.Import step 1, waiting for its MappedFields (step 2).
# Queued → Importing → Completed | Failed (a problem with the file as a whole, named in `error`).
IMPORT_STATUSES = ("Pending", "Queued", "Importing", "Completed", "Failed")


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        # The runner's question: "the oldest job waiting to be worked on".
        Index("ix_import_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(Str(16), default="Queued")
    # ImportOptions as JSON, plus the job-level Tags and TriggerActions of subscribers.import.post.
    options: Mapped[str] = mapped_column(Text, default="{}")
    # The header row's columns (JSON list), answered as ImportFields by step 1.
    header: Mapped[str] = mapped_column(Text, default="[]")
    upload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    # Subscriber IDs above this one were created by this import (a repeated address is a duplicate).
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # The first failed rows, JSON [[row, email, reason], …] (capped like the synchronous report).
    failures: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str] = mapped_column(Text, default="")
    lease_holder: Mapped[str] = mapped_column(Str(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ImportUploadChunk(Base):
    """One piece of a job's upload, in `seq` order; deleted once the job is finished."""

    __tablename__ = "import_upload_chunks"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(ChunkBytes)
