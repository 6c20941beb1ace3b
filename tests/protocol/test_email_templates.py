"""Gallery email templates through HTTP: Email.Template.Create/Get/Update/Delete, Email.Templates.Get,
and Email.Update Mode=Template — every documented code, who sees which template, and the stored
state after each refused and each successful call."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import Email
from engine.models.templates import EmailTemplate
from protocol.commands import email_templates as template_commands
from protocol.registry import COMMANDS
from tests.builders import (
    assert_refused_with_list_code, make_custom_field, make_email, make_list, make_user_in_group,
)
from tests.helpers import stored_state

HTML = '<html><body><p>Hi {{ Subscriber:EmailAddress }}</p><a href="%Link:Unsubscribe%">Leave</a></body></html>'


def templates(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(t.id, t.owner_user_id, t.name, t.description, t.subject, t.html_content, t.plain_content,
                 t.thumbnail_path, t.access_type)
                for t in uow.session.scalars(select(EmailTemplate).order_by(EmailTemplate.id))]


def create(api, caller, name="Newsletter", **extra) -> int:
    answer = api("Email.Template.Create", caller.session, TemplateName=name,
                 **({"TemplateHTMLContent": HTML} | extra))
    assert answer["Success"] is True, answer
    return answer["TemplateID"]


# --- Email.Template.Create -----------------------------------------------------------------------
def test_a_user_creates_their_own_private_template(api, user, engine):
    answer = api("Email.Template.Create", user.session, TemplateName=" Newsletter ", TemplateDescription="Monthly",
                 TemplateSubject="News", TemplateHTMLContent=HTML, TemplateThumbnailPath="thumbs/a.png",
                 RelOwnerUserID=12345)
    assert answer == {"Success": True, "ErrorCode": 0, "TemplateID": answer["TemplateID"], "UnknownTags": []}
    assert isinstance(answer["TemplateID"], int)
    # RelOwnerUserID is the administrators': a user's template is always their own.
    assert templates(engine) == [(answer["TemplateID"], user.id, "Newsletter", "Monthly", "News", HTML, "",
                                  "thumbs/a.png", "Private")]


def test_an_administrator_creates_global_templates_or_gives_one_to_a_user(api, admin, user, engine):
    global_id = create(api, admin, "Gallery", TemplatePlainContent="Plain only", TemplateHTMLContent="")
    given = create(api, admin, "Given", RelOwnerUserID=user.id, AccessType="private")
    assert [(t[0], t[1], t[8]) for t in templates(engine)] == [(global_id, None, "Public"), (given, user.id, "Private")]
    assert templates(engine)[0][5:7] == ("", "Plain only")


def test_create_reports_tags_no_subscriber_can_fill(api, user, engine):
    list_id = make_list(engine, user)
    make_custom_field(engine, user, list_id, "First name", merge_tag_alias="FirstName")
    answer = api("Email.Template.Create", user.session, TemplateName="T", TemplateSubject="%Subscriber:Nope%",
                 TemplateHTMLContent="<p>%Subscriber:FirstName% {{ Subscriber:Missing }}</p>")
    assert answer["Success"] is True and answer["UnknownTags"] == ["%Subscriber:Nope%", "{{ Subscriber:Missing }}"]
    assert len(templates(engine)) == 1   # saved all the same, as Email.Update saves content


# --- Email.Template.Get / Email.Templates.Get ------------------------------------------------------
def test_users_see_their_own_and_public_global_templates_only(api, admin, user, other_user, engine):
    public = create(api, admin, "b public")
    private = create(api, admin, "a private", AccessType="Private")
    mine = create(api, user, "C mine")
    theirs = create(api, other_user, "d theirs")
    listed = api("Email.Templates.Get", user.session)
    assert listed["TotalTemplateCount"] == 2
    assert [t["TemplateID"] for t in listed["Templates"]] == [public, mine]
    assert listed["Templates"][0] == {
        "TemplateID": public, "TemplateName": "b public", "TemplateDescription": "", "TemplateSubject": "",
        "TemplateHTMLContent": HTML, "TemplatePlainContent": "", "TemplateThumbnailPath": "",
        "RelOwnerUserID": 0, "AccessType": "Public"}
    assert api("Email.Template.Get", user.session, TemplateID=mine)["Template"]["RelOwnerUserID"] == user.id
    assert api("Email.Template.Get", user.session, TemplateID=public)["Template"]["TemplateName"] == "b public"
    assert api("Email.Template.Get", user.session, TemplateID=private)["ErrorCode"] == [3]
    assert api("Email.Template.Get", user.session, TemplateID=theirs)["ErrorCode"] == [2]
    everything = api("Email.Templates.Get", admin.session)
    assert [t["TemplateID"] for t in everything["Templates"]] == [private, public, mine, theirs]


# --- Email.Template.Update -----------------------------------------------------------------------
def test_update_changes_only_what_is_given(api, user, engine):
    template_id = create(api, user, TemplateSubject="Old", TemplateDescription="Keep")
    answer = api("Email.Template.Update", user.session, TemplateID=template_id, TemplateName="Renamed",
                 TemplatePlainContent="Plain %Link:Unsubscribe%", AccessType="Public", RelOwnerUserID=0)
    assert answer == {"Success": True, "ErrorCode": 0, "UnknownTags": []}
    # AccessType and RelOwnerUserID are "admin only": a user's values change nothing.
    assert templates(engine) == [(template_id, user.id, "Renamed", "Keep", "Old", HTML, "Plain %Link:Unsubscribe%",
                                  "", "Private")]


def test_an_administrator_moves_a_template_and_shares_it(api, admin, user, other_user, engine):
    template_id = create(api, user)
    assert api("Email.Template.Update", admin.session, TemplateID=template_id, RelOwnerUserID=0,
               AccessType="Public")["Success"] is True
    assert templates(engine)[0][1] == None and templates(engine)[0][8] == "Public"  # noqa: E711
    assert api("Email.Template.Get", other_user.session, TemplateID=template_id)["Success"] is True
    # A global template is the administrators': its former owner can no longer change it.
    assert api("Email.Template.Update", user.session, TemplateID=template_id, TemplateName="x")["ErrorCode"] == [2]


# --- Email.Template.Delete -----------------------------------------------------------------------
def test_delete_removes_the_callers_templates_among_those_named(api, admin, user, other_user, engine):
    mine = create(api, user, "one")
    also_mine = create(api, user, "two")
    theirs = create(api, other_user, "theirs")
    gallery = create(api, admin, "gallery")
    answer = api("Email.Template.Delete", user.session, Templates=f"{mine},{theirs},{gallery},{also_mine}")
    assert answer == {"Success": True, "ErrorCode": 0}
    assert [t[0] for t in templates(engine)] == [theirs, gallery]
    assert api("Email.Template.Delete", admin.session, Templates=f"{theirs},{gallery}")["Success"] is True
    assert templates(engine) == []


# --- Email.Update Mode=Template --------------------------------------------------------------------
def emails(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(e.id, e.mode, e.template_id, e.subject, e.html_content, e.plain_content)
                for e in uow.session.scalars(select(Email).order_by(Email.id))]


def test_email_update_builds_the_content_from_the_template(api, admin, user, engine):
    template_id = create(api, admin, TemplateSubject="From the template", TemplatePlainContent="Plain %Link:Unsubscribe%")
    email_id = make_email(engine, user)
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign", Mode="Template",
                 RelTemplateID=template_id)
    assert answer["Success"] is True and answer["UnknownTags"] == []
    assert emails(engine) == [(email_id, "Template", template_id, "From the template", HTML, "Plain %Link:Unsubscribe%")]
    # Editing the template later leaves the email as it was built; a body given in the same call wins.
    api("Email.Template.Update", admin.session, TemplateID=template_id, TemplateHTMLContent="<p>changed</p>")
    assert emails(engine)[0][4] == HTML
    own = '<p>Mine %Link:Unsubscribe%</p>'
    assert api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign", Subject="Kept",
               RelTemplateID=template_id, HTMLContent=own)["Success"] is True
    assert emails(engine)[0][3:] == ("Kept", own, "Plain %Link:Unsubscribe%")


def test_template_content_is_checked_like_email_content(api, user, engine):
    list_id = make_list(engine, user)
    make_custom_field(engine, user, list_id, "City", merge_tag_alias="City")
    template_id = create(api, user, TemplateHTMLContent="<p>%Subscriber:City% %Subscriber:Nope%</p>")
    email_id = make_email(engine, user)
    before = stored_state(engine)
    # The scope's rules hold for content from a template too: an opt-in email needs its confirm link.
    refused = api("Email.Update", user.session, EmailID=email_id, ValidateScope="OptIn", Mode="Template",
                  RelTemplateID=template_id)
    assert refused["ErrorCode"] == [13]
    assert stored_state(engine) == before
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="AutoResponder", Mode="Template",
                 RelTemplateID=template_id)
    assert answer["Success"] is True and answer["UnknownTags"] == ["%Subscriber:Nope%"]


@pytest.mark.parametrize("whose", ["other", "private", "missing"])
def test_email_update_refuses_a_template_the_account_may_not_use(api, admin, user, other_user, engine, whose):
    template_id = {"other": lambda: create(api, other_user),
                   "private": lambda: create(api, admin, AccessType="Private"),
                   "missing": lambda: 999999}[whose]()
    email_id = make_email(engine, user)
    assert_refused_with_list_code(api, engine, "Email.Update", user, 23, dict(
        EmailID=email_id, ValidateScope="Campaign", Mode="Template", RelTemplateID=template_id))


def test_email_update_template_mode_still_needs_a_template_id(api, user, engine):
    assert_refused_with_list_code(api, engine, "Email.Update", user, 5, dict(
        EmailID=make_email(engine, user), ValidateScope="Campaign", Mode="Template"))


# --- every documented code, nothing stored after a refusal ------------------------------------------
CREATE, GET, UPDATE, DELETE = "Email.Template.Create", "Email.Template.Get", "Email.Template.Update", \
    "Email.Template.Delete"


def _mine(t) -> int:
    return create(t.api, t.user)


ERROR_CASES = [
    (CREATE, 1, lambda t: dict(TemplateHTMLContent=HTML)),
    (CREATE, 1, lambda t: dict(TemplateName="   ", TemplateHTMLContent=HTML)),
    (CREATE, 2, lambda t: dict(TemplateName="x")),
    (CREATE, 2, lambda t: dict(TemplateName="x", TemplateHTMLContent="  ", TemplatePlainContent=" ")),
    (CREATE, 3, lambda t: dict(TemplateName="x" * 256, TemplateHTMLContent=HTML)),
    (CREATE, 3, lambda t: dict(TemplateName="x", TemplateHTMLContent=HTML, AccessType="Everyone")),
    (CREATE, 3, lambda t: dict(TemplateName="x", TemplateHTMLContent=HTML, RelOwnerUserID="abc")),
    (CREATE, 4, lambda t: dict(TemplateName="x", TemplateHTMLContent=HTML, RelOwnerUserID=999999, admin=True)),
    (GET, 1, lambda t: dict()),
    (GET, 1, lambda t: dict(TemplateID="abc")),
    (GET, 2, lambda t: dict(TemplateID=999999)),
    (GET, 2, lambda t: dict(TemplateID=create(t.api, t.other))),
    (GET, 3, lambda t: dict(TemplateID=create(t.api, t.admin, AccessType="Private"))),
    (UPDATE, 1, lambda t: dict(TemplateName="x")),
    (UPDATE, 2, lambda t: dict(TemplateID=999999)),
    (UPDATE, 2, lambda t: dict(TemplateID=create(t.api, t.other), TemplateName="x")),
    (UPDATE, 2, lambda t: dict(TemplateID=create(t.api, t.admin), TemplateName="x")),
    (UPDATE, 3, lambda t: dict(TemplateID=_mine(t), TemplateSubject="s" * 999)),
    (UPDATE, 4, lambda t: dict(TemplateID=_mine(t), RelOwnerUserID=999999, admin=True)),
    (DELETE, 1, lambda t: dict()),
    (DELETE, 2, lambda t: dict(Templates="1,x")),
    (DELETE, 2, lambda t: dict(Templates="999999")),
    (DELETE, 2, lambda t: dict(Templates=f"{create(t.api, t.other)},{create(t.api, t.admin)}")),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, admin, user, other_user, engine, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, admin=admin, engine=engine)
    prepared = params(t)
    caller = admin if prepared.pop("admin", False) else user
    assert_refused_with_list_code(api, engine, command, caller, code, prepared)


def test_every_documented_code_has_a_case():
    for command in template_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name
    assert 23 in COMMANDS["email.update"].errors


@pytest.mark.parametrize("command", [c.name for c in template_commands.COMMANDS])
def test_credentials_are_required(api, command):
    assert api(command, TemplateID=1, TemplateName="x", TemplateHTMLContent="x", Templates="1")["ErrorCode"] == 99998


@pytest.mark.parametrize("command", [c.name for c in template_commands.COMMANDS])
def test_template_commands_need_the_email_templates_permission(api, engine, command):
    reader = make_user_in_group(engine, api, "reader", "Lists.Get", "No templates")
    before = stored_state(engine)
    answer = api(command, reader.session, TemplateID=1, TemplateName="x", TemplateHTMLContent="x", Templates="1")
    assert answer["ErrorCode"] == 99999
    assert stored_state(engine) == before
