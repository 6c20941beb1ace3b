"""Email-marketing accounts, sender emails (verified "from" addresses) and the default sender details."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime

# The Account Details API's status enum (Wix email-marketing AccountDetails.status).
ACCOUNT_STATUSES = ("ACTIVE", "WARNED", "SUSPENDED", "BANNED", "SUSPENDED_AUTOLIFT")


class EmailMarketingAccount(Base):
    """A user's email-marketing standing, set by an administrator. No row = ACTIVE with the group's quotas."""

    __tablename__ = "email_marketing_accounts"
    __table_args__ = (
        CheckConstraint("status IN ('ACTIVE','WARNED','SUSPENDED','BANNED','SUSPENDED_AUTOLIFT')",
                        name="status"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    status: Mapped[str] = mapped_column(Str(32), default="ACTIVE")
    # Monthly allowances; NULL = the user group's LimitCampaignSendPerPeriod / LimitEmailSendPerPeriod,
    # -1 = unlimited (the modern API's spelling; the legacy group limit spells it 0).
    monthly_campaigns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monthly_emails: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What was started in the month `usage_month` (YYYY-MM, UTC); another month's figures count as 0.
    # Counters rather than a count over send_instances: deleting a campaign must not give quota back.
    usage_month: Mapped[str] = mapped_column(Str(7), default="")
    campaigns_used: Mapped[int] = mapped_column(Integer, default=0)
    emails_used: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SenderEmail(Base):
    """An address a user may send from once verified. The verification code is kept only as a digest."""

    __tablename__ = "sender_emails"
    __table_args__ = (UniqueConstraint("owner_user_id", "email_normalized"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email_address: Mapped[str] = mapped_column(Str(254))
    email_normalized: Mapped[str] = mapped_column(Str(254))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The current code: HMAC-SHA256 digest, expiry, wrong guesses so far.
    code_digest: Mapped[str | None] = mapped_column(Str(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Resend limiting: when the last code went out, and how many went out in the current hour window.
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    codes_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    codes_in_window: Mapped[int] = mapped_column(Integer, default=0)


class SenderDetails(Base):
    """The user's default sender: a from name and one of their sender emails (by address)."""

    __tablename__ = "sender_details"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    from_name: Mapped[str] = mapped_column(Str(100), default="")
    from_email: Mapped[str] = mapped_column(Str(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
