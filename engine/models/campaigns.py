"""Campaigns: what is sent, to whom, and when; plus campaign tags."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, Str, UTCDateTime, utcnow
from engine.models.link_targets import LinkTarget

CAMPAIGN_STATUSES = ("Draft", "Ready", "Sending", "Paused", "Pending Approval", "Sent", "Failed")
SCHEDULE_TYPES = ("Not Scheduled", "Immediate", "Future", "Recursive")

# status_reason of a campaign the tick paused because its account could not send it (scheduler/tick.py):
# over quota, not ACTIVE (also while Sending), or its From no longer allowed (engine/senders/policy.py).
QUOTA_EXCEEDED_REASON = "Quota exceeded"
ACCOUNT_NOT_ACTIVE_REASON = "Account not active"
SENDER_NOT_ALLOWED_REASON = "Sender not allowed"
ACCOUNT_HOLD_REASONS = (QUOTA_EXCEEDED_REASON, ACCOUNT_NOT_ACTIVE_REASON, SENDER_NOT_ALLOWED_REASON)

# Delivery and engagement counters, in the order the legacy Campaign object lists them.
# Delivery and tracking advance them; they are zero until something was sent.
COUNTER_COLUMNS = (
    "total_recipients", "total_sent", "total_failed", "total_delivered",
    "total_opens", "unique_opens", "total_clicks", "unique_clicks",
    "total_forwards", "unique_forwards", "total_views_on_browser", "unique_views_on_browser",
    "total_unsubscriptions", "total_hard_bounces", "total_soft_bounces", "total_complaints",
)


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class Campaign(LinkTarget, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CAMPAIGN_STATUSES)})", name="status"),
        CheckConstraint(f"schedule_type IN ({_in(SCHEDULE_TYPES)})", name="schedule_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    status: Mapped[str] = mapped_column(Str(32), default="Draft", index=True)
    status_reason: Mapped[str] = mapped_column(Str(64), default="")
    email_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"), index=True)
    original_campaign_id: Mapped[int] = mapped_column(Integer, default=0)

    schedule_type: Mapped[str] = mapped_column(Str(16), default="Not Scheduled")
    send_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    send_time: Mapped[str] = mapped_column(Str(8), default="")
    send_timezone: Mapped[str] = mapped_column(Str(128), default="")
    schedule_rec_days_of_week: Mapped[str] = mapped_column(Str(64), default="")
    schedule_rec_days_of_month: Mapped[str] = mapped_column(Str(128), default="")
    schedule_rec_months: Mapped[str] = mapped_column(Str(64), default="")
    schedule_rec_hours: Mapped[str] = mapped_column(Str(128), default="")
    schedule_rec_minutes: Mapped[str] = mapped_column(Str(255), default="")
    # NULL = never given (error 12 on a Recursive schedule); 0 = unlimited.
    schedule_rec_send_max_instance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    schedule_rec_sent_instances: Mapped[int] = mapped_column(Integer, default=0)
    # The next instant the scheduler should start a send; NULL when nothing is due.
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)

    approval_user_explanation: Mapped[str] = mapped_column(Text, default="")
    google_analytics_domains: Mapped[str] = mapped_column(Text, default="")
    publish_on_rss: Mapped[str] = mapped_column(Str(16), default="Disabled")
    s2s_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    rules_json_bundle: Mapped[str] = mapped_column(Text, default="")
    # What an administrator approved (engine/campaigns/approval.py): SHA-256 fingerprints of the email content and
    # of the recipients and schedule; "" = never approved. Only an Untrusted owner's campaigns need them.
    approved_content: Mapped[str] = mapped_column(Str(64), default="")
    approved_setup: Mapped[str] = mapped_column(Str(64), default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_process_started_on: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    send_process_finished_on: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    total_recipients: Mapped[int] = mapped_column(Integer, default=0)
    total_sent: Mapped[int] = mapped_column(Integer, default=0)
    total_failed: Mapped[int] = mapped_column(Integer, default=0)
    # Not written: TotalDelivered is derived from the ledger (engine/campaigns/reports.ledger_counts), so it
    # always agrees with the statistics; the column stays for the legacy row shape and old databases.
    total_delivered: Mapped[int] = mapped_column(Integer, default=0)
    total_opens: Mapped[int] = mapped_column(Integer, default=0)
    unique_opens: Mapped[int] = mapped_column(Integer, default=0)
    total_clicks: Mapped[int] = mapped_column(Integer, default=0)
    unique_clicks: Mapped[int] = mapped_column(Integer, default=0)
    total_forwards: Mapped[int] = mapped_column(Integer, default=0)
    unique_forwards: Mapped[int] = mapped_column(Integer, default=0)
    total_views_on_browser: Mapped[int] = mapped_column(Integer, default=0)
    unique_views_on_browser: Mapped[int] = mapped_column(Integer, default=0)
    total_unsubscriptions: Mapped[int] = mapped_column(Integer, default=0)
    total_hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    total_soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    total_complaints: Mapped[int] = mapped_column(Integer, default=0)

    recipients: Mapped[list["CampaignRecipient"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="CampaignRecipient.id"
    )
    tags: Mapped[list["Tag"]] = relationship(secondary="campaign_tags", order_by="Tag.id")
    # A/B variations (engine/models/split_tests.py); written by engine/campaigns/variations.py only.
    variations: Mapped[list["CampaignVariation"]] = relationship(
        order_by="CampaignVariation.position", viewonly=True)


class CampaignRecipient(Base):
    """One `ListID:SegmentID` entry of RecipientListsAndSegments (or of its Exclude_ twin)."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "list_id", "segment_id", "excluded"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"), index=True)
    # 0 = the whole list (the wire format's `ListID:0`).
    segment_id: Mapped[int] = mapped_column(Integer, default=0)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("owner_user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Str(255))
    # Signed into the public archive link (Campaigns.Archive.GetURL, engine/campaigns/archive.py) beside the id:
    # "" until the first link is made, so tags of before revision 0018 get one then.
    public_nonce: Mapped[str] = mapped_column(Str(8), default="", server_default="")


class CampaignTag(Base):
    __tablename__ = "campaign_tags"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)
