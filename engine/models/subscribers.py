"""Subscribers of a list, their custom fields and values, and account-wide suppression."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow
from engine.models.link_targets import LinkTarget

SUBSCRIPTION_STATUSES = ("Subscribed", "Unsubscribed", "Opt-In Pending")
BOUNCE_TYPES = ("Not Bounced", "Soft", "Hard")
SUBSCRIBER_SOURCES = ("CSVImport", "API", "Webhook", "Manual", "Other", "Unknown")
FIELD_TYPES = ("Single line", "Paragraph text", "Multiple choice", "Drop down", "Checkboxes",
               "Hidden field", "Date field", "Time field")
VALIDATION_METHODS = ("Disabled", "Numbers", "Letters", "Numbers and letters", "Email address", "URL",
                      "Date", "Time", "Custom")
VISIBILITIES = ("Public", "User Only", "Hidden")
SUPPRESSION_SOURCES = ("Administrator", "User", "SPAM complaint", "Hard Bounced", "Unsubscribe")


class Subscriber(LinkTarget, Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        UniqueConstraint("list_id", "email_normalized"),
        CheckConstraint("subscription_status IN ('Subscribed','Unsubscribed','Opt-In Pending')",
                        name="subscription_status"),
        CheckConstraint("bounce_type IN ('Not Bounced','Soft','Hard')", name="bounce_type"),
        # The audience query filters a list by status before anything else.
        Index("ix_subscribers_list_status", "list_id", "subscription_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"))
    email_address: Mapped[str] = mapped_column(Str(255))
    # Lower-cased, IDNA domain: the identity of a person across lists (dedup, suppression).
    email_normalized: Mapped[str] = mapped_column(Str(255), index=True)
    subscription_status: Mapped[str] = mapped_column(Str(16), default="Subscribed")
    bounce_type: Mapped[str] = mapped_column(Str(16), default="Not Bounced")
    soft_bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    subscription_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    subscription_ip: Mapped[str] = mapped_column(Str(64), default="")
    opt_in_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscription_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscription_ip: Mapped[str] = mapped_column(Str(64), default="")
    # Set when the person reported a message as spam: never mailed again from this account
    # (the audience excludes the address on every list of the owner).
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the opt-out is attributed to (Subscriber.Unsubscribe CampaignID / EmailID / Channel); 0 = none.
    unsubscription_campaign_id: Mapped[int] = mapped_column(Integer, default=0)
    unsubscription_email_id: Mapped[int] = mapped_column(Integer, default=0)
    unsubscription_channel: Mapped[str] = mapped_column(Str(64), default="")
    # Acquisition source bucket (SUBSCRIBER_SOURCES) and a free reference, as v5.9.x records them.
    source: Mapped[str] = mapped_column(Str(16), default="API")
    source_ref: Mapped[str] = mapped_column(Str(64), default="")
    # Double opt-in: set when a confirmation email must be sent, cleared by delivery once it is.
    # The partial index idea (WHERE NOT NULL) is not portable, so the column is indexed whole.
    confirmation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)



# A list's subscribers in their listing order (lower-cased address, then ID: Subscribers.Get and the console)
# and the address-contains search: an index walk instead of sorting the whole list for every page. SQLite
# and PostgreSQL index the expression; MariaDB has no expression indexes, so it keeps the sort there.
Index("ix_subscribers_list_email_lower", Subscriber.list_id, func.lower(Subscriber.email_address),
      Subscriber.id).ddl_if(dialect=("sqlite", "postgresql"))


class CustomField(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # NULL for a global field (every list of the owner).
    list_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"),
                                                index=True)
    name: Mapped[str] = mapped_column(Str(255))
    field_type: Mapped[str] = mapped_column(Str(32), default="Single line")
    default_value: Mapped[str] = mapped_column(Text, default="")
    # Choice fields: a JSON list of {"label", "value", "selected"} objects, in display order.
    options: Mapped[str] = mapped_column(Text, default="")
    validation_method: Mapped[str] = mapped_column(Str(32), default="Disabled")
    validation_rule: Mapped[str] = mapped_column(Text, default="")
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    is_unique: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(Str(16), default="Public")
    # Personalisation name used instead of CustomField<ID>; "" = none.
    merge_tag_alias: Mapped[str] = mapped_column(Str(255), default="")
    # Date fields: the accepted year range "YYYY-YYYY"; "" = any year.
    years: Mapped[str] = mapped_column(Str(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriberFieldValue(Base):
    """One custom-field value of one subscriber.

    `value_text` holds the value as given (the comparison column for text rules, indexed by
    its first 191 characters on MariaDB); `value_number` and `value_date` hold the parsed forms so
    numeric and date rules compare natively and use an index.

    Filled as follows (engine/audience/custom_fields/rules.py): `value_number` whenever the text is a decimal
    number; `value_date` for Date fields and for texts of the form YYYY-MM-DD[ HH:MM[:SS]] (UTC
    midnight for a bare date). Checkbox values are joined with "||||" in `value_text`. A field
    without a value has no row.
    """

    __tablename__ = "subscriber_field_values"
    __table_args__ = (
        Index("ix_field_values_field_text", "field_id", "value_text",
              mysql_length={"value_text": 191}, mariadb_length={"value_text": 191}),
        Index("ix_field_values_field_number", "field_id", "value_number"),
        Index("ix_field_values_field_date", "field_id", "value_date"),
    )

    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"),
                                               primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True)
    value_text: Mapped[str] = mapped_column(Str(1000), default="")
    value_number: Mapped[float | None] = mapped_column(Numeric(20, 6), nullable=True)
    value_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _list_scope(context) -> int:
    return context.get_current_parameters().get("list_id") or 0


class Suppression(Base):
    """An address never to be mailed: account-wide (list_id NULL) or for one list."""

    __tablename__ = "suppressions"
    __table_args__ = (
        # `list_scope` mirrors list_id with 0 for account-wide rows: a UNIQUE over a NULL column
        # would let the same account-wide address in twice on every backend.
        UniqueConstraint("owner_user_id", "list_scope", "email_normalized"),
        CheckConstraint("source IN ('Administrator','User','SPAM complaint','Hard Bounced','Unsubscribe')",
                        name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"))
    list_scope: Mapped[int] = mapped_column(Integer, default=_list_scope)
    email_address: Mapped[str] = mapped_column(Str(255), default="")
    email_normalized: Mapped[str] = mapped_column(Str(255), index=True)
    source: Mapped[str] = mapped_column(Str(32), default="User")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
