"""Gallery email templates (Email.Template.*): designs an email's content can start from.

An administrator's template without an owner is global: with AccessType `Public` every account may
read it and build emails from it, with `Private` only administrators see it. A template with an
owner belongs to that account alone. (User email templates, UserEmailTemplate.*, are not here: they
are rows of `emails` with `is_email_template` set, as the v5.9.4 documentation describes them.)
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow
from engine.models.emails import LongText

ACCESS_TYPES = ("Public", "Private")


class EmailTemplate(Base):
    __tablename__ = "email_templates"
    __table_args__ = (CheckConstraint("access_type IN ('Public','Private')", name="access_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL: a global template (an administrator's, shared as access_type says).
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                      nullable=True)
    name: Mapped[str] = mapped_column(Str(255))
    description: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    html_content: Mapped[str] = mapped_column(LongText, default="")
    plain_content: Mapped[str] = mapped_column(LongText, default="")
    # Kept as given: Sendmill stores no thumbnail files and never opens this path.
    thumbnail_path: Mapped[str] = mapped_column(Str(1000), default="")
    access_type: Mapped[str] = mapped_column(Str(8), default="Public")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
