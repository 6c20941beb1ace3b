"""Email contents: the records campaigns point at.

An email is created empty and filled by partial updates: only the keys given change. Every
update is checked against a validation scope (`OptIn`, `Campaign`, `AutoResponder`) on the email
as it will be stored, so an email never ends up in a state its scope forbids.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from engine.accounts.auth import Actor
from engine.errors import (
    EmailInUse, EmailNotFound, EmptyEmailContent, InvalidFromEmail, InvalidReplyToEmail,
    MissingConfirmLinkHTML, MissingConfirmLinkPlain, MissingRejectLinkHTML, MissingRejectLinkPlain,
    MissingTemplateID, MissingUnsubscribeLinkHTML, MissingUnsubscribeLinkPlain, MissingUTMCampaign,
    MissingUTMMedium, MissingUTMSource,
)
from engine.delivery.personalize import find_unknown_tags
from engine.models import AutoResponder, Campaign, CustomField, Email, User
from engine.validation import normalize_email

VALIDATE_SCOPES = ("OptIn", "Campaign", "AutoResponder")
# Columns Email.Update may change (domain names); also what a duplicate copies.
EDITABLE_COLUMNS = (
    "email_name", "mode", "template_id", "is_email_template", "from_name", "from_email", "reply_to_name",
    "reply_to_email", "subject", "pre_header_text", "html_content", "plain_content", "extra_content1",
    "extra_content2", "fetch_url", "fetch_plain_url", "image_embedding", "plain_content_auto_convert",
    "subject_set_to_title_element", "open_tracking", "link_tracking", "utm_tracking", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_merge_tags", "content_type",
)
COPIED_COLUMNS = tuple(c for c in EDITABLE_COLUMNS if c != "email_name")
# A campaign in one of these states may still send its email, so the email must stay.
SENDING_STATUSES = ("Ready", "Sending", "Paused", "Pending Approval")

# Legacy personalisation tags the scopes require (protocol.md §9.2 item 25).
UNSUBSCRIBE_LINK = "%Link:Unsubscribe%"
CONFIRM_LINK = "%Link:Confirm%"
REJECT_LINK = "%Link:Reject%"
# Link tags each scope can fill in (protocol.md §7.3: Confirm and Reject exist in opt-in mails only;
# a confirmation email has no campaign, so no web-browser version).
SCOPE_LINKS = {"Campaign": ("Unsubscribe", "WebBrowser"), "AutoResponder": ("Unsubscribe", "WebBrowser"),
               "OptIn": ("Confirm", "Reject", "Unsubscribe")}


def unknown_content_tags(s, owner_user_id: int | None, scope: str, *, subject: str = "", pre_header: str = "",
                         html: str = "", plain: str = "") -> list[str]:
    """The tags of this content that cannot be filled in for `owner_user_id`'s subscribers (None: a
    global template, which may name no custom field) or are not allowed in `scope`; each once, in order."""
    fields = s.execute(select(CustomField.id, CustomField.merge_tag_alias)
                       .where(CustomField.owner_user_id == owner_user_id)).all() if owner_user_id else []
    ids = [field_id for field_id, _ in fields]
    aliases = {alias.lower(): field_id for field_id, alias in fields if alias}
    links = SCOPE_LINKS[scope]
    found: list[str] = []
    for text, allowed in ((subject, ()), (pre_header, ()), (html, links), (plain, links)):
        if text and ("%" in text or "{{" in text or "[" in text):
            found += find_unknown_tags(text, ids, aliases=aliases, links=allowed)
    return list(dict.fromkeys(found))


class EmailService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -------------------------------------------------------------------------------
    def get(self, actor: Actor, email_id: int, *, for_update: bool = False) -> Email:
        query = select(Email).where(Email.id == email_id, Email.owner_user_id == actor.id)
        if for_update:
            query = query.with_for_update()
        email = self.s.scalar(query)
        if email is None:
            raise EmailNotFound()
        return email

    def search(self, actor: Actor, email_ids: list[int] | None = None) -> list[Email]:
        """The caller's emails by name (case-insensitively); `email_ids` narrows to those, foreign ones dropped."""
        query = select(Email).where(Email.owner_user_id == actor.id)
        if email_ids is not None:
            query = query.where(Email.id.in_(email_ids))
        return list(self.s.scalars(query.order_by(func.lower(Email.email_name), Email.id)))

    # --- writing -------------------------------------------------------------------------------
    def create(self, actor: Actor, name: str = "") -> Email:
        now = self.uow.clock()
        email = Email(owner_user_id=actor.id, email_name=name, created_at=now, updated_at=now)
        self.s.add(email)
        self.s.flush()
        return email

    def update(self, actor: Actor, email_id: int, changes: dict, scope: str) -> Email:
        """Apply `changes` (keys from EDITABLE_COLUMNS), then check the result against `scope`."""
        if scope not in VALIDATE_SCOPES:
            raise ValueError(f"unknown validation scope {scope!r}")
        email = self.get(actor, email_id, for_update=True)
        before = self.uow.approval.email_snapshot(email)
        for key, value in changes.items():
            if key not in EDITABLE_COLUMNS:
                raise ValueError(f"{key!r} is not an editable email column")
            setattr(email, key, value)
        if ("template_id" in changes or changes.get("mode") == "Template") and email.mode == "Template" \
                and email.template_id:
            # Choosing a template (Mode=Template, RelTemplateID) builds the content from it.
            self.uow.templates.fill_email(actor, email, given=changes.keys())
        self.check_scope(actor, email, scope)
        email.updated_at = self.uow.clock()
        self.s.flush()
        # Campaigns of an Untrusted owner that use it: approved ones wait for approval again; a send in
        # progress refuses the change (EmailBeingSent).
        self.uow.approval.email_edited(email, before)
        return email

    def save(self, actor: Actor, email_id: int, changes: dict, scope: str) -> tuple[Email, list[str]]:
        """`update`, and the personalisation tags of the stored content that cannot be filled in."""
        email = self.update(actor, email_id, changes, scope)
        return email, self.unknown_tags(email, scope)

    def unknown_tags(self, e: Email, scope: str) -> list[str]:
        """Tags of subject, pre-header and bodies that are misspelt, name no custom field of the owner,
        or are not allowed in `scope`; in order of appearance, each once. Reported at save time so a
        campaign never goes out with a tag nobody can fill in (the content is still saved)."""
        return unknown_content_tags(self.s, e.owner_user_id, scope, subject=e.subject, pre_header=e.pre_header_text,
                                    html=e.html_content, plain=e.plain_content)

    def duplicate(self, actor: Actor, email_id: int) -> Email:
        source = self.get(actor, email_id)
        return self.duplicate_row(source, f"Copy of {source.email_name}"[:255].rstrip())

    def duplicate_row(self, source: Email, name: str | None = None, owner_user_id: int | None = None) -> Email:
        now = self.uow.clock()
        copy = Email(owner_user_id=owner_user_id or source.owner_user_id, email_name=name or source.email_name,
                     created_at=now, updated_at=now,
                     **{column: getattr(source, column) for column in COPIED_COLUMNS})
        self.s.add(copy)
        self.s.flush()
        return copy

    def duplicate_row_for(self, source: Email, owner_user_id: int) -> Email:
        """A copy of `source` owned by another account (Journey.CopyToUser copies a journey's emails)."""
        copy = self.duplicate_row(source)
        copy.owner_user_id = owner_user_id
        self.s.flush()
        return copy

    def delete(self, actor: Actor, email_id: int) -> None:
        """Delete an email; refused while a campaign that may still send, or an Enabled autoresponder, uses it.

        Draft, Sent and Failed campaigns and Disabled autoresponders that used it keep going without
        content (RelEmailID 0).
        """
        # Locking the email first makes a concurrent Campaign.Update that attaches it wait for us.
        email = self.get(actor, email_id, for_update=True)
        users = select(Campaign.id, Campaign.status).where(Campaign.email_id == email.id)
        blocking = self.s.execute(users.where(Campaign.status.in_(SENDING_STATUSES))
                                  .order_by(Campaign.id).with_for_update()).first()
        if blocking is not None:
            raise EmailInUse(f"campaign {blocking.id} ({blocking.status}) uses this email; cancel it or "
                             "give it another RelEmailID first")
        # An Enabled autoresponder may mail it at any time, like a sending campaign.
        responder = self.s.scalar(select(AutoResponder.id).where(
            AutoResponder.email_id == email.id, AutoResponder.status == "Enabled").order_by(AutoResponder.id)
            .limit(1).with_for_update())
        if responder is not None:
            raise EmailInUse(f"the enabled autoresponder {responder} uses this email; disable it or give it "
                             "another EmailID first")
        # Done here rather than left to ON DELETE SET NULL, so every backend behaves the same.
        self.s.execute(update(Campaign).where(Campaign.email_id == email.id).values(email_id=None)
                       .execution_options(synchronize_session=False))
        self.s.execute(update(AutoResponder).where(AutoResponder.email_id == email.id).values(email_id=None)
                       .execution_options(synchronize_session=False))
        self.s.delete(email)
        self.s.flush()

    # --- the validation scopes ----------------------------------------------------------------------
    def check_scope(self, actor: Actor, e: Email, scope: str) -> None:
        """Raise an EmailContentError when the email as it stands breaks a rule of `scope`."""
        if e.mode == "Template" and not e.template_id:
            raise MissingTemplateID()
        if e.from_email and normalize_email(e.from_email) is None:
            raise InvalidFromEmail(f"{e.from_email!r} is not a valid email address")
        if e.reply_to_email and normalize_email(e.reply_to_email) is None:
            raise InvalidReplyToEmail(f"{e.reply_to_email!r} is not a valid email address")
        html, plain = e.html_content.strip(), e.plain_content.strip()
        fetched = e.mode == "Import" and bool(e.fetch_url or e.fetch_plain_url)
        if not (html or plain or fetched):
            raise EmptyEmailContent("the email has neither HTML nor plain content"
                                    + (" nor a FetchURL" if e.mode == "Import" else ""))
        group = self.s.get(User, actor.id).group
        required: list[tuple[str, type, type]] = []
        if scope == "Campaign" and group.force_unsubscription_link:
            required.append((UNSUBSCRIBE_LINK, MissingUnsubscribeLinkHTML, MissingUnsubscribeLinkPlain))
        if scope == "OptIn":
            required.append((CONFIRM_LINK, MissingConfirmLinkHTML, MissingConfirmLinkPlain))
            if group.force_reject_opt_link:
                required.append((REJECT_LINK, MissingRejectLinkHTML, MissingRejectLinkPlain))
        # Content fetched at send time cannot be inspected now; an empty plain part is generated from
        # the HTML, which was checked. So only the parts that exist are checked.
        for tag, html_error, plain_error in required:
            if html and tag.lower() not in html.lower():
                raise html_error(f"the HTML content must contain {tag}")
            if plain and tag.lower() not in plain.lower():
                raise plain_error(f"the plain content must contain {tag}")
        if e.utm_tracking:
            for value, error in ((e.utm_source, MissingUTMSource), (e.utm_medium, MissingUTMMedium),
                                 (e.utm_campaign, MissingUTMCampaign)):
                if not value:
                    raise error()
