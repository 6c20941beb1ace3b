"""How a gallery email template looks on the wire (Email.Template.Get, Email.Templates.Get; emails.md)."""
from __future__ import annotations

from engine.models.templates import EmailTemplate


def template_row(t: EmailTemplate) -> dict:
    """IDs as integers, as the v5.9.4 examples show them; RelOwnerUserID 0 for a global template."""
    return {
        "TemplateID": t.id, "TemplateName": t.name, "TemplateDescription": t.description,
        "TemplateSubject": t.subject, "TemplateHTMLContent": t.html_content,
        "TemplatePlainContent": t.plain_content, "TemplateThumbnailPath": t.thumbnail_path,
        "RelOwnerUserID": t.owner_user_id or 0, "AccessType": t.access_type,
    }
