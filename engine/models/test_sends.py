"""Test sends: one row per test or preview message that left, the state of their rate limit.

Kept in the database (not in memory) so the limit holds across web workers and hosts. Rows
older than the limit's window are deleted as new test sends are recorded.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime


class TestSend(Base):
    __tablename__ = "test_sends"
    __table_args__ = (
        # "How many test sends did this account make since T?" is the only question asked.
        Index("ix_test_sends_owner_sent", "owner_user_id", "sent_at"),
    )
    __test__ = False   # not a pytest test class, whatever its name

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What was tested, for the record; no foreign keys: the email or campaign may be deleted later.
    email_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipient: Mapped[str] = mapped_column(Str(255))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
