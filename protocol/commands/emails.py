"""Email contents and test sends (v5.6.x/api-reference/email-contents.md; protocol.md §3.2 and §7).

None of these commands documents a required permission, so none is checked beyond being a user.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from marshmallow import ValidationError

from engine.campaigns.emails import VALIDATE_SCOPES
from engine.errors import (
    AccountNotActive, CampaignNotFound, EmailBeingSent, EmailInUse, EmailNotFound, EmptyEmailContent,
    InvalidFromEmail, InvalidReplyToEmail, ListNotFound, MissingConfirmLinkHTML, MissingConfirmLinkPlain,
    MissingRejectLinkHTML, MissingRejectLinkPlain, MissingTemplateID, MissingUnsubscribeLinkHTML,
    MissingUnsubscribeLinkPlain, MissingUTMCampaign, MissingUTMMedium, MissingUTMSource, SenderNotAllowed,
    SubscriberNotFound, TemplateNotFound,
)
from engine.models.emails import EMAIL_MODES, MAX_CONTENT_CHARS
from engine.campaigns.test_sends import (
    Overrides, PreviewContentMissing, PreviewContentRequired, PreviewDeliveryFailed, PreviewRateLimited,
    PreviewRecipientInvalid, PreviewRecipientRequired, PreviewRecipientSuppressed, SmtpNotConfigured,
)
from protocol.command import LIST, SCALAR, Command, Context
from protocol.commands.campaigns import ACCOUNT_NOT_ACTIVE, FROM_NOT_ALLOWED
from protocol.params import MAX_ID, MISSING, Choice, Id, Int, LegacyField, LegacySchema, Text
from protocol.views.emails import email_row, project, wire_fields

INVALID_VALUE = 21  # Sendmill's code for a malformed optional value (README, "Error codes")
BEING_SENT = 22     # Sendmill's code: an untrusted account's campaign is sending this email right now
TEMPLATE_NOT_FOUND = 23  # Sendmill's code: RelTemplateID names no template the account may use
MAX_BULK_IDS = 100


class Toggle(LegacyField):
    """An on/off switch: Enabled/Disabled (the legacy column values) or a boolean word; nothing else."""

    ON = {"enabled", "true", "1", "yes", "on"}
    OFF = {"disabled", "false", "0", "no", "off"}

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        text = self._scalar_text(value).strip().lower()
        if text in self.ON:
            return True
        if text in self.OFF:
            return False
        raise ValidationError("must be Enabled/Disabled or true/false")


class HttpUrl(Text):
    """An absolute http(s) URL: content is fetched from it at send time."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
            raise ValidationError("must be an http:// or https:// URL")
        return url


class NameList(LegacyField):
    """A comma-separated list (or array) of names."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        return [str(item).strip() for item in self._list_items(value) if str(item).strip()]


class ValidIds(LegacyField):
    """emails.get's EmailIDs: entries that are not positive integers are dropped; some must remain."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[int]:
        ids: dict[int, None] = {}  # an ordered set: dropping repeats costs one lookup per entry
        for item in self._list_items(value):
            text = str(item).strip()
            if re.fullmatch(r"\d{1,18}", text) and 0 < int(text) <= MAX_ID:
                ids[int(text)] = None
        if not ids:
            raise ValidationError(MISSING)
        if len(ids) > MAX_BULK_IDS:
            raise ValidationError(f"{len(ids)} IDs given")
        return list(ids)


def _email_id_schema(missing: int, invalid: int):
    class Params(LegacySchema):
        EmailID = Id(required=True, code=missing, invalid_code=invalid)
    return Params


# --- Email.Create ------------------------------------------------------------------------------
class CreateParams(LegacySchema):
    EmailName = Text(max_length=255, code=INVALID_VALUE)  # RelUserID is ignored: the owner is the caller


def create(ctx: Context, p: dict) -> dict:
    email = ctx.uow.emails.create(ctx.actor, p.get("EmailName", ""))
    return {"EmailID": email.id}


EMAIL_CREATE = Command(
    name="Email.Create", run=create, params=CreateParams, permission="",
    errors={INVALID_VALUE: "Invalid parameter value"},
)


# --- Email.Get ---------------------------------------------------------------------------------
def get(ctx: Context, p: dict) -> dict:
    return {"EmailInformation": email_row(ctx.uow.emails.get(ctx.actor, p["EmailID"]))}


EMAIL_GET = Command(
    name="Email.Get", run=get, params=_email_id_schema(1, 2), permission="",
    errors={1: "The required parameter 'EmailID' is missing.",
            2: "Email not found or you do not have permission to view it."},
    raises={EmailNotFound: 2},
)


# --- Emails.Get --------------------------------------------------------------------------------
class ListParams(LegacySchema):
    EmailIDs = ValidIds(code=1, invalid_code=3)
    Fields = NameList(lenient=True)


def list_emails(ctx: Context, p: dict) -> dict:
    bulk = "EmailIDs" in p
    emails = ctx.uow.emails.search(ctx.actor, p.get("EmailIDs"))
    fields = wire_fields(p["Fields"]) if p.get("Fields") else None
    rows = [project(email_row(e, bulk=bulk), fields) for e in emails]
    return {"TotalEmailCount": len(rows), "Emails": rows}


EMAILS_GET = Command(
    name="Emails.Get", run=list_emails, params=ListParams, permission="", success_extra={"ErrorText": ""},
    errors={1: "EmailIDs contains no valid email ID",
            3: f"EmailIDs may contain at most {MAX_BULK_IDS} email IDs"},
)


# --- Email.Update ------------------------------------------------------------------------------
def _content(**kwargs):
    return Text(strip=False, max_length=MAX_CONTENT_CHARS, code=INVALID_VALUE, **kwargs)


class UpdateParams(LegacySchema):
    EmailID = Id(required=True, code=1, invalid_code=3)
    ValidateScope = Choice(VALIDATE_SCOPES, required=True, code=9, invalid_code=10)
    Mode = Choice(EMAIL_MODES, code=4)
    RelTemplateID = Int(min_value=0, max_value=2**31 - 1, code=INVALID_VALUE)
    EmailName = Text(max_length=255, code=INVALID_VALUE)
    FromName = Text(max_length=255, code=INVALID_VALUE)
    FromEmail = Text(max_length=255, code=6)
    ReplyToName = Text(max_length=255, code=INVALID_VALUE)
    ReplyToEmail = Text(max_length=255, code=7)
    Subject = Text(max_length=998, code=INVALID_VALUE)  # RFC 5322's line limit
    PreHeaderText = Text(max_length=1000, code=INVALID_VALUE)
    HTMLContent = _content()
    PlainContent = _content()
    ExtraContent1 = _content()
    ExtraContent2 = _content()
    FetchURL = HttpUrl(code=INVALID_VALUE)
    FetchPlainURL = HttpUrl(code=INVALID_VALUE)
    ImageEmbedding = Toggle(code=INVALID_VALUE)
    PlainContentAutoConvert = Toggle(code=INVALID_VALUE)
    SubjectSetToTitleElement = Toggle(code=INVALID_VALUE)
    OpenTracking = Toggle(code=INVALID_VALUE)
    LinkTracking = Toggle(code=INVALID_VALUE)
    UTMTracking = Toggle(code=INVALID_VALUE)
    UTMSource = Text(max_length=255, code=INVALID_VALUE)
    UTMMedium = Text(max_length=255, code=INVALID_VALUE)
    UTMCampaign = Text(max_length=255, code=INVALID_VALUE)
    UTMTerm = Text(max_length=255, code=INVALID_VALUE)
    UTMContent = Text(max_length=255, code=INVALID_VALUE)
    UTMMergeTags = Toggle(code=INVALID_VALUE)
    IsEmailTemplate = Toggle(code=INVALID_VALUE)


UPDATE_FIELD_MAP = {
    "EmailName": "email_name", "Mode": "mode", "RelTemplateID": "template_id",
    "IsEmailTemplate": "is_email_template", "FromName": "from_name", "FromEmail": "from_email",
    "ReplyToName": "reply_to_name", "ReplyToEmail": "reply_to_email", "Subject": "subject",
    "PreHeaderText": "pre_header_text", "HTMLContent": "html_content", "PlainContent": "plain_content",
    "ExtraContent1": "extra_content1", "ExtraContent2": "extra_content2", "FetchURL": "fetch_url",
    "FetchPlainURL": "fetch_plain_url", "ImageEmbedding": "image_embedding",
    "PlainContentAutoConvert": "plain_content_auto_convert",
    "SubjectSetToTitleElement": "subject_set_to_title_element", "OpenTracking": "open_tracking",
    "LinkTracking": "link_tracking", "UTMTracking": "utm_tracking", "UTMSource": "utm_source",
    "UTMMedium": "utm_medium", "UTMCampaign": "utm_campaign", "UTMTerm": "utm_term",
    "UTMContent": "utm_content", "UTMMergeTags": "utm_merge_tags",
}


def update(ctx: Context, p: dict) -> dict:
    changes = {UPDATE_FIELD_MAP[k]: v for k, v in p.items() if k in UPDATE_FIELD_MAP}
    _email, unknown = ctx.uow.emails.save(ctx.actor, p["EmailID"], changes, p["ValidateScope"])
    # Sendmill's addition (README): the content is saved; tags that cannot be filled in are listed.
    return {"UnknownTags": unknown}


EMAIL_UPDATE = Command(
    name="Email.Update", run=update, params=UpdateParams, permission="",
    errors={
        1: "Email ID is required",
        3: "Email does not exist",
        4: "Invalid mode specified",
        5: "Template ID is required when mode is 'Template'",
        6: "Invalid FromEmail format",
        7: "Invalid ReplyToEmail format",
        8: "Content type cannot be empty",
        9: "ValidateScope is required",
        10: "Invalid ValidateScope value",
        11: "Unsubscribe link is required in HTML content",
        12: "Unsubscribe link is required in Plain content",
        13: "Confirm link is required in HTML content",
        14: "Confirm link is required in Plain content",
        15: "Reject link is required in HTML content",
        16: "Reject link is required in Plain content",
        # v5.9.4's UTM codes.
        18: "Missing UTMSource parameter (required when UTMTracking is enabled)",
        19: "Missing UTMMedium parameter (required when UTMTracking is enabled)",
        20: "Missing UTMCampaign parameter (required when UTMTracking is enabled)",
        # Sendmill's additions: the legacy table has no code for a malformed optional value, nor for a
        # campaign of an untrusted account sending this email right now (README "Campaign approval").
        INVALID_VALUE: "Invalid parameter value",
        BEING_SENT: "The email is being sent by a campaign of an untrusted account; its content cannot change "
                    "until the send finishes or the campaign is canceled",
        TEMPLATE_NOT_FOUND: "Template not found (RelTemplateID names no email template this account may use)",
    },
    raises={
        TemplateNotFound: TEMPLATE_NOT_FOUND, EmailBeingSent: BEING_SENT, EmailNotFound: 3, MissingTemplateID: 5, InvalidFromEmail: 6, InvalidReplyToEmail: 7,
        EmptyEmailContent: 8, MissingUnsubscribeLinkHTML: 11, MissingUnsubscribeLinkPlain: 12,
        MissingConfirmLinkHTML: 13, MissingConfirmLinkPlain: 14, MissingRejectLinkHTML: 15,
        MissingRejectLinkPlain: 16, MissingUTMSource: 18, MissingUTMMedium: 19, MissingUTMCampaign: 20,
    },
)


# --- Email.Delete ------------------------------------------------------------------------------
def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.emails.delete(ctx.actor, p["EmailID"])
    return {}


EMAIL_DELETE = Command(
    name="Email.Delete", run=delete, params=_email_id_schema(1, 2), permission="",
    error_shape=SCALAR, success_extra={"ErrorText": ""},
    errors={
        1: "Required field missing: EmailID",
        # Sendmill's additions: the legacy table documents only code 1.
        2: "Email does not exist or does not belong to the user",
        3: "Email is the content of a campaign that may still send (Ready, Sending, Paused or Pending Approval) "
           "or of an Enabled autoresponder",
    },
    raises={EmailNotFound: 2, EmailInUse: 3},
)


# --- Email.Duplicate ---------------------------------------------------------------------------
def duplicate(ctx: Context, p: dict) -> dict:
    copy = ctx.uow.emails.duplicate(ctx.actor, p["EmailID"])
    return {"EmailID": str(copy.id), "EmailName": copy.email_name}  # a string, as the v5.6.x example shows


EMAIL_DUPLICATE = Command(
    name="Email.Duplicate", run=duplicate, params=_email_id_schema(1, 1), permission="", error_shape=LIST,
    errors={1: "The 'EmailID' parameter is missing or invalid.",
            2: "The specified email does not exist or you do not have permission to access it."},
    raises={EmailNotFound: 2},
)

# --- Email.EmailPreview ------------------------------------------------------------------------
PREVIEW_INVALID_VALUE = 22  # Sendmill's code for a malformed optional value (README, "Error codes")


class PreviewParams(LegacySchema):
    EmailID = Id(code=1, invalid_code=3)
    EmailAddress = Text(max_length=255, code=2, invalid_code=4)
    CampaignID = Id(code=7)
    ListID = Id(code=6)
    SubscriberID = Id(code=5)
    EmailType = Text(max_length=64, lenient=True)   # "optinconfirmation", anything else is a regular email
    HTMLContent = Text(strip=False, max_length=MAX_CONTENT_CHARS, code=PREVIEW_INVALID_VALUE)
    PlainTextContent = Text(strip=False, max_length=MAX_CONTENT_CHARS, code=PREVIEW_INVALID_VALUE)
    FromName = Text(max_length=255, code=PREVIEW_INVALID_VALUE)
    FromEmailAddress = Text(max_length=255, code=PREVIEW_INVALID_VALUE)
    Subject = Text(max_length=998, code=PREVIEW_INVALID_VALUE)
    PreHeaderText = Text(max_length=1000, code=PREVIEW_INVALID_VALUE)
    ReplyToName = Text(max_length=255, code=PREVIEW_INVALID_VALUE)
    ReplyToEmail = Text(max_length=255, code=PREVIEW_INVALID_VALUE)
    # AddUserGroupHeaderFooter and SenderDomain are accepted and ignored: Sendmill has neither.


def preview(ctx: Context, p: dict) -> dict:
    overrides = Overrides(subject=p.get("Subject"), html=p.get("HTMLContent"), plain=p.get("PlainTextContent"),
                          from_name=p.get("FromName"), from_email=p.get("FromEmailAddress"),
                          reply_to_name=p.get("ReplyToName"), reply_to_email=p.get("ReplyToEmail"),
                          pre_header=p.get("PreHeaderText"))
    ctx.uow.test_sends.send_email_preview(
        ctx.actor, p.get("EmailID"), p.get("EmailAddress"), campaign_id=p.get("CampaignID"),
        list_id=p.get("ListID"), subscriber_id=p.get("SubscriberID"), overrides=overrides,
        opt_in=p.get("EmailType", "").lower() == "optinconfirmation")
    return {}


EMAIL_PREVIEW = Command(
    name="Email.EmailPreview", run=preview, params=PreviewParams, permission="", error_shape=SCALAR,
    errors={
        1: "Email ID is required.",
        2: "Email address is required.",
        3: "Email not found.",
        4: "Invalid email address format.",
        5: "Subscriber not found.",
        6: "List not found.",
        7: "Campaign not found.",
        8: "Sender domain not found or the message could not be delivered.",
        9: "Email content is missing.",
        20: "Preview rate limit exceeded; retry after RetryAfter seconds.",
        21: "The recipient address is suppressed.",
        # Sendmill's addition: the legacy table has no code for a malformed optional value.
        PREVIEW_INVALID_VALUE: "Invalid parameter value",
        23: ACCOUNT_NOT_ACTIVE,
        24: FROM_NOT_ALLOWED,
    },
    raises={
        PreviewContentRequired: 1, PreviewRecipientRequired: 2, EmailNotFound: 3, PreviewRecipientInvalid: 4,
        SubscriberNotFound: 5, ListNotFound: 6, CampaignNotFound: 7, SmtpNotConfigured: 8,
        PreviewDeliveryFailed: 8, PreviewContentMissing: 9, PreviewRateLimited: 20,
        PreviewRecipientSuppressed: 21, AccountNotActive: 23, SenderNotAllowed: 24,
    },
)

COMMANDS = (EMAIL_CREATE, EMAIL_DELETE, EMAIL_DUPLICATE, EMAIL_GET, EMAIL_PREVIEW, EMAIL_UPDATE, EMAILS_GET)
