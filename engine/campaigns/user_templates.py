"""User email templates (UserEmailTemplate.*, UserEmailTemplates.Get): an account's own reusable emails.

They are rows of `emails` with `is_email_template` set (user-email-templates.md), so they carry every
column an email has and are checked for unknown personalisation tags exactly as an email is
(EmailService.unknown_tags, in a campaign email's scope). The UserEmailTemplate commands see only such
rows of the caller; another account's template, or an ordinary email, is "not found". Deleting one
follows Email.Delete's rule: a template a campaign that may still send (or an Enabled autoresponder)
uses as its content is kept, and not counted.
"""
from __future__ import annotations

from typing import Collection

from sqlalchemy import func, select

from engine.accounts.auth import Actor
from engine.errors import EmailInUse, SourceUserNotFound, TargetUserNotFound, UserTemplateNotFound
from engine.models import Email, User

# What UserEmailTemplate.Create / Update may set (domain names).
COLUMNS = ("email_name", "subject", "pre_header_text", "content_type", "html_content", "plain_content",
           "extra_content1", "extra_content2", "mode", "image_embedding")
ORDER_COLUMNS = {"CreatedAt": Email.created_at, "EmailName": func.lower(Email.email_name)}


class UserTemplateService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def _mine(self, owner_user_id: int):
        return select(Email).where(Email.owner_user_id == owner_user_id, Email.is_email_template.is_(True))

    def get(self, actor: Actor, email_id: int, *, for_update: bool = False) -> Email:
        query = self._mine(actor.id).where(Email.id == email_id)
        template = self.s.scalar(query.with_for_update() if for_update else query)
        if template is None:
            raise UserTemplateNotFound()
        return template

    def search(self, actor: Actor, order_field: str = "CreatedAt", order_type: str = "DESC", limit: int = 25,
               offset: int = 0) -> tuple[int, list[Email]]:
        """(how many templates the caller has, one page of them in the asked order; ties by id)."""
        total = self.s.scalar(select(func.count()).select_from(self._mine(actor.id).subquery()))
        column = ORDER_COLUMNS[order_field]
        order = (column.asc(), Email.id.asc()) if order_type == "ASC" else (column.desc(), Email.id.desc())
        rows = self.s.scalars(self._mine(actor.id).order_by(*order).limit(limit).offset(offset))
        return total, list(rows)

    def create(self, actor: Actor, values: dict) -> tuple[Email, list[str]]:
        now = self.uow.clock()
        values = {"mode": "Editor", "content_type": "HTML", **values}
        template = Email(owner_user_id=actor.id, is_email_template=True, created_at=now, updated_at=now,
                         **self._columns(values))
        self.s.add(template)
        self.s.flush()
        return template, self.uow.emails.unknown_tags(template, "Campaign")

    def update(self, actor: Actor, email_id: int, changes: dict) -> tuple[Email, list[str]]:
        template = self.get(actor, email_id, for_update=True)
        before = self.uow.approval.email_snapshot(template)
        for key, value in self._columns(changes).items():
            setattr(template, key, value)
        template.updated_at = self.uow.clock()
        self.s.flush()
        # A template may be a campaign's content too: the same approval rule as Email.Update.
        self.uow.approval.email_edited(template, before)
        return template, self.uow.emails.unknown_tags(template, "Campaign")

    def delete(self, actor: Actor, email_ids: Collection[int]) -> int:
        """Delete the caller's templates among `email_ids`; how many went (others are ignored)."""
        ids = list(self.s.scalars(self._mine(actor.id).where(Email.id.in_(list(email_ids)))
                                  .with_only_columns(Email.id).order_by(Email.id)))
        deleted = 0
        for email_id in ids:
            try:
                self.uow.emails.delete(actor, email_id)   # checks before it changes anything
            except EmailInUse:
                continue
            deleted += 1
        return deleted

    def copy(self, actor: Actor, email_id: int) -> Email:
        source = self.get(actor, email_id)
        return self.uow.emails.duplicate_row(source, f"Copy of {source.email_name}"[:255].rstrip())

    def copy_to_user(self, email_id: int, source_user_id: int, target_user_id: int) -> Email:
        """An administrator's copy of `source_user_id`'s template into `target_user_id`'s account, same name."""
        if self.s.get(User, source_user_id) is None:
            raise SourceUserNotFound()
        if self.s.get(User, target_user_id) is None:
            raise TargetUserNotFound()
        source = self.s.scalar(self._mine(source_user_id).where(Email.id == email_id))
        if source is None:
            raise UserTemplateNotFound("Email template not found for source user")
        return self.uow.emails.duplicate_row(source, owner_user_id=target_user_id)

    @staticmethod
    def _columns(values: dict) -> dict:
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"not template columns: {sorted(unknown)}")
        return values
