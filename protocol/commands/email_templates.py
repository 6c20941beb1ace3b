"""Gallery email templates (v5.9.4 emails.md: email.template.create / get / update / delete,
email.templates.get; protocol.md §7): designs an email's content starts from.

Users and administrators both call them (permission `EmailTemplates.Manage` for users). Codes are
lists, as every example on the page shows them. Codes the page lacks are Sendmill's additions (README
"Templates"). Who sees and changes which template: engine/campaigns/templates.py.
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import TemplateAccessDenied, TemplateNotFound, TemplateOwnerNotFound
from engine.models.emails import MAX_CONTENT_CHARS
from engine.models.templates import ACCESS_TYPES
from engine.validation import MAX_ID
from protocol.command import ANY, Command, Context
from protocol.params import Choice, Id, IdList, Int, LegacySchema, ParamError, Text
from protocol.views.templates import template_row

PERMISSION = "EmailTemplates.Manage"
INVALID_VALUE = 3   # Sendmill's code for a malformed optional value on Create and Update
OWNER_NOT_FOUND = 4  # Sendmill's code: RelOwnerUserID names no user
ADDED = {INVALID_VALUE: "Invalid parameter value", OWNER_NOT_FOUND: "RelOwnerUserID names no user"}

# Wire parameter → the engine's column (engine/campaigns/templates.py COLUMNS).
COLUMNS = {"TemplateName": "name", "TemplateDescription": "description", "TemplateSubject": "subject",
           "TemplateHTMLContent": "html_content", "TemplatePlainContent": "plain_content",
           "TemplateThumbnailPath": "thumbnail_path", "AccessType": "access_type", "RelOwnerUserID": "owner_user_id"}


def _content(**kwargs):
    # The same limits as an email's content (Email.Update).
    return Text(strip=False, max_length=MAX_CONTENT_CHARS, **kwargs)


class TemplateFields(LegacySchema):
    """Everything a template has, every one optional (Create makes the name required)."""

    TemplateDescription = Text(strip=False, max_length=10_000, code=INVALID_VALUE)
    TemplateSubject = Text(max_length=998, code=INVALID_VALUE)   # RFC 5322's line limit, as Email.Update
    TemplateHTMLContent = _content(code=INVALID_VALUE)
    TemplatePlainContent = _content(code=INVALID_VALUE)
    TemplateThumbnailPath = Text(max_length=1000, code=INVALID_VALUE)
    RelOwnerUserID = Int(min_value=0, max_value=MAX_ID, code=INVALID_VALUE)   # 0: global (administrators)
    AccessType = Choice(ACCESS_TYPES, code=INVALID_VALUE)


def _columns(p: dict) -> dict:
    return {COLUMNS[key]: value for key, value in p.items() if key in COLUMNS}


# --- Email.Template.Create ---------------------------------------------------------------------
class CreateParams(TemplateFields):
    TemplateName = Text(required=True, max_length=255, code=1, invalid_code=INVALID_VALUE)

    @validates_schema
    def has_content(self, data, **kwargs):
        if not (data.get("TemplateHTMLContent", "").strip() or data.get("TemplatePlainContent", "").strip()):
            raise ParamError(2, "at least one of TemplateHTMLContent or TemplatePlainContent must be provided")


def create(ctx: Context, p: dict) -> dict:
    template, unknown = ctx.uow.templates.create(ctx.actor, _columns(p))
    # Sendmill's addition, as Email.Update answers it: tags no subscriber can fill in.
    return {"TemplateID": template.id, "UnknownTags": unknown}


EMAIL_TEMPLATE_CREATE = Command(
    name="Email.Template.Create", run=create, params=CreateParams, auth=ANY, permission=PERMISSION,
    errors={1: "Missing required parameter TemplateName",
            2: "At least one of TemplateHTMLContent or TemplatePlainContent must be provided", **ADDED},
    raises={TemplateOwnerNotFound: OWNER_NOT_FOUND},
)


# --- Email.Template.Get ------------------------------------------------------------------------
class TemplateIdParams(LegacySchema):
    TemplateID = Id(required=True, code=1)


def get(ctx: Context, p: dict) -> dict:
    return {"Template": template_row(ctx.uow.templates.get(ctx.actor, p["TemplateID"]))}


EMAIL_TEMPLATE_GET = Command(
    name="Email.Template.Get", run=get, params=TemplateIdParams, auth=ANY, permission=PERMISSION, read_only=True,
    errors={1: "Missing required parameter TemplateID", 2: "Template not found", 3: "Access denied to template"},
    raises={TemplateNotFound: 2, TemplateAccessDenied: 3},
)


# --- Email.Templates.Get -----------------------------------------------------------------------
def list_templates(ctx: Context, p: dict) -> dict:
    rows = [template_row(t) for t in ctx.uow.templates.search(ctx.actor)]
    return {"TotalTemplateCount": len(rows), "Templates": rows}


EMAIL_TEMPLATES_GET = Command(
    name="Email.Templates.Get", run=list_templates, auth=ANY, permission=PERMISSION, read_only=True,
)


# --- Email.Template.Update ---------------------------------------------------------------------
class UpdateParams(TemplateFields):
    TemplateID = Id(required=True, code=1, invalid_code=2)
    TemplateName = Text(max_length=255, code=INVALID_VALUE)


def update(ctx: Context, p: dict) -> dict:
    _template, unknown = ctx.uow.templates.update(ctx.actor, p["TemplateID"], _columns(p))
    return {"UnknownTags": unknown}


EMAIL_TEMPLATE_UPDATE = Command(
    name="Email.Template.Update", run=update, params=UpdateParams, auth=ANY, permission=PERMISSION,
    errors={1: "Missing required parameter TemplateID", 2: "Template not found or access denied", **ADDED},
    raises={TemplateNotFound: 2, TemplateOwnerNotFound: OWNER_NOT_FOUND},
)


# --- Email.Template.Delete ---------------------------------------------------------------------
class DeleteParams(LegacySchema):
    Templates = IdList(required=True, code=1, invalid_code=2)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.templates.delete(ctx.actor, p["Templates"])
    return {}


EMAIL_TEMPLATE_DELETE = Command(
    name="Email.Template.Delete", run=delete, params=DeleteParams, auth=ANY, permission=PERMISSION,
    errors={1: "Missing required parameter Templates", 2: "No templates found or access denied for deletion"},
    raises={TemplateNotFound: 2},
)

COMMANDS = (EMAIL_TEMPLATE_CREATE, EMAIL_TEMPLATE_DELETE, EMAIL_TEMPLATE_GET, EMAIL_TEMPLATE_UPDATE,
            EMAIL_TEMPLATES_GET)
