"""Webhooks: the endpoints a user registered, the event types each wants, and one delivery row per
(outbox event, endpoint).

The UNIQUE (event_id, endpoint_id) key makes fan-out idempotent: running it twice, or in two
processes at once, cannot queue an event twice for one endpoint. A delivery row is the retry state
of that one POST: pending → sending (claimed by compare-and-set, with a lease) → delivered | failed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime

# pending (waiting for next_attempt_at) → sending (claimed until lease_until) → delivered | failed.
# A claim whose lease expired (the dispatcher died mid-POST) is claimable again: webhooks are
# at-least-once, and receivers drop duplicates by the event id (the modern spec says so).
DELIVERY_STATES = ("pending", "sending", "delivered", "failed")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_owner_user_id", "owner_user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Str(2000))
    # Kept as-is: an HMAC key must be usable to sign, so a hash would not do. It is shown once, at
    # creation, and never answered again (README, "Webhooks").
    secret: Mapped[str] = mapped_column(Str(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Events recorded from this instant on are delivered: set at creation and when re-enabled, so
    # neither older history nor what happened while disabled floods the endpoint.
    active_since: Mapped[datetime] = mapped_column(UTCDateTime)
    # Fan-out has considered every outbox event up to this id (engine/events/webhooks.py): each pass reads only
    # the owner's newer events, so its cost follows what happened since, not the outbox's whole history.
    fanned_out_to: Mapped[int] = mapped_column(BigInteger, default=0)
    # A list integration (ListIntegration.AddURL): the endpoint receives only that list's subscription or
    # unsubscription events, and no other. NULL: an ordinary webhook (Webhook.Create).
    list_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"),
                                                nullable=True, index=True)


class WebhookEventType(Base):
    """One subscribed event type of an endpoint; an endpoint without rows receives every event.

    A value is an event's `eventType` (`wix.promote.v1.sender_email_created`) or an `entityFqdn`
    (`wix.promote.v1.sender_email`: all its events). Rows, not a JSON column, so fan-out can match
    them in the one INSERT … SELECT.
    """

    __tablename__ = "webhook_event_types"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(Str(200))


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint(f"state IN ({','.join(repr(s) for s in DELIVERY_STATES)})", name="state"),
        # Dispatchers look for due rows: WHERE state=? AND next_attempt_at <= now.
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        # The delivery log pages one endpoint's rows, newest first.
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(Str(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim: Mapped[str] = mapped_column(Str(32), default="")   # who holds the lease (a random token)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Str(1000), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
