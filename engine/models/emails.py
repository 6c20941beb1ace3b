"""Email contents: what a campaign sends."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow


class Email(Base):
    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email_name: Mapped[str] = mapped_column(Str(255), default="")
    mode: Mapped[str] = mapped_column(Str(16), default="Empty")
    template_id: Mapped[int] = mapped_column(Integer, default=0)
    from_name: Mapped[str] = mapped_column(Str(255), default="")
    from_email: Mapped[str] = mapped_column(Str(255), default="")
    reply_to_name: Mapped[str] = mapped_column(Str(255), default="")
    reply_to_email: Mapped[str] = mapped_column(Str(255), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    pre_header_text: Mapped[str] = mapped_column(Text, default="")
    html_content: Mapped[str] = mapped_column(Text, default="")
    plain_content: Mapped[str] = mapped_column(Text, default="")
    fetch_url: Mapped[str] = mapped_column(Text, default="")
    fetch_plain_url: Mapped[str] = mapped_column(Text, default="")
    image_embedding: Mapped[bool] = mapped_column(Boolean, default=False)
    plain_content_auto_convert: Mapped[bool] = mapped_column(Boolean, default=False)
    open_tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    link_tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
