"""Example calls: gallery email templates (an administrator's shared one, alice's own), an email built
from one, and alice's user email templates from creation to deletion.

Uses ADMIN, SID, USER_ID (alice) and DEFAULT_GROUP_ID from the account steps. Alice's group requires the
unsubscribe link in campaign emails, so the templates carry it.
"""
from __future__ import annotations

from tests.reference.recorder import Call

TEMPLATE_HTML = ('<html><body><h1>Monthly news</h1>'
                 '<p>Hello %Subscriber:EmailAddress%!</p><p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>'
                 '</body></html>')


def a(command: str, params: dict | None = None, **kwargs) -> Call:
    """A call by the administrator."""
    return Call(command, params or {}, session="ADMIN", **kwargs)


STEPS = [
    # Gallery templates: a global one every account may use, and alice's own
    a("Email.Template.Create", {"TemplateName": "Newsletter", "TemplateDescription": "Monthly newsletter design",
                                "TemplateSubject": "Newsletter", "TemplateHTMLContent": TEMPLATE_HTML,
                                "AccessType": "Public"}, save={"GALLERY_TEMPLATE_ID": "TemplateID"}),
    Call("Email.Template.Create", {"TemplateName": "Announcement", "TemplateSubject": "News from Doe Trading",
                                   "TemplatePlainContent": "Hello! Unsubscribe: %Link:Unsubscribe%"},
         save={"OWN_TEMPLATE_ID": "TemplateID"}),
    Call("Email.Template.Update", {"TemplateID": "{OWN_TEMPLATE_ID}", "TemplateDescription": "Short announcements"}),
    Call("Email.Template.Get", {"TemplateID": "{GALLERY_TEMPLATE_ID}"}),
    Call("Email.Templates.Get"),
    # An email whose content comes from the gallery template
    Call("Email.Create", {"EmailName": "December newsletter"}, save={"TEMPLATED_EMAIL_ID": "EmailID"}, setup=True),
    Call("Email.Update", {"EmailID": "{TEMPLATED_EMAIL_ID}", "ValidateScope": "Campaign", "Mode": "Template",
                          "RelTemplateID": "{GALLERY_TEMPLATE_ID}", "FromEmail": "news@doe-trading.example"}),
    Call("Email.Template.Delete", {"Templates": "{OWN_TEMPLATE_ID}"}),

    # User email templates
    Call("UserEmailTemplate.Create", {"EmailName": "Welcome Email Template", "Subject": "Welcome to our newsletter!",
                                      "ContentType": "HTML",
                                      "HTMLContent": TEMPLATE_HTML, "Mode": "Editor", "ImageEmbedding": "Disabled"},
         save={"USER_TEMPLATE_ID": "EmailID"}),
    Call("UserEmailTemplate.Update", {"EmailID": "{USER_TEMPLATE_ID}", "Subject": "Welcome aboard!"}),
    Call("UserEmailTemplate.Get", {"EmailID": "{USER_TEMPLATE_ID}"}),
    Call("UserEmailTemplates.Get", {"OrderField": "EmailName", "OrderType": "ASC", "Limit": "10",
                                    "fields": "EmailID,EmailName,Subject,ContentType,Mode"}),
    Call("UserEmailTemplate.Preview", {"EmailTemplateID": "{USER_TEMPLATE_ID}",
                                       "SampleData": '{"EmailAddress": "jane@example.com"}',
                                       "IncludeBranding": "true"}),
    Call("UserEmailTemplate.Copy", {"EmailID": "{USER_TEMPLATE_ID}"}, save={"USER_TEMPLATE_COPY_ID": "EmailID"}),
    a("User.Create", {"RelUserGroupID": "{DEFAULT_GROUP_ID}", "Username": "carol", "Password": "carols-pass-1",
                      "EmailAddress": "carol@example.com", "FirstName": "Carol", "TimeZone": "UTC",
                      "Language": "en"},
      save={"CAROL_ID": "UserID"}, setup=True),
    a("UserEmailTemplate.CopyToUser", {"EmailID": "{USER_TEMPLATE_ID}", "SourceUserID": "{USER_ID}",
                                       "TargetUserID": "{CAROL_ID}"}),
    Call("UserEmailTemplate.Delete", {"EmailID": "{USER_TEMPLATE_COPY_ID}"}),
]
