"""Per-subscriber campaign activity: what the `campaign-events` audience rules look at.

One row per event, to be written by delivery (queued / sent / failed) and tracking (open /
click / unsubscribe / complaint / bounce): until they write here, `campaign-events` rules see no
activity (so `opened` selects nobody and `not opened` everybody). The audience compiler reads
the table only through correlated subqueries keyed by subscriber, hence the
(subscriber_id, kind, occurred_at) index.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime

# "sent" is what the `delivered` operator means: the receiving server accepted the message.
ACTIVITY_KINDS = ("queued", "sent", "failed", "open", "click", "unsubscribe", "complaint", "bounce")


class SubscriberActivity(Base):
    __tablename__ = "subscriber_activity"
    __table_args__ = (
        CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in ACTIVITY_KINDS) + ")", name="kind"),
        # `opened campaign 12 in the last 30 days`: one index range per subscriber row.
        Index("ix_subscriber_activity_subscriber_kind_time", "subscriber_id", "kind", "occurred_at"),
        # Campaign statistics and "who opened campaign 12" scan by campaign.
        Index("ix_subscriber_activity_campaign_kind", "campaign_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The A/B variation's email when the campaign tests several (the rule's `email-id`).
    email_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(Str(16))
    link_url: Mapped[str] = mapped_column(Text, default="")  # clicks only
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
