"""How an email content record looks on the wire (Email.Get, Emails.Get; protocol.md §7.1)."""
from __future__ import annotations

import json

from engine.models import Email

# The documented column set, in the order of the emails.get `Fields` allow-list.
FIELDS = (
    "EmailID", "RelUserID", "EmailName", "FromName", "FromEmail", "ReplyToName", "ReplyToEmail",
    "ContentType", "Mode", "FetchURL", "FetchPlainURL", "Subject", "PlainContent", "HTMLContent",
    "ExtraContent1", "ExtraContent2", "ImageEmbedding", "RelTemplateID", "PreHeaderText", "Options",
    "IsEmailTemplate", "CreatedAt", "UpdatedAt", "DeletedAt", "Attachments",
)
_BY_LOWER = {name.lower(): name for name in FIELDS}


def content_type(e: Email) -> str:
    html = bool(e.html_content.strip()) or (e.mode == "Import" and bool(e.fetch_url))
    plain = bool(e.plain_content.strip()) or (e.mode == "Import" and bool(e.fetch_plain_url)) or \
        (html and e.plain_content_auto_convert)
    return "Both" if html and plain else "HTML" if html else "Plain" if plain else ""


def options(e: Email) -> dict:
    """The per-email tracking and conversion switches, which the legacy row keeps in `Options`."""
    return {
        "OpenTracking": e.open_tracking, "LinkTracking": e.link_tracking,
        "UTMTracking": e.utm_tracking, "UTMSource": e.utm_source, "UTMMedium": e.utm_medium,
        "UTMCampaign": e.utm_campaign, "UTMTerm": e.utm_term, "UTMContent": e.utm_content,
        "UTMMergeTags": e.utm_merge_tags, "PlainContentAutoConvert": e.plain_content_auto_convert,
        "SubjectSetToTitleElement": e.subject_set_to_title_element,
    }


def email_row(e: Email, *, bulk: bool = False) -> dict:
    """The legacy database row: IDs as numeric strings, `Options` as a JSON string.

    `bulk` is emails.get's bulk mode, which decodes `Options` and adds `Attachments`.
    """
    row = {
        "EmailID": str(e.id), "RelUserID": str(e.owner_user_id), "EmailName": e.email_name,
        "FromName": e.from_name, "FromEmail": e.from_email, "ReplyToName": e.reply_to_name,
        "ReplyToEmail": e.reply_to_email, "ContentType": content_type(e), "Mode": e.mode,
        "FetchURL": e.fetch_url, "FetchPlainURL": e.fetch_plain_url, "Subject": e.subject,
        "PlainContent": e.plain_content, "HTMLContent": e.html_content,
        "ExtraContent1": e.extra_content1, "ExtraContent2": e.extra_content2,
        "ImageEmbedding": "Enabled" if e.image_embedding else "Disabled",
        "RelTemplateID": str(e.template_id or 0), "PreHeaderText": e.pre_header_text,
        "Options": options(e) if bulk else json.dumps(options(e), separators=(",", ":")),
        "IsEmailTemplate": "1" if e.is_email_template else "0",
        "CreatedAt": e.created_at, "UpdatedAt": e.updated_at,
        "DeletedAt": "",  # deletion is permanent, so a row that exists was never deleted
    }
    if bulk:
        row["Attachments"] = []  # Sendmill stores no attachments
    return row


def wire_fields(requested: list[str]) -> tuple[str, ...]:
    """The allow-listed names among `requested` (any case; unknown ones dropped), EmailID always first."""
    wanted = {_BY_LOWER[name.strip().lower()] for name in requested if name.strip().lower() in _BY_LOWER}
    wanted.add("EmailID")
    return tuple(name for name in FIELDS if name in wanted)


def project(row: dict, fields: tuple[str, ...] | None) -> dict:
    return row if fields is None else {k: row[k] for k in fields if k in row}
