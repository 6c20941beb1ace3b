"""The event outbox: one row per domain event, written in the transaction that made the change.

Because the row commits or rolls back with the change itself, no event is lost and none is
invented; webhook delivery (engine/events/webhooks.py) reads the outbox afterwards and fans out.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_owner_id", "owner_user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The event id receivers deduplicate by (a UUID, as the modern events carry).
    event_id: Mapped[str] = mapped_column(Str(36), unique=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    entity_fqdn: Mapped[str] = mapped_column(Str(128))   # e.g. wix.email_marketing.v1.campaign
    slug: Mapped[str] = mapped_column(Str(64))           # e.g. campaign_published_event, created
    entity_id: Mapped[str] = mapped_column(Str(64))
    payload: Mapped[str] = mapped_column(Text)           # the event body (actionEvent.body) as JSON
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
