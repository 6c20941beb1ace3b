"""Subscriber lists and their segments (the audience side; subscribers live in subscribers.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow


class SubscriberList(Base):
    __tablename__ = "subscriber_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"), index=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    # RulesJson criteria as the client sent them (validated before they are stored).
    rules_json: Mapped[str] = mapped_column(Text, default="")
    rules_operator: Mapped[str] = mapped_column(Str(8), default="and")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
