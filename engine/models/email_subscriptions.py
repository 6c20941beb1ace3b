"""Email subscriptions: one account-wide consent and deliverability record per (owner, address).

The modern API's view of a person (modern-email-subscriptions-api.txt), next to the legacy
per-list `subscribers` rows; engine/audience/email_subscriptions.py keeps the two in step.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime
from engine.models.link_targets import LinkTarget

SUBSCRIPTION_STATUSES = ("NOT_SET", "PENDING", "SUBSCRIBED", "UNSUBSCRIBED")
DELIVERABILITY_STATUSES = ("NOT_SET", "VALID", "BOUNCED", "SPAM_COMPLAINT", "INACTIVE")


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class EmailSubscription(LinkTarget, Base):
    __tablename__ = "email_subscriptions"
    __table_args__ = (
        # One record per person and account; email_normalized carries the identity (case, IDN).
        UniqueConstraint("owner_user_id", "email_normalized"),
        CheckConstraint(f"subscription_status IN ({_in(SUBSCRIPTION_STATUSES)})", name="subscription_status"),
        CheckConstraint(f"deliverability_status IN ({_in(DELIVERABILITY_STATUSES)})",
                        name="deliverability_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email_address: Mapped[str] = mapped_column(Str(255))   # as last given
    email_normalized: Mapped[str] = mapped_column(Str(255), index=True)
    subscription_status: Mapped[str] = mapped_column(Str(16), default="NOT_SET")
    deliverability_status: Mapped[str] = mapped_column(Str(16), default="NOT_SET")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
