"""Sending: one row per send instance of a campaign, the delivery ledger, and the scheduler lease.

The database itself carries the "never twice" guarantees: an instance number is unique per
campaign (an instance starts once) and an address is unique per instance (one person gets one
message per instance), whatever the number of schedulers and workers racing each other.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, BigIntPK, Str, UTCDateTime

INSTANCE_STATES = ("queued", "sending", "done", "canceled")
OPEN_INSTANCE_STATES = ("queued", "sending")
# pending → claimed(lease_until, worker) → sent | failed | unknown; skipped = never to be sent
# (the campaign was canceled first, or the address may no longer be mailed). A claim whose lease
# expired after its message was handed to the relay (message_id written) becomes unknown, never
# pending: at-most-once on a crash (style.md §6). On a pending row, lease_until is the earliest
# retry time after a temporary failure (engine/delivery/runner.py).
DELIVERY_STATES = ("pending", "claimed", "sent", "failed", "unknown", "skipped")
UNFINISHED_DELIVERY_STATES = ("pending", "claimed")


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class SendInstance(Base):
    """One send of a campaign: the only one for a one-off campaign, the k-th of a recurring series."""

    __tablename__ = "send_instances"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number"),
        CheckConstraint(f"state IN ({_in(INSTANCE_STATES)})", name="state"),
        # finish_instances() looks for the open instances of every campaign on each tick.
        Index("ix_send_instances_state_campaign", "state", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … (k of ScheduleRecSendMaxInstance)
    # The occurrence this instance is for (for a missed recurring slot: the most recent one).
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(Str(16), default="queued")
    total_recipients: Mapped[int] = mapped_column(Integer, default=0)


class Delivery(Base):
    """The ledger: one row per recipient of an instance, written before anything is sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("instance_id", "email_normalized"),
        CheckConstraint(f"state IN ({_in(DELIVERY_STATES)})", name="state"),
        # Workers claim the next batch with a keyset scan: WHERE instance_id=? AND state='pending'
        # AND id > ? ORDER BY id; the tick asks "any pending or claimed left?" on the same index.
        Index("ix_deliveries_instance_state_id", "instance_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The send instance (send_instances.id). No foreign key, on purpose (0017_tick_scale): PostgreSQL checks one
    # row by row, and on a million-row ledger that check was ~40% of the tick's write. Integrity is kept where
    # rows come and go: a ledger is only ever written in the transaction that creates its instance
    # (engine/campaigns/scheduling.py, split_tests.py), and deleting campaigns or users deletes their ledgers
    # first (engine/campaigns/ledgers.py), as the foreign key's ON DELETE CASCADE did.
    instance_id: Mapped[int] = mapped_column(Integer)
    # No foreign key: the ledger is a record of what was sent and outlives a deleted subscriber.
    subscriber_id: Mapped[int] = mapped_column(Integer)
    email_normalized: Mapped[str] = mapped_column(Str(255))
    state: Mapped[str] = mapped_column(Str(16), default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(Str(128), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(Str(255), default="")
    # The A/B variation this recipient gets (engine/models/split_tests.py); NULL = the campaign's email,
    # or, on a split test's row waiting for the winner (lease_until = HELD_FOR_WINNER), not chosen yet.
    email_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SchedulerLease(Base):
    """A named lease taken by compare-and-set, so overlapping cron runs on several hosts are harmless."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(Str(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Str(128), default="")  # "" = free
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThrottleState(Base):
    """Adapted sending rates (per relay, per recipient domain) kept across worker restarts.

    One row per name; the last worker to stop writes it, the next one to start reads it."""

    __tablename__ = "throttle_states"

    name: Mapped[str] = mapped_column(Str(64), primary_key=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
