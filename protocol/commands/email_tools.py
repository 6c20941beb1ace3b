"""Email.Html2Text, Email.Delivery.Test and Attachment.Delete (v5.9.4 emails.md)."""
from __future__ import annotations

from marshmallow import ValidationError

from engine.delivery.delivery_test import DeliveryTestFailed, send_delivery_test
from engine.delivery.html_text import html_to_text
from protocol.command import ADMIN, ERRORS, LIST, SCALAR, Command, Context
from protocol.params import Id, LegacyField, LegacySchema

MAX_HTML_CHARS = 2_000_000  # an email body; the request size limit stops anything far larger first


class HtmlSource(LegacyField):
    """HTML as sent: an empty string is a value (its plain text is empty), only absence is missing."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value)
        if len(text) > MAX_HTML_CHARS:
            raise ValidationError(f"must be at most {MAX_HTML_CHARS} characters")
        return text


# --- Email.Html2Text ---------------------------------------------------------------------------
class Html2TextParams(LegacySchema):
    HTMLContent = HtmlSource(required=True, code=1)


def html2text(ctx: Context, p: dict) -> dict:
    # The converter the delivery pipeline itself uses for an email without PlainContent (html2text, in
    # engine/delivery/html_text.py): what this answers is what Sendmill would mail as the plain part.
    source = p["HTMLContent"]
    return {"PlainContent": html_to_text(source).strip("\n") if source.strip() else ""}


EMAIL_HTML2TEXT = Command(
    name="Email.Html2Text", run=html2text, params=Html2TextParams, permission="", error_shape=ERRORS,
    read_only=True,
    errors={
        1: "Missing HTMLContent parameter",
        2: "HTML conversion failed",
    },
)


# --- Email.Delivery.Test -----------------------------------------------------------------------
def delivery_test(ctx: Context, p: dict) -> dict:
    send_delivery_test(ctx.uow, ctx.actor)
    return {}


EMAIL_DELIVERY_TEST = Command(
    name="Email.Delivery.Test", run=delivery_test, auth=ADMIN, error_shape=SCALAR, read_only=True,
    errors={1: "Email delivery test failed"},
    raises={DeliveryTestFailed: 1},
)


# --- Attachment.Delete -------------------------------------------------------------------------
class AttachmentParams(LegacySchema):
    AttachmentID = Id(required=True, code=1)


def delete_attachment(ctx: Context, p: dict) -> dict:
    # Sendmill stores no attachments (no email command takes a file), so no AttachmentID names a row of
    # the caller: the delete removes nothing, and answers as the legacy delete of an unknown row did.
    return {}


ATTACHMENT_DELETE = Command(
    name="Attachment.Delete", run=delete_attachment, params=AttachmentParams, permission="", error_shape=LIST,
    success_extra={"ErrorText": ""}, read_only=True,
    errors={1: "Missing required parameter AttachmentID"},
)

COMMANDS = (EMAIL_HTML2TEXT, EMAIL_DELIVERY_TEST, ATTACHMENT_DELETE)
