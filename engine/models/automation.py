"""Autoresponders and their send ledger (v5.9.4 autoresponders.md; README "Autoresponders").

An autoresponder mails one email to a list's subscribers when a trigger happens to them
(subscription, a click, an open, a date in a custom field), after a delay, optionally repeated.
Its content is a row of `emails`, as a campaign's is.

`autoresponder_sends` is the ledger the sending side (engine/automation/enqueue.py, sending.py) writes:
one row per (autoresponder, subscriber, occurrence), UNIQUE, so however many ticks and workers race, one
occurrence of one autoresponder reaches one subscriber row at most once. Its states and lease
follow the campaign ledger (engine/models/sending.py): pending → claimed → sent | failed |
unknown, or skipped when the send must not happen any more.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime, utcnow

TRIGGER_TYPES = ("OnSubscription", "OnSubscriberLinkClick", "OnSubscriberCampaignOpen",
                 "OnSubscriberCampaignConversion", "OnSubscriberForwardToFriend", "OnSubscriberDate")
TRIGGER_TIME_TYPES = ("Immediately", "Seconds later", "Minutes later", "Hours later", "Days later",
                      "Weeks later", "Months later")
AUTORESPONDER_STATUSES = ("Enabled", "Disabled")
REPEAT_STATUSES = ("Enabled", "Disabled")
REPEAT_UNITS = ("H", "D", "W", "M")
SEND_STATES = ("pending", "claimed", "sent", "failed", "unknown", "skipped")
BOUNCE_KINDS = ("", "Soft", "Hard")

# Lifetime counters shown by AutoResponder.Get (RetrieveStatistics) and sortable in AutoResponders.Get;
# the sending and tracking side advances them, as it does a campaign's. Windowed figures come from the
# ledger instead (AutoResponder.Stats.Window.Get).
COUNTER_COLUMNS = (
    "total_sent", "total_delivered", "total_failed", "total_opens", "unique_opens", "total_clicks",
    "unique_clicks", "total_conversions", "unique_conversions", "total_forwards", "unique_forwards",
    "total_views_on_browser", "unique_views_on_browser", "total_unsubscriptions", "total_hard_bounces",
    "total_soft_bounces",
)


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class AutoResponder(Base):
    __tablename__ = "autoresponders"
    __table_args__ = (
        CheckConstraint(f"trigger_type IN ({_in(TRIGGER_TYPES)})", name="trigger_type"),
        CheckConstraint(f"trigger_time_type IN ({_in(TRIGGER_TIME_TYPES)})", name="trigger_time_type"),
        CheckConstraint(f"status IN ({_in(AUTORESPONDER_STATUSES)})", name="status"),
        CheckConstraint(f"repeat_unit IN ('',{_in(REPEAT_UNITS)})", name="repeat_unit"),
        # The sending side asks "the enabled autoresponders of list L with trigger T" for every event.
        Index("ix_autoresponders_list_trigger_status", "list_id", "trigger_type", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"))
    # NULL = the whole list. Deleting the segment disables the autoresponder first (engine/audience/segments.py),
    # so a scoped autoresponder never silently widens to the whole list.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"), nullable=True,
                                                   index=True)
    # NULL = no content (Email.Delete detaches a disabled autoresponder's email; AutoResponder.SendTest code 4).
    email_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    name: Mapped[str] = mapped_column(Str(255))

    trigger_type: Mapped[str] = mapped_column(Str(40))
    # As validated and normalised by engine/automation/triggers.py (what each trigger type means there).
    trigger_value: Mapped[str] = mapped_column(Str(1000), default="")
    trigger_value2: Mapped[str] = mapped_column(Str(255), default="")
    trigger_time_type: Mapped[str] = mapped_column(Str(16), default="Immediately")
    trigger_time: Mapped[int] = mapped_column(Integer, default=0)  # 0 when Immediately

    # R{count}/P{interval}{unit}: NULL = never set (RepeatSettings null), "Disabled" = switched off.
    repeat_status: Mapped[str | None] = mapped_column(Str(8), nullable=True)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)      # sends in all, the first included
    repeat_interval: Mapped[int] = mapped_column(Integer, default=0)
    repeat_unit: Mapped[str] = mapped_column(Str(1), default="")

    status: Mapped[str] = mapped_column(Str(8), default="Enabled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last became Enabled: only triggers at or after this instant may enqueue sends, so
    # enabling (or re-enabling after a pause) never mails people for what happened before.
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    total_sent: Mapped[int] = mapped_column(Integer, default=0)
    total_delivered: Mapped[int] = mapped_column(Integer, default=0)
    total_failed: Mapped[int] = mapped_column(Integer, default=0)
    total_opens: Mapped[int] = mapped_column(Integer, default=0)
    unique_opens: Mapped[int] = mapped_column(Integer, default=0)
    total_clicks: Mapped[int] = mapped_column(Integer, default=0)
    unique_clicks: Mapped[int] = mapped_column(Integer, default=0)
    total_conversions: Mapped[int] = mapped_column(Integer, default=0)
    unique_conversions: Mapped[int] = mapped_column(Integer, default=0)
    total_forwards: Mapped[int] = mapped_column(Integer, default=0)
    unique_forwards: Mapped[int] = mapped_column(Integer, default=0)
    total_views_on_browser: Mapped[int] = mapped_column(Integer, default=0)
    unique_views_on_browser: Mapped[int] = mapped_column(Integer, default=0)
    total_unsubscriptions: Mapped[int] = mapped_column(Integer, default=0)
    total_hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    total_soft_bounces: Mapped[int] = mapped_column(Integer, default=0)
    total_revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))


class AutoResponderSend(Base):
    """The ledger: one row per occurrence of an autoresponder for one subscriber row."""

    __tablename__ = "autoresponder_sends"
    __table_args__ = (
        UniqueConstraint("autoresponder_id", "subscriber_id", "occurrence"),
        CheckConstraint(f"state IN ({_in(SEND_STATES)})", name="state"),
        CheckConstraint(f"bounce_type IN ({_in(BOUNCE_KINDS)})", name="bounce_type"),
        # Workers claim due rows: WHERE state = 'pending' AND due_at <= now ORDER BY due_at.
        Index("ix_autoresponder_sends_state_due", "state", "due_at"),
        # Activity.Get and Stats.Window.Get read one autoresponder's rows by time.
        Index("ix_autoresponder_sends_responder_due", "autoresponder_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    autoresponder_id: Mapped[int] = mapped_column(ForeignKey("autoresponders.id", ondelete="CASCADE"))
    # No foreign key: the ledger is a record of what was sent and outlives a deleted subscriber.
    subscriber_id: Mapped[int] = mapped_column(Integer)
    email_address: Mapped[str] = mapped_column(Str(255))
    # Which send of the autoresponder this is for the subscriber: "{anchor}/{n}", where n counts the
    # Repeat sends from 0 and anchor is "" for once-per-subscriber triggers (subscription, click, open:
    # a second click does not mail again) and the trigger's local day (YYYY-MM-DD) for date triggers.
    occurrence: Mapped[str] = mapped_column(Str(40))
    email_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # what was (to be) sent
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)                 # the legacy TimeToSend
    state: Mapped[str] = mapped_column(Str(16), default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(Str(128), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")             # the activity's FailureReason
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(Str(255), default="")
    # What tracking learned about this message.
    opens: Mapped[int] = mapped_column(Integer, default=0)
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bounce_type: Mapped[str] = mapped_column(Str(8), default="")
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
