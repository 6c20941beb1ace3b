"""Gallery email templates (Email.Template.*, Email.Templates.Get): designs emails start from.

Who sees what: an administrator every template; a user their own templates and the global ones
(no owner) whose AccessType is `Public`. A global `Private` template exists for users only as "access
denied" (Email.Template.Get's code 3); another account's template does not exist for them at all.
Only the owner (or an administrator) changes or deletes a template: a global one is the
administrators'. Choosing a template for an email (Email.Update Mode=Template) copies its content
into the email; later edits of the template do not change emails built from it.
"""
from __future__ import annotations

from typing import Collection

from sqlalchemy import and_, delete, func, or_, select

from engine.accounts.auth import Actor
from engine.campaigns.emails import unknown_content_tags
from engine.errors import TemplateAccessDenied, TemplateNotFound, TemplateOwnerNotFound
from engine.models import Email, User
from engine.models.templates import EmailTemplate

# Columns a create or update may set (domain names); `owner_user_id` and `access_type` are
# administrators' to change on an existing template.
COLUMNS = ("name", "description", "subject", "html_content", "plain_content", "thumbnail_path", "access_type",
           "owner_user_id")
ADMIN_ONLY_ON_UPDATE = ("owner_user_id", "access_type")


class TemplateService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -------------------------------------------------------------------------------
    def _visible(self, actor: Actor):
        query = select(EmailTemplate)
        if actor.is_admin:
            return query
        return query.where(or_(EmailTemplate.owner_user_id == actor.id,
                               and_(EmailTemplate.owner_user_id.is_(None), EmailTemplate.access_type == "Public")))

    def get(self, actor: Actor, template_id: int) -> EmailTemplate:
        """TemplateNotFound for a missing or another account's template; TemplateAccessDenied for a
        global template administrators keep Private."""
        template = self.s.get(EmailTemplate, template_id)
        if template is None or not (actor.is_admin or template.owner_user_id in (None, actor.id)):
            raise TemplateNotFound()
        if not actor.is_admin and template.owner_user_id is None and template.access_type != "Public":
            raise TemplateAccessDenied()
        return template

    def search(self, actor: Actor) -> list[EmailTemplate]:
        """The templates `actor` may use, by name (case-insensitively)."""
        return list(self.s.scalars(self._visible(actor).order_by(func.lower(EmailTemplate.name), EmailTemplate.id)))

    def _editable(self, actor: Actor, template_ids: Collection[int]):
        query = select(EmailTemplate).where(EmailTemplate.id.in_(list(template_ids)))
        return query if actor.is_admin else query.where(EmailTemplate.owner_user_id == actor.id)

    # --- writing -------------------------------------------------------------------------------
    def create(self, actor: Actor, values: dict) -> tuple[EmailTemplate, list[str]]:
        """A new template: the caller's own, or (administrators) global or given to `owner_user_id`."""
        values = {k: v for k, v in values.items() if k in COLUMNS}
        if actor.is_admin:
            values["owner_user_id"] = self._owner(values.get("owner_user_id"))
        else:
            values["owner_user_id"] = actor.id
        values.setdefault("access_type", "Public" if values["owner_user_id"] is None else "Private")
        now = self.uow.clock()
        template = EmailTemplate(created_at=now, updated_at=now, **values)
        self.s.add(template)
        self.s.flush()
        return template, self.unknown_tags(template)

    def update(self, actor: Actor, template_id: int, changes: dict) -> tuple[EmailTemplate, list[str]]:
        template = self.s.scalar(self._editable(actor, (template_id,)).with_for_update())
        if template is None:
            raise TemplateNotFound()
        for key, value in changes.items():
            if key not in COLUMNS:
                raise ValueError(f"{key!r} is not a template column")
            if key in ADMIN_ONLY_ON_UPDATE and not actor.is_admin:
                continue   # the documentation marks them "admin only"; a user's value is ignored
            setattr(template, key, self._owner(value) if key == "owner_user_id" else value)
        template.updated_at = self.uow.clock()
        self.s.flush()
        return template, self.unknown_tags(template)

    def delete(self, actor: Actor, template_ids: Collection[int]) -> int:
        """Delete those of `template_ids` the caller may delete; TemplateNotFound when that is none."""
        ids = list(self.s.scalars(self._editable(actor, template_ids).with_only_columns(EmailTemplate.id)
                                  .with_for_update()))
        if not ids:
            raise TemplateNotFound()
        self.s.execute(delete(EmailTemplate).where(EmailTemplate.id.in_(ids))
                       .execution_options(synchronize_session=False))
        return len(ids)

    def fill_email(self, actor: Actor, email: Email, given: Collection[str] = ()) -> None:
        """Copy the template `email.template_id` into `email`: its bodies, except those the same call
        gives, and its subject when the email has none. Only a template the owner may use (a global
        Private one counts as not found)."""
        try:
            template = self.get(actor, email.template_id)
        except TemplateAccessDenied:
            raise TemplateNotFound() from None
        if "html_content" not in given:
            email.html_content = template.html_content
        if "plain_content" not in given:
            email.plain_content = template.plain_content
        if "subject" not in given and not email.subject.strip():
            email.subject = template.subject

    def unknown_tags(self, template: EmailTemplate) -> list[str]:
        """As Email.Update reports them (a campaign email's scope): a global template may name no custom field."""
        return unknown_content_tags(self.s, template.owner_user_id, "Campaign", subject=template.subject,
                                    html=template.html_content, plain=template.plain_content)

    def _owner(self, user_id: int | None) -> int | None:
        if not user_id:
            return None
        if self.s.get(User, user_id) is None:
            raise TemplateOwnerNotFound()
        return user_id
