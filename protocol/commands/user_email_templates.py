"""User email templates (v5.9.4 user-email-templates.md: useremailtemplate.create / get / update /
delete / copy / preview, useremailtemplates.get, and the administrators' useremailtemplate.copytouser).

They are the caller's own emails marked as templates (engine/campaigns/user_templates.py). On
/api.php the codes are lists with their texts, like the other email commands; the page's
`{"Errors": [...]}` examples are its /api/v1 envelope, which Sendmill does not serve. Codes the page
lacks are Sendmill's additions (README "Templates").
"""
from __future__ import annotations

import json

from marshmallow import ValidationError, validates_schema

from engine.campaigns.template_preview import render_preview
from engine.errors import EmailBeingSent, SourceUserNotFound, TargetUserNotFound, UserTemplateNotFound
from engine.models.emails import MAX_CONTENT_CHARS
from protocol.command import ADMIN, Command, Context
from protocol.params import Choice, Id, IdList, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.views.emails import email_row, project, wire_fields

PERMISSION = "EmailTemplates.Manage"
CONTENT_TYPES = ("HTML", "Plain", "Both")
MODES = ("Stripo", "Editor")
IMAGE_EMBEDDING = ("Enabled", "Disabled")
MAX_LIMIT = 100
# Wire parameter → the engine's column (engine/campaigns/user_templates.py COLUMNS).
COLUMNS = {"EmailName": "email_name", "Subject": "subject", "PreHeaderText": "pre_header_text",
           "ContentType": "content_type", "HTMLContent": "html_content", "PlainContent": "plain_content",
           "ExtraContent1": "extra_content1", "ExtraContent2": "extra_content2", "Mode": "mode",
           "ImageEmbedding": "image_embedding"}
TEMPLATE_NOT_FOUND = "Email template not found"


def _columns(p: dict) -> dict:
    values = {COLUMNS[key]: value for key, value in p.items() if key in COLUMNS}
    if "image_embedding" in values:
        values["image_embedding"] = values["image_embedding"] == "Enabled"
    return values


def _content(code: int):
    # The same limits as an email's content (Email.Update).
    return Text(strip=False, max_length=MAX_CONTENT_CHARS, code=code)


def _template_fields(invalid: int, content_type: int, mode: int, image: int) -> dict:
    """The optional template fields, with this command's codes."""
    return {
        "PreHeaderText": Text(max_length=1000, code=invalid),
        "ContentType": Choice(CONTENT_TYPES, code=content_type),
        "HTMLContent": _content(invalid), "PlainContent": _content(invalid),
        "ExtraContent1": _content(invalid), "ExtraContent2": _content(invalid),
        "Mode": Choice(MODES, code=mode), "ImageEmbedding": Choice(IMAGE_EMBEDDING, code=image),
    }


def _email_id_schema(missing: int, invalid: int, name: str = "EmailID"):
    return LegacySchema.from_dict({name: Id(required=True, code=missing, invalid_code=invalid)})


# --- UserEmailTemplate.Create ------------------------------------------------------------------
CREATE_INVALID = 6   # Sendmill's: a value over its length limit
CreateParams = LegacySchema.from_dict({
    "EmailName": Text(required=True, max_length=255, code=1, invalid_code=CREATE_INVALID),
    "Subject": Text(required=True, max_length=998, code=2, invalid_code=CREATE_INVALID),
    **_template_fields(CREATE_INVALID, 3, 4, 5),
}, name="CreateParams")


def create(ctx: Context, p: dict) -> dict:
    template, unknown = ctx.uow.user_templates.create(ctx.actor, _columns(p))
    # UnknownTags: Sendmill's addition, as Email.Update answers it.
    return {"EmailID": template.id, "UnknownTags": unknown}


USER_EMAIL_TEMPLATE_CREATE = Command(
    name="UserEmailTemplate.Create", run=create, params=CreateParams, permission=PERMISSION,
    errors={1: "Missing EmailName parameter", 2: "Missing Subject parameter",
            3: "Invalid ContentType. Must be one of: HTML, Plain, Both", 4: "Invalid Mode. Must be one of: Stripo, Editor",
            5: "Invalid ImageEmbedding. Must be one of: Enabled, Disabled",
            CREATE_INVALID: "Invalid parameter value (too long)"},
)


# --- UserEmailTemplates.Get --------------------------------------------------------------------
class ListParams(LegacySchema):
    # The page documents no error codes: a value that cannot be read falls back to its default.
    OrderField = Choice(("CreatedAt", "EmailName"), lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    Limit = Int(lenient=True)
    Offset = Int(min_value=0, max_value=2**31 - 1, lenient=True)
    Fields = Text(max_length=2000, lenient=True)


def list_templates(ctx: Context, p: dict) -> dict:
    limit = min(max(p.get("Limit", 25), 1), MAX_LIMIT)
    total, rows = ctx.uow.user_templates.search(ctx.actor, p.get("OrderField", "CreatedAt"),
                                                p.get("OrderType", "DESC"), limit, p.get("Offset", 0))
    fields = wire_fields(p["Fields"].split(",")) if p.get("Fields") else None
    return {"TotalEmailTemplateCount": total, "EmailTemplates": [project(email_row(e), fields) for e in rows]}


USER_EMAIL_TEMPLATES_GET = Command(
    name="UserEmailTemplates.Get", run=list_templates, params=ListParams, permission=PERMISSION, read_only=True,
)


# --- UserEmailTemplate.Get ---------------------------------------------------------------------
def get(ctx: Context, p: dict) -> dict:
    row = email_row(ctx.uow.user_templates.get(ctx.actor, p["EmailID"]))
    return {"EmailTemplate": {**row, "Attachments": []}}   # Sendmill stores no attachments


USER_EMAIL_TEMPLATE_GET = Command(
    name="UserEmailTemplate.Get", run=get, params=_email_id_schema(1, 2), permission=PERMISSION, read_only=True,
    errors={1: "Missing EmailID parameter", 2: "Invalid EmailID. Must be a numeric value.", 3: TEMPLATE_NOT_FOUND},
    raises={UserTemplateNotFound: 3},
)


# --- UserEmailTemplate.Update ------------------------------------------------------------------
UPDATE_INVALID = 7   # Sendmill's: a value over its length limit
BEING_SENT = 8       # Sendmill's: an untrusted account's campaign is sending this template as its email
UpdateParams = LegacySchema.from_dict({
    "EmailID": Id(required=True, code=1, invalid_code=2),
    "EmailName": Text(max_length=255, code=UPDATE_INVALID),
    "Subject": Text(max_length=998, code=UPDATE_INVALID),
    **_template_fields(UPDATE_INVALID, 3, 4, 5),
}, name="UpdateParams")


def update(ctx: Context, p: dict) -> dict:
    _template, unknown = ctx.uow.user_templates.update(ctx.actor, p["EmailID"], _columns(p))
    return {"UnknownTags": unknown}


USER_EMAIL_TEMPLATE_UPDATE = Command(
    name="UserEmailTemplate.Update", run=update, params=UpdateParams, permission=PERMISSION,
    errors={1: "Missing EmailID parameter", 2: "Invalid EmailID. Must be a numeric value.",
            3: "Invalid ContentType. Must be one of: HTML, Plain, Both", 4: "Invalid Mode. Must be one of: Stripo, Editor",
            5: "Invalid ImageEmbedding. Must be one of: Enabled, Disabled", 6: TEMPLATE_NOT_FOUND,
            UPDATE_INVALID: "Invalid parameter value (too long)",
            BEING_SENT: "The template is being sent as the email of a campaign of an untrusted account; its content "
                        "cannot change until the send finishes or the campaign is canceled"},
    raises={UserTemplateNotFound: 6, EmailBeingSent: BEING_SENT},
)


# --- UserEmailTemplate.Delete ------------------------------------------------------------------
class DeleteParams(LegacySchema):
    EmailID = IdList(required=True, code=1, invalid_code=2)


def delete(ctx: Context, p: dict) -> dict:
    return {"DeletedCount": ctx.uow.user_templates.delete(ctx.actor, p["EmailID"])}


USER_EMAIL_TEMPLATE_DELETE = Command(
    name="UserEmailTemplate.Delete", run=delete, params=DeleteParams, permission=PERMISSION,
    errors={1: "Missing EmailID parameter",
            2: "Invalid EmailID. Must be numeric IDs, comma-separated."},   # 2: Sendmill's addition
)


# --- UserEmailTemplate.Copy --------------------------------------------------------------------
def copy(ctx: Context, p: dict) -> dict:
    template = ctx.uow.user_templates.copy(ctx.actor, p["EmailID"])
    return {"EmailID": template.id, "EmailName": template.email_name}


USER_EMAIL_TEMPLATE_COPY = Command(
    name="UserEmailTemplate.Copy", run=copy, params=_email_id_schema(1, 2), permission=PERMISSION,
    errors={1: "Missing EmailID parameter", 2: "Invalid EmailID. Must be a numeric value.", 3: TEMPLATE_NOT_FOUND},
    raises={UserTemplateNotFound: 3},
)


# --- UserEmailTemplate.CopyToUser --------------------------------------------------------------
CopyToUserParams = LegacySchema.from_dict({
    "EmailID": Id(required=True, code=1, invalid_code=4),
    "SourceUserID": Id(required=True, code=2, invalid_code=5),
    "TargetUserID": Id(required=True, code=3, invalid_code=6),
}, name="CopyToUserParams")


def copy_to_user(ctx: Context, p: dict) -> dict:
    template = ctx.uow.user_templates.copy_to_user(p["EmailID"], p["SourceUserID"], p["TargetUserID"])
    return {"EmailID": template.id}


USER_EMAIL_TEMPLATE_COPY_TO_USER = Command(
    name="UserEmailTemplate.CopyToUser", run=copy_to_user, params=CopyToUserParams, auth=ADMIN, permission="",
    errors={1: "Missing EmailID parameter", 2: "Missing SourceUserID parameter", 3: "Missing TargetUserID parameter",
            4: "Invalid EmailID. Must be a numeric value.", 5: "Invalid SourceUserID. Must be a numeric value.",
            6: "Invalid TargetUserID. Must be a numeric value.", 7: "Source user not found",
            8: "Target user not found", 9: "Email template not found for source user"},
    raises={SourceUserNotFound: 7, TargetUserNotFound: 8, UserTemplateNotFound: 9},
)


# --- UserEmailTemplate.Preview -----------------------------------------------------------------
MAX_SAMPLE_KEYS = 500


class SampleData(LegacyField):
    """A map of merge-tag values: an object (JSON body) or a JSON object in a string (form body)."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValidationError("must be an object") from None
        if not isinstance(value, dict) or len(value) > MAX_SAMPLE_KEYS:
            raise ValidationError(f"must be an object (at most {MAX_SAMPLE_KEYS} keys)")
        return {str(k): v for k, v in value.items()}


class StrictBool(LegacyField):
    """true/false (or 1/0, yes/no) and nothing else: IncludeBranding has a code for anything else."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        text = self._scalar_text(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValidationError("must be true or false")


class PreviewParams(LegacySchema):
    EmailTemplateID = Id(required=True, code=1, invalid_code=2)
    SampleData = SampleData(code=4)
    IncludeBranding = StrictBool(code=6)

    @validates_schema
    def scalar_samples(self, data, **kwargs):
        values = data.get("SampleData", {}).values()
        if any(not (v is None or isinstance(v, (str, int, float, bool))) for v in values):
            raise ParamError(5, "SampleData values must be scalar (string, number, boolean) or null")


def preview(ctx: Context, p: dict) -> dict:
    html, plain = render_preview(ctx.uow, ctx.actor, p["EmailTemplateID"], p.get("SampleData", {}))
    return {"HTMLContent": html, "PlainContent": plain}


USER_EMAIL_TEMPLATE_PREVIEW = Command(
    name="UserEmailTemplate.Preview", run=preview, params=PreviewParams, permission=PERMISSION, read_only=True,
    errors={1: "Missing EmailTemplateID parameter", 2: "Invalid EmailTemplateID. Must be a numeric value.",
            3: TEMPLATE_NOT_FOUND, 4: "Invalid SampleData. Must be an object.",
            5: "Invalid SampleData values. All values must be scalar (string, number, boolean) or null.",
            6: "Invalid IncludeBranding. Must be a boolean value."},
    raises={UserTemplateNotFound: 3},
)

COMMANDS = (USER_EMAIL_TEMPLATE_COPY, USER_EMAIL_TEMPLATE_COPY_TO_USER, USER_EMAIL_TEMPLATE_CREATE,
            USER_EMAIL_TEMPLATE_DELETE, USER_EMAIL_TEMPLATE_GET, USER_EMAIL_TEMPLATE_PREVIEW,
            USER_EMAIL_TEMPLATE_UPDATE, USER_EMAIL_TEMPLATES_GET)
