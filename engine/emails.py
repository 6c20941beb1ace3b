"""Email contents: the records campaigns point at."""
from __future__ import annotations

from sqlalchemy import select

from engine.auth import Actor
from engine.errors import EmailNotFound
from engine.models import Email

COPIED_COLUMNS = (
    "mode", "template_id", "from_name", "from_email", "reply_to_name", "reply_to_email", "subject",
    "pre_header_text", "html_content", "plain_content", "fetch_url", "fetch_plain_url", "image_embedding",
    "plain_content_auto_convert", "open_tracking", "link_tracking",
)


class EmailService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def create(self, actor: Actor, name: str = "") -> Email:
        now = self.uow.clock()
        email = Email(owner_user_id=actor.id, email_name=name, created_at=now, updated_at=now)
        self.s.add(email)
        self.s.flush()
        return email

    def get(self, actor: Actor, email_id: int) -> Email:
        email = self.s.scalar(select(Email).where(Email.id == email_id, Email.owner_user_id == actor.id))
        if email is None:
            raise EmailNotFound()
        return email

    def duplicate_row(self, source: Email, name: str | None = None) -> Email:
        now = self.uow.clock()
        copy = Email(owner_user_id=source.owner_user_id, email_name=name or source.email_name,
                     created_at=now, updated_at=now,
                     **{column: getattr(source, column) for column in COPIED_COLUMNS})
        self.s.add(copy)
        self.s.flush()
        return copy
