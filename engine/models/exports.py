"""Export jobs: what a Subscribers.Export.Post or Campaigns.Export.Post asked for, kept so that
Get can report on it and stream the file (engine/audience/exports.py says how the file is made)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime

EXPORT_MODULES = ("SubscriberExport", "CampaignExport")


class ExportJob(Base):
    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("module IN ('SubscriberExport','CampaignExport')", name="module"),
        # Subscribers.Export.Get without ExportID lists one list's jobs, newest first.
        Index("ix_export_jobs_owner_list", "owner_user_id", "list_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(Str(32))
    # The exported list (SubscriberExport); a deleted list takes its jobs along.
    list_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"),
                                                nullable=True)
    # What to export, as JSON: format, fields, target, criteria (subscribers) or the filters (campaigns).
    options: Mapped[str] = mapped_column(Text, default="{}")
    file_format: Mapped[str] = mapped_column(Str(8), default="csv")
    # Rows the export matched when it was submitted (the file is produced from the live data on download).
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
