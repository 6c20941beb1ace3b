"""Subscriber tags: labels defined per list and attached to that list's subscriber rows.

A tag belongs to one list (guide-tags.md: "Tags are defined per list", unique per list, stored in
lower case). Subscribers are rows per list in this engine, so a tag is attached to the subscriber
row: the same address on two lists carries the tags of each list separately, and the tag and its
assignments go with the list.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow


class SubscriberTag(Base):
    __tablename__ = "subscriber_tags"
    __table_args__ = (
        # Uniqueness is on a digest of the (lower-cased) name, not on the name: MariaDB's default
        # collation would call "café" and "cafe" the same tag, which the other two databases do not.
        UniqueConstraint("list_id", "name_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lists.id", ondelete="CASCADE"))
    # The list's owner, kept on the row so owner checks read one table (as segments do).
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(250))
    # sha256 of the stored name, hex.
    name_digest: Mapped[str] = mapped_column(Str(64))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriberTagAssignment(Base):
    """One tag on one subscriber row (same list: the service never pairs rows of two lists)."""

    __tablename__ = "subscriber_tag_assignments"

    # The audience compiler asks "does subscriber S carry tag T" (the primary key) and
    # "who carries tag T" (the tag_id index).
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("subscriber_tags.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
