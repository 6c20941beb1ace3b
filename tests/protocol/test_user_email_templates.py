"""User email templates through HTTP: UserEmailTemplate.Create/Get/Update/Delete/Copy/Preview,
UserEmailTemplates.Get and the administrators' UserEmailTemplate.CopyToUser — every documented code,
owner checks, and the stored state after each refused and each successful call."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import Campaign, Email
from protocol.commands import user_email_templates as template_commands
from tests.builders import (
    assert_refused_with_list_code, make_custom_field, make_email, make_list, make_user_in_group, set_campaign,
    set_user,
)
from tests.helpers import stored_state

HTML = "<html><body><h1>Welcome!</h1></body></html>"


def rows(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(e.id, e.owner_user_id, e.is_email_template, e.email_name, e.subject, e.content_type, e.mode,
                 e.html_content, e.plain_content, e.image_embedding)
                for e in uow.session.scalars(select(Email).order_by(Email.id))]


def create(api, caller, name="Welcome", **extra) -> int:
    answer = api("UserEmailTemplate.Create", caller.session, EmailName=name, Subject="Hello",
                 **({"HTMLContent": HTML} | extra))
    assert answer["Success"] is True, answer
    return answer["EmailID"]


# --- Create / Get ---------------------------------------------------------------------------------
def test_create_stores_a_template_row_with_the_documented_defaults(api, user, engine):
    answer = api("UserEmailTemplate.Create", user.session, EmailName="Welcome Email Template",
                 Subject="Welcome to our newsletter!", PreHeaderText="Thanks", HTMLContent=HTML)
    assert answer == {"Success": True, "ErrorCode": 0, "EmailID": answer["EmailID"], "UnknownTags": []}
    assert rows(engine) == [(answer["EmailID"], user.id, True, "Welcome Email Template", "Welcome to our newsletter!",
                             "HTML", "Editor", HTML, "", False)]
    got = api("UserEmailTemplate.Get", user.session, EmailID=answer["EmailID"])["EmailTemplate"]
    assert (got["EmailID"], got["RelUserID"], got["IsEmailTemplate"], got["ContentType"], got["Mode"],
            got["ImageEmbedding"], got["PreHeaderText"], got["Attachments"]) == \
        (str(answer["EmailID"]), str(user.id), "1", "HTML", "Editor", "Disabled", "Thanks", [])


def test_create_takes_every_documented_field(api, user, engine):
    email_id = create(api, user, ContentType="both", Mode="Stripo", ImageEmbedding="Enabled",
                      PlainContent="Welcome", ExtraContent1="<stripo/>", ExtraContent2="p{}")
    assert rows(engine)[0][5:] == ("Both", "Stripo", HTML, "Welcome", True)
    with engine.uow() as uow:
        e = uow.session.get(Email, email_id)
        assert (e.extra_content1, e.extra_content2) == ("<stripo/>", "p{}")


def test_create_reports_unknown_tags_as_email_update_does(api, user, engine):
    answer = api("UserEmailTemplate.Create", user.session, EmailName="T", Subject="Hi %Subscriber:Nope%",
                 HTMLContent="<p>%Link:Forward%</p>")
    assert answer["Success"] is True and answer["UnknownTags"] == ["%Subscriber:Nope%", "%Link:Forward%"]


def test_ordinary_emails_and_other_accounts_templates_are_not_found(api, user, other_user, engine):
    email_id = make_email(engine, user, html_content="<p>x</p>")
    theirs = create(api, other_user)
    for missing in (email_id, theirs):
        assert api("UserEmailTemplate.Get", user.session, EmailID=missing)["ErrorCode"] == [3]


# --- UserEmailTemplates.Get -----------------------------------------------------------------------
def test_list_pages_and_orders_only_the_callers_templates(api, user, other_user, engine, clock):
    ids = []
    for name in ("b", "A", "c"):
        ids.append(create(api, user, name))
        clock.advance(seconds=1)
    create(api, other_user, "theirs")
    make_email(engine, user, email_name="not a template")
    newest = api("UserEmailTemplates.Get", user.session)
    assert newest["TotalEmailTemplateCount"] == 3
    assert [r["EmailID"] for r in newest["EmailTemplates"]] == [str(i) for i in reversed(ids)]
    by_name = api("UserEmailTemplates.Get", user.session, OrderField="EmailName", OrderType="ASC", Limit=2, Offset=0)
    assert by_name["TotalEmailTemplateCount"] == 3
    assert [r["EmailName"] for r in by_name["EmailTemplates"]] == ["A", "b"]
    page = api("UserEmailTemplates.Get", user.session, OrderField="EmailName", OrderType="ASC", Limit=2, Offset=2,
               fields="EmailName,Subject,Nonsense")
    assert page["EmailTemplates"] == [{"EmailID": str(ids[2]), "EmailName": "c", "Subject": "Hello"}]
    # No codes are documented: unreadable values fall back to their defaults, Limit is kept within 1..100.
    lenient = api("UserEmailTemplates.Get", user.session, OrderField="Size", OrderType="up", Limit=1000, Offset=-4)
    assert [r["EmailID"] for r in lenient["EmailTemplates"]] == [str(i) for i in reversed(ids)]
    assert len(api("UserEmailTemplates.Get", user.session, Limit=0)["EmailTemplates"]) == 1


def test_list_of_an_account_without_templates_is_empty(api, user):
    assert api("UserEmailTemplates.Get", user.session) == {
        "Success": True, "ErrorCode": 0, "TotalEmailTemplateCount": 0, "EmailTemplates": []}


# --- Update / Delete / Copy -------------------------------------------------------------------------
def test_update_changes_only_what_is_given(api, user, engine):
    email_id = create(api, user, PlainContent="Plain")
    answer = api("UserEmailTemplate.Update", user.session, EmailID=email_id, EmailName="Updated", ContentType="Plain",
                 ImageEmbedding="enabled")
    assert answer == {"Success": True, "ErrorCode": 0, "UnknownTags": []}
    assert rows(engine) == [(email_id, user.id, True, "Updated", "Hello", "Plain", "Editor", HTML, "Plain", True)]


def test_delete_counts_the_callers_templates_it_removed(api, user, other_user, engine):
    mine, also = create(api, user, "one"), create(api, user, "two")
    theirs = create(api, other_user, "theirs")
    email_id = make_email(engine, user)
    answer = api("UserEmailTemplate.Delete", user.session, EmailID=f"{mine},{theirs},{email_id},{also},999999")
    assert answer == {"Success": True, "ErrorCode": 0, "DeletedCount": 2}
    assert [r[0] for r in rows(engine)] == [theirs, email_id]


def test_delete_keeps_a_template_a_sending_campaign_uses(api, user, engine):
    used, unused = create(api, user, "used"), create(api, user, "unused")
    with engine.uow() as uow:
        uow.session.add(Campaign(owner_user_id=user.id, name="C", email_id=used, status="Sending",
                                 created_at=uow.clock()))
        uow.commit()
    answer = api("UserEmailTemplate.Delete", user.session, EmailID=f"{used},{unused}")
    assert answer["DeletedCount"] == 1 and [r[0] for r in rows(engine)] == [used]


def test_copy_makes_a_named_copy_for_the_caller(api, user, engine):
    email_id = create(api, user, "Welcome Email Template", ContentType="Both", PlainContent="p")
    answer = api("UserEmailTemplate.Copy", user.session, EmailID=email_id)
    assert answer == {"Success": True, "ErrorCode": 0, "EmailID": answer["EmailID"],
                      "EmailName": "Copy of Welcome Email Template"}
    original, copy = rows(engine)
    assert copy == (answer["EmailID"], user.id, True, "Copy of Welcome Email Template") + original[4:]


def test_an_administrator_copies_a_template_to_another_user(api, admin, user, other_user, engine):
    email_id = create(api, user, ContentType="Both", PlainContent="p")
    answer = api("UserEmailTemplate.CopyToUser", admin.session, EmailID=email_id, SourceUserID=user.id,
                 TargetUserID=other_user.id)
    assert answer == {"Success": True, "ErrorCode": 0, "EmailID": answer["EmailID"]}
    original, copy = rows(engine)
    assert copy == (answer["EmailID"], other_user.id) + original[2:]
    assert api("UserEmailTemplate.Get", other_user.session, EmailID=answer["EmailID"])["Success"] is True


def test_copy_to_user_is_for_administrators_only(api, user, other_user, engine):
    email_id = create(api, user)
    before = stored_state(engine)
    answer = api("UserEmailTemplate.CopyToUser", user.session, EmailID=email_id, SourceUserID=user.id,
                 TargetUserID=other_user.id)
    assert answer["ErrorCode"] == 99999 and stored_state(engine) == before


# --- Preview ----------------------------------------------------------------------------------------
PREVIEW_HTML = ('<html><head><style>p { color: red } @media (max-width: 600px) { p { color: blue } }</style></head>'
                '<body><p>Hello %Subscriber:FirstName%, {{ Subscriber:EmailAddress }} from %User:CompanyName%</p>'
                '<a href="https://shop.example/?e=%Subscriber:EmailAddress%">Shop</a> '
                '<a href="%Link:Unsubscribe%">Leave</a></body></html>')


@pytest.fixture
def with_first_name(engine, user):
    list_id = make_list(engine, user)
    return make_custom_field(engine, user, list_id, "First name", merge_tag_alias="FirstName")


def test_preview_personalises_with_sample_defaults(api, user, engine, with_first_name):
    email_id = create(api, user, HTMLContent=PREVIEW_HTML)
    before = stored_state(engine)
    answer = api("UserEmailTemplate.Preview", user.session, EmailTemplateID=email_id)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    html = answer["HTMLContent"]
    assert '<p style="color: red;">Hello First name, subscriber@example.com from' in html
    assert "@media (max-width: 600px)" in html.split("</head>")[0]   # media queries stay in the head
    assert 'href="https://shop.example/?e=subscriber%40example.com"' in html   # no click tracking in a preview
    assert 'href="http://sendmill.test/t/u/' in html                      # a real (harmless) unsubscribe link
    assert "Hello First name, subscriber@example.com" in answer["PlainContent"]   # derived from the HTML
    assert stored_state(engine) == before                                 # a preview writes nothing


def test_sample_data_overrides_defaults_whatever_the_key_case(api, user, engine, with_first_name, client):
    email_id = create(api, user, HTMLContent=PREVIEW_HTML, PlainContent="Hi %Subscriber:FirstName% "
                      "%Subscriber:CustomField{}%".format(with_first_name))
    answer = api("UserEmailTemplate.Preview", user.session, EmailTemplateID=email_id,
                 SampleData=json.dumps({"firstname": "Jane", "EMAILADDRESS": "jane@example.com", "Unknown": 1}),
                 IncludeBranding="false")
    assert "Hello Jane, jane@example.com" in answer["HTMLContent"]
    assert answer["PlainContent"] == "Hi Jane Jane"
    as_json = client.post("/api.php", json={"Command": "UserEmailTemplate.Preview", "SessionID": user.session,
                                            "EmailTemplateID": email_id,
                                            "SampleData": {f"CustomField{with_first_name}": "Ann"}}).get_json()
    assert as_json["PlainContent"] == "Hi Ann Ann"


# --- every documented code, nothing stored after a refusal ------------------------------------------
CREATE, GET, UPDATE, DELETE, COPY, TO_USER, PREVIEW = (
    "UserEmailTemplate.Create", "UserEmailTemplate.Get", "UserEmailTemplate.Update", "UserEmailTemplate.Delete",
    "UserEmailTemplate.Copy", "UserEmailTemplate.CopyToUser", "UserEmailTemplate.Preview")


def _mine(t) -> int:
    return create(t.api, t.user)


def _theirs(t) -> int:
    return create(t.api, t.other)


def _sent_by_untrusted(t) -> int:
    """A template an Untrusted account's campaign is sending as its email right now."""
    email_id = _mine(t)
    set_user(t.engine, t.user, reputation_level="Untrusted")
    campaign = t.api("Campaign.Create", t.user.session, CampaignName="uses it")["CampaignID"]
    set_campaign(t.engine, campaign, email_id=email_id, status="Sending")
    return email_id


ERROR_CASES = [
    (CREATE, 1, lambda t: dict(Subject="s")),
    (CREATE, 2, lambda t: dict(EmailName="n")),
    (CREATE, 3, lambda t: dict(EmailName="n", Subject="s", ContentType="Rich")),
    (CREATE, 4, lambda t: dict(EmailName="n", Subject="s", Mode="Unlayer")),
    (CREATE, 5, lambda t: dict(EmailName="n", Subject="s", ImageEmbedding="Sometimes")),
    (CREATE, 6, lambda t: dict(EmailName="n" * 256, Subject="s")),
    (GET, 1, lambda t: dict()),
    (GET, 2, lambda t: dict(EmailID="abc")),
    (GET, 3, lambda t: dict(EmailID=_theirs(t))),
    (UPDATE, 1, lambda t: dict(EmailName="x")),
    (UPDATE, 2, lambda t: dict(EmailID="abc")),
    (UPDATE, 3, lambda t: dict(EmailID=_mine(t), ContentType="Rich")),
    (UPDATE, 4, lambda t: dict(EmailID=_mine(t), Mode="Import")),
    (UPDATE, 5, lambda t: dict(EmailID=_mine(t), ImageEmbedding="x")),
    (UPDATE, 6, lambda t: dict(EmailID=_theirs(t), EmailName="x")),
    (UPDATE, 6, lambda t: dict(EmailID=make_email(t.engine, t.user), EmailName="x")),
    (UPDATE, 7, lambda t: dict(EmailID=_mine(t), Subject="s" * 999)),
    (UPDATE, 8, lambda t: dict(EmailID=_sent_by_untrusted(t), HTMLContent="<p>changed</p>")),
    (DELETE, 1, lambda t: dict()),
    (DELETE, 2, lambda t: dict(EmailID=f"{_mine(t)},abc")),
    (COPY, 1, lambda t: dict()),
    (COPY, 2, lambda t: dict(EmailID="-3")),
    (COPY, 3, lambda t: dict(EmailID=_theirs(t))),
    (TO_USER, 1, lambda t: dict(SourceUserID=t.user.id, TargetUserID=t.other.id)),
    (TO_USER, 2, lambda t: dict(EmailID=_mine(t), TargetUserID=t.other.id)),
    (TO_USER, 3, lambda t: dict(EmailID=_mine(t), SourceUserID=t.user.id)),
    (TO_USER, 4, lambda t: dict(EmailID="x", SourceUserID=t.user.id, TargetUserID=t.other.id)),
    (TO_USER, 5, lambda t: dict(EmailID=_mine(t), SourceUserID="x", TargetUserID=t.other.id)),
    (TO_USER, 6, lambda t: dict(EmailID=_mine(t), SourceUserID=t.user.id, TargetUserID="x")),
    (TO_USER, 7, lambda t: dict(EmailID=_mine(t), SourceUserID=999999, TargetUserID=t.other.id)),
    (TO_USER, 8, lambda t: dict(EmailID=_mine(t), SourceUserID=t.user.id, TargetUserID=999999)),
    (TO_USER, 9, lambda t: dict(EmailID=_theirs(t), SourceUserID=t.user.id, TargetUserID=t.other.id)),
    (PREVIEW, 1, lambda t: dict()),
    (PREVIEW, 2, lambda t: dict(EmailTemplateID="x")),
    (PREVIEW, 3, lambda t: dict(EmailTemplateID=_theirs(t))),
    (PREVIEW, 4, lambda t: dict(EmailTemplateID=_mine(t), SampleData="[1, 2]")),
    (PREVIEW, 4, lambda t: dict(EmailTemplateID=_mine(t), SampleData="not json")),
    (PREVIEW, 5, lambda t: dict(EmailTemplateID=_mine(t), SampleData='{"FirstName": {"a": 1}}')),
    (PREVIEW, 6, lambda t: dict(EmailTemplateID=_mine(t), IncludeBranding="maybe")),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, admin, user, other_user, engine, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, engine=engine)
    prepared = params(t)
    caller = admin if command == TO_USER else user
    assert_refused_with_list_code(api, engine, command, caller, code, prepared)


def test_every_documented_code_has_a_case():
    for command in template_commands.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in template_commands.COMMANDS])
def test_credentials_are_required(api, command):
    assert api(command, EmailID=1, EmailTemplateID=1, EmailName="x", Subject="x", SourceUserID=1,
               TargetUserID=2)["ErrorCode"] == 99998


@pytest.mark.parametrize("command", [c.name for c in template_commands.COMMANDS if c.auth != "admin"])
def test_user_template_commands_need_the_email_templates_permission(api, engine, command):
    reader = make_user_in_group(engine, api, "reader", "Lists.Get", "No templates")
    before = stored_state(engine)
    answer = api(command, reader.session, EmailID=1, EmailTemplateID=1, EmailName="x", Subject="x")
    assert answer["ErrorCode"] == 99999
    assert stored_state(engine) == before
