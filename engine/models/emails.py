"""Email contents: what a campaign sends."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Text
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime, utcnow

EMAIL_MODES = ("Editor", "Stripo", "Unlayer", "Empty", "Template", "Import")

# MariaDB's TEXT stops at 64 KB, which a designed HTML email easily passes; MEDIUMTEXT holds 16 MB.
# The other two backends have no such limit on TEXT.
LongText = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
# Characters accepted for a body or builder document: 4 bytes each in utf8mb4 still fits MEDIUMTEXT.
MAX_CONTENT_CHARS = 4_000_000


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


class Email(Base):
    __tablename__ = "emails"
    __table_args__ = (CheckConstraint(f"mode IN ({_in(EMAIL_MODES)})", name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email_name: Mapped[str] = mapped_column(Str(255), default="")
    mode: Mapped[str] = mapped_column(Str(16), default="Empty")
    template_id: Mapped[int] = mapped_column(Integer, default=0)
    is_email_template: Mapped[bool] = mapped_column(Boolean, default=False)
    # A user email template's declared ContentType (HTML, Plain, Both); NULL: derived from the content.
    content_type: Mapped[str | None] = mapped_column(Str(8), nullable=True, default=None)
    from_name: Mapped[str] = mapped_column(Str(255), default="")
    from_email: Mapped[str] = mapped_column(Str(255), default="")
    reply_to_name: Mapped[str] = mapped_column(Str(255), default="")
    reply_to_email: Mapped[str] = mapped_column(Str(255), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    pre_header_text: Mapped[str] = mapped_column(Text, default="")
    html_content: Mapped[str] = mapped_column(LongText, default="")
    plain_content: Mapped[str] = mapped_column(LongText, default="")
    # Builder state (Stripo / Unlayer JSON), kept verbatim for the editor that wrote it.
    extra_content1: Mapped[str] = mapped_column(LongText, default="")
    extra_content2: Mapped[str] = mapped_column(LongText, default="")
    # Import mode: content fetched from these URLs at send time.
    fetch_url: Mapped[str] = mapped_column(Text, default="")
    fetch_plain_url: Mapped[str] = mapped_column(Text, default="")
    image_embedding: Mapped[bool] = mapped_column(Boolean, default=False)
    plain_content_auto_convert: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_set_to_title_element: Mapped[bool] = mapped_column(Boolean, default=False)
    open_tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    link_tracking: Mapped[bool] = mapped_column(Boolean, default=True)
    utm_tracking: Mapped[bool] = mapped_column(Boolean, default=False)
    utm_source: Mapped[str] = mapped_column(Str(255), default="")
    utm_medium: Mapped[str] = mapped_column(Str(255), default="")
    utm_campaign: Mapped[str] = mapped_column(Str(255), default="")
    utm_term: Mapped[str] = mapped_column(Str(255), default="")
    utm_content: Mapped[str] = mapped_column(Str(255), default="")
    utm_merge_tags: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
