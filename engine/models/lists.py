"""Subscriber lists and their segments (the audience side; subscribers live in subscribers.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow

OPT_IN_MODES = ("Single", "Double")
OPT_OUT_SCOPES = ("This list", "All lists")


class SubscriberList(Base):
    """A list and its subscription settings (List.Create / List.Update, protocol.md §3.3 and §6.3)."""

    __tablename__ = "subscriber_lists"
    __table_args__ = (
        CheckConstraint("opt_in_mode IN ('Single','Double')", name="opt_in_mode"),
        CheckConstraint("opt_out_scope IN ('This list','All lists')", name="opt_out_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(255))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Double: a new subscriber stays "Opt-In Pending" until the confirmation link is followed.
    opt_in_mode: Mapped[str] = mapped_column(Str(8), default="Single")
    opt_in_confirmation_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("emails.id", ondelete="SET NULL"), nullable=True)
    # Behaviours: a confirmed subscription also subscribes to / unsubscribes from another list of
    # the same owner; an opt-out likewise. NULL = no such behaviour.
    opt_in_subscribe_to_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber_lists.id", ondelete="SET NULL"), nullable=True)
    opt_in_unsubscribe_from_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber_lists.id", ondelete="SET NULL"), nullable=True)
    opt_out_subscribe_to_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber_lists.id", ondelete="SET NULL"), nullable=True)
    opt_out_unsubscribe_from_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber_lists.id", ondelete="SET NULL"), nullable=True)
    # "All lists": an opt-out unsubscribes the address from every list of the owner.
    opt_out_scope: Mapped[str] = mapped_column(Str(16), default="This list")
    # Off by default, as for lists created since 5.9.3 (protocol.md §3.3).
    opt_out_add_to_suppression_list: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out_add_to_global_suppression_list: Mapped[bool] = mapped_column(Boolean, default=False)

    hide_in_subscriber_area: Mapped[bool] = mapped_column(Boolean, default=False)
    send_service_integration_failed_notification: Mapped[bool] = mapped_column(Boolean, default=False)
    send_activity_notification: Mapped[bool] = mapped_column(Boolean, default=False)

    sender_name: Mapped[str] = mapped_column(Str(255), default="")
    sender_email_address: Mapped[str] = mapped_column(Str(255), default="")
    sender_company: Mapped[str] = mapped_column(Str(255), default="")
    sender_address: Mapped[str] = mapped_column(Text, default="")

    # Where public subscribe / opt-in / unsubscribe answers send the browser (RedirectURL).
    subscription_confirmation_pending_page_url: Mapped[str] = mapped_column(Text, default="")
    subscription_confirmed_page_url: Mapped[str] = mapped_column(Text, default="")
    subscription_error_page_url: Mapped[str] = mapped_column(Text, default="")
    unsubscription_confirmed_page_url: Mapped[str] = mapped_column(Text, default="")
    unsubscription_error_page_url: Mapped[str] = mapped_column(Text, default="")

    req_by_email_search_to_address: Mapped[str] = mapped_column(Str(255), default="")
    req_by_email_subscription_command: Mapped[str] = mapped_column(Str(255), default="")
    req_by_email_unsubscription_command: Mapped[str] = mapped_column(Str(255), default="")
    # List.Update `Options` (header/footer texts and flags), a JSON object kept as the client sent it.
    options: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # List.Archive: hidden from Lists.Get (unless asked for) and from the account's active figures; NULL =
    # active. Kept when re-archived, so it says when the list was first put away.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


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
