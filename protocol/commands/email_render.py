"""Email.Render (GET /api/v1/email.render) and Email.Smtp.Render (POST /api/v1/email.smtp.render), v5.9.4
emails.md. Both answer errors as a scalar code with the /api/v1 `Errors` array the pages show."""
from __future__ import annotations

from engine.campaigns.email_render import (
    RenderAutoResponderInvalid, RenderCampaignInvalid, RenderEmailInvalid, RenderListInvalid, RenderQueueRowInvalid,
    RenderSubscriberInvalid, RenderUserInvalid,
)
from protocol.command import ANY, ERRORS, Command, Context
from protocol.params import MAX_ID, Bool, Id, Int, LegacySchema


def _ref(missing: int, invalid: int, **kwargs):
    """An ID that may be 0 (nothing in particular), as the legacy browser-view links pass it."""
    return Int(min_value=0, max_value=MAX_ID, code=missing, invalid_code=invalid, **kwargs)


# --- Email.Render ------------------------------------------------------------------------------
class RenderParams(LegacySchema):
    UserID = Id(required=True, code=1, invalid_code=10)
    ListID = Id(required=True, code=2, invalid_code=11)
    SubscriberID = _ref(3, 12, required=True)
    CampaignID = _ref(4, 13, required=True)
    AutoResponderID = _ref(5, 14, required=True)
    EmailID = Id(required=True, code=6, invalid_code=15)
    QueueRowID = _ref(7, 16, required=True)
    IsPreview = Bool(required=True, code=8)
    DisablePersonalization = Bool(required=True, code=9)


def render(ctx: Context, p: dict) -> dict:
    view = ctx.uow.email_renderer.browser(
        ctx.actor, user_id=p["UserID"], list_id=p["ListID"], subscriber_id=p["SubscriberID"],
        campaign_id=p["CampaignID"], autoresponder_id=p["AutoResponderID"], email_id=p["EmailID"],
        queue_row_id=p["QueueRowID"], preview=p["IsPreview"], personalize=not p["DisablePersonalization"])
    return {"Subject": view.subject, "EmailContent": view.html}


EMAIL_RENDER = Command(
    name="Email.Render", run=render, params=RenderParams, permission="", error_shape=ERRORS, read_only=True,
    errors={
        1: "Missing UserID parameter", 2: "Missing ListID parameter", 3: "Missing SubscriberID parameter",
        4: "Missing CampaignID parameter", 5: "Missing AutoResponderID parameter", 6: "Missing EmailID parameter",
        7: "Missing QueueRowID parameter", 8: "Missing IsPreview parameter",
        9: "Missing DisablePersonalization parameter", 10: "Invalid UserID parameter",
        11: "Invalid ListID parameter", 12: "Invalid SubscriberID parameter", 13: "Invalid CampaignID parameter",
        14: "Invalid AutoResponderID parameter", 15: "Invalid EmailID parameter", 16: "Invalid QueueRowID parameter",
    },
    raises={RenderUserInvalid: 10, RenderListInvalid: 11, RenderSubscriberInvalid: 12, RenderCampaignInvalid: 13,
            RenderAutoResponderInvalid: 14, RenderEmailInvalid: 15, RenderQueueRowInvalid: 16},
)


# --- Email.Smtp.Render -------------------------------------------------------------------------
class SmtpRenderParams(LegacySchema):
    UserID = Id(code=1)
    CampaignID = Id(code=2)
    AutoResponderID = Id(code=3)
    EmailID = Id(code=4)
    ListID = Id(code=5)
    SubscriberID = Id(code=6)
    IsPreview = Bool()


def smtp_render(ctx: Context, p: dict) -> dict:
    view = ctx.uow.email_renderer.smtp(
        ctx.actor, user_id=p.get("UserID"), campaign_id=p.get("CampaignID"), autoresponder_id=p.get("AutoResponderID"),
        email_id=p.get("EmailID"), list_id=p.get("ListID"), subscriber_id=p.get("SubscriberID"),
        preview=p.get("IsPreview", False))
    c = view.content
    return {
        "Subject": view.subject, "PreHeader": c.pre_header, "HTMLBody": view.html, "PlainBody": view.plain,
        "SMTPHeaders": view.headers, "SMTPBody": view.body, "EmailSizeBytes": view.size,
        "EmailSizeKB": round(view.size / 1024, 2), "EmailSizeMB": round(view.size / 1024 / 1024, 2),
        "AttachmentCount": 0,   # Sendmill mails no attachments
        "ContentType": "MultiPart" if view.html and view.plain else "HTML" if view.html else "Plain",
        "HasHTMLContent": bool(view.html), "HasPlainContent": bool(view.plain), "ImageEmbeddingEnabled": False,
        "FromEmail": c.from_email, "FromName": c.from_name, "ReplyToEmail": c.reply_to_email,
        "ReplyToName": c.reply_to_name, "MFROMDomain": view.bounce_domain, "TrackingDomain": view.tracking_domain,
    }


EMAIL_SMTP_RENDER = Command(
    name="Email.Smtp.Render", run=smtp_render, params=SmtpRenderParams, auth=ANY, permission="", error_shape=ERRORS,
    read_only=True,
    errors={
        1: "Missing or invalid UserID parameter",
        2: "Invalid CampaignID parameter",
        3: "Invalid AutoResponderID parameter",
        4: "Missing or invalid EmailID parameter",
        5: "Missing or invalid ListID parameter",
        6: "Missing or invalid SubscriberID parameter",
    },
    raises={RenderUserInvalid: 1, RenderCampaignInvalid: 2, RenderAutoResponderInvalid: 3, RenderEmailInvalid: 4,
            RenderListInvalid: 5, RenderSubscriberInvalid: 6},
)

COMMANDS = (EMAIL_RENDER, EMAIL_SMTP_RENDER)
