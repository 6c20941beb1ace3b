"""Automated reports (reports.md): a campaign summary mailed daily, weekly or monthly, and the ledger
of the periods already mailed.

`automated_report_runs` has one row per (report, period): the tick inserts it before mailing, so of two
ticks mailing the same period only one gets past the UNIQUE key (engine/campaigns/automated_reports.py).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow

REPORT_FREQUENCIES = ("daily", "weekly", "monthly")
REPORT_FILTER_TYPES = ("all", "tags")
REPORT_STATUSES = ("enabled", "disabled")


class AutomatedReport(Base):
    __tablename__ = "automated_reports"
    __table_args__ = (Index("ix_automated_reports_status_next", "status", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    frequency: Mapped[str] = mapped_column(Str(16))
    filter_type: Mapped[str] = mapped_column(Str(8), default="all")
    # Campaign tag IDs (tags table), comma-separated, as FilterTags is on the wire.
    filter_tags: Mapped[str] = mapped_column(Text, default="")
    recipient_emails: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Str(16), default="enabled")
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AutomatedReportRun(Base):
    """One period of one report, mailed (or being mailed): the exactly-once key."""

    __tablename__ = "automated_report_runs"
    # period_end too: after a change of frequency, a day and the week that starts on it are different periods.
    __table_args__ = (UniqueConstraint("report_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("automated_reports.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(Str(16), default="sending")   # sending | sent | failed
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
