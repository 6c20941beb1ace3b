"""Accounts: administrators, users, their groups, login sessions and API keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, Str, UTCDateTime, utcnow


class UserGroup(Base):
    __tablename__ = "user_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Str(255))
    # Comma-separated permission names (the legacy wire format), or "*" for every permission.
    permissions: Mapped[str] = mapped_column(Text, default="")
    limit_subscribers: Mapped[int] = mapped_column(Integer, default=0)
    limit_lists: Mapped[int] = mapped_column(Integer, default=0)
    limit_campaign_send_per_period: Mapped[int] = mapped_column(Integer, default=0)
    limit_email_send_per_period: Mapped[int] = mapped_column(Integer, default=0)
    force_unsubscription_link: Mapped[bool] = mapped_column(Boolean, default=False)
    # Opt-in confirmation emails must carry a reject link (Email.Update codes 15/16).
    force_reject_opt_link: Mapped[bool] = mapped_column(Boolean, default=False)
    # From domains the group's accounts may send as besides their verified sender emails
    # (engine/senders/policy.py): comma-separated, "*" = any domain, "" = none.
    allowed_sender_domains: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("account_status IN ('Enabled','Disabled')", name="account_status"),
        CheckConstraint("reputation_level IN ('Trusted','Untrusted')", name="reputation_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("user_groups.id"), index=True)
    username: Mapped[str] = mapped_column(Str(255), unique=True)
    email_address: Mapped[str] = mapped_column(Str(255))
    email_normalized: Mapped[str] = mapped_column(Str(255), unique=True)
    password_hash: Mapped[str] = mapped_column(Str(255))
    first_name: Mapped[str] = mapped_column(Str(255), default="")
    last_name: Mapped[str] = mapped_column(Str(255), default="")
    company_name: Mapped[str] = mapped_column(Str(255), default="")
    time_zone: Mapped[str] = mapped_column(Str(64), default="UTC")
    language: Mapped[str] = mapped_column(Str(16), default="en")
    account_status: Mapped[str] = mapped_column(Str(16), default="Enabled")
    reputation_level: Mapped[str] = mapped_column(Str(16), default="Trusted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Two-factor login (engine/accounts/two_factor.py): the TOTP secret (base32; set up but not yet
    # confirmed while tfa_enabled is false, "" for none), and the last time step a code was accepted
    # for, so a code works once.
    tfa_secret: Mapped[str] = mapped_column(Str(64), default="")
    tfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tfa_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    # The account has an Enabled autoresponder or journey that a subscription or an opt-out starts
    # (engine/automation/list_triggers.py keeps it): without one, subscribing looks for none.
    list_triggers: Mapped[bool] = mapped_column(Boolean, default=False)

    group: Mapped[UserGroup] = relationship(lazy="joined")


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(Str(255), unique=True)
    name: Mapped[str] = mapped_column(Str(255), default="")
    email_address: Mapped[str] = mapped_column(Str(255), default="")
    password_hash: Mapped[str] = mapped_column(Str(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuthSession(Base):
    """A login session. Only the SHA-256 digest of the session ID is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (admin_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(Str(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip_address: Mapped[str] = mapped_column(Str(64), default="")


class ApiKey(Base):
    """An API key. Only the SHA-256 digest is stored; the key itself is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (admin_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(Str(64), unique=True)
    # The first characters, so a person can tell keys apart in a listing.
    key_prefix: Mapped[str] = mapped_column(Str(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Str(255), default="")
    bound_ip_address: Mapped[str] = mapped_column(Str(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_ip: Mapped[str] = mapped_column(Str(64), default="")
    request_count: Mapped[int] = mapped_column(Integer, default=0)
