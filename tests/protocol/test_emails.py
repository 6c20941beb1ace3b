"""Email contents through HTTP: every documented code, the stored state of every success, ownership,
and the hand-over to campaigns (Campaign.Update RelEmailID)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engine.models import Email, User
from protocol.commands import emails as email_commands
from protocol.views.emails import FIELDS
from tests.builders import load_campaign, make_custom_field, make_email, make_list, set_campaign, set_user
from tests.helpers import codes, stored_state

UNSUBSCRIBE = '<p>Bye? <a href="%Link:Unsubscribe%">unsubscribe</a></p>'




def load_email(engine, email_id: int) -> Email | None:
    with engine.uow() as uow:
        email = uow.session.get(Email, email_id)
        if email is not None:
            uow.session.expunge(email)
        return email


def set_group(engine, account, **flags) -> None:
    with engine.uow() as uow:
        group = uow.session.get(User, account.id).group
        for key, value in flags.items():
            setattr(group, key, value)
        uow.commit()


def new_email(api, account, **fields) -> int:
    """An email created and filled through the protocol, as legacy clients do it."""
    email_id = api("Email.Create", account.session)["EmailID"]
    if fields:
        answer = api("Email.Update", account.session, EmailID=email_id, ValidateScope="Campaign", **fields)
        assert answer == {"Success": True, "ErrorCode": 0, "UnknownTags": []}, answer
    return email_id


# --- Email.Create -------------------------------------------------------------------------------------
def test_create_returns_an_integer_id_owned_by_the_caller(api, user, other_user, engine):
    answer = api("Email.Create", user.session, RelUserID=other_user.id)  # RelUserID is never trusted
    assert answer == {"Success": True, "ErrorCode": 0, "EmailID": answer["EmailID"]}
    assert isinstance(answer["EmailID"], int)
    stored = load_email(engine, answer["EmailID"])
    assert (stored.owner_user_id, stored.email_name, stored.mode) == (user.id, "", "Empty")
    assert (stored.open_tracking, stored.link_tracking, stored.utm_tracking) == (True, True, False)


def test_create_with_a_name(api, user, engine):
    email_id = api("Email.Create", user.session, EmailName="  Welcome  ")["EmailID"]
    assert load_email(engine, email_id).email_name == "Welcome"


# --- Email.Update -------------------------------------------------------------------------------------
def test_update_stores_every_field(api, user, engine):
    email_id = api("Email.Create", user.session)["EmailID"]
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="campaign", Mode="editor",
                 EmailName="Spring", FromName="Shop", FromEmail="News@Example.COM", ReplyToName="Help",
                 ReplyToEmail="help@example.com", Subject="Hello %Subscriber:FirstName%",
                 PreHeaderText="Fresh deals", HTMLContent="<p>Hi</p>", PlainContent="Hi",
                 ExtraContent1='{"rows":[]}', ImageEmbedding="Enabled", PlainContentAutoConvert="true",
                 SubjectSetToTitleElement="1", OpenTracking="Disabled", LinkTracking="false",
                 UTMTracking="yes", UTMSource="newsletter", UTMMedium="email", UTMCampaign="spring",
                 UTMTerm="t", UTMContent="c", UTMMergeTags="on", IsEmailTemplate="0", SenderDomain="ignored.test")
    assert answer == {"Success": True, "ErrorCode": 0, "UnknownTags": ["%Subscriber:FirstName%"]}
    e = load_email(engine, email_id)
    assert (e.email_name, e.mode, e.from_name, e.from_email, e.reply_to_name, e.reply_to_email) == \
        ("Spring", "Editor", "Shop", "News@Example.COM", "Help", "help@example.com")
    assert (e.subject, e.pre_header_text, e.html_content, e.plain_content, e.extra_content1) == \
        ("Hello %Subscriber:FirstName%", "Fresh deals", "<p>Hi</p>", "Hi", '{"rows":[]}')
    assert (e.image_embedding, e.plain_content_auto_convert, e.subject_set_to_title_element) == (True, True, True)
    assert (e.open_tracking, e.link_tracking, e.utm_tracking, e.utm_merge_tags) == (False, False, True, True)
    assert (e.utm_source, e.utm_medium, e.utm_campaign, e.utm_term, e.utm_content) == \
        ("newsletter", "email", "spring", "t", "c")


def test_update_is_partial(api, user, engine, clock):
    email_id = new_email(api, user, EmailName="Keep", Subject="Old", HTMLContent="<p>x</p>", OpenTracking="0")
    clock.advance(minutes=5)
    assert api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign",
               Subject="New")["Success"] is True
    e = load_email(engine, email_id)
    assert (e.email_name, e.subject, e.html_content, e.open_tracking) == ("Keep", "New", "<p>x</p>", False)
    assert e.updated_at == clock.now and e.created_at < e.updated_at


# --- unknown personalisation tags are reported when the content is saved ---------------------------------
def _unknown(api, account, email_id, scope="Campaign", **content):
    answer = api("Email.Update", account.session, EmailID=email_id, ValidateScope=scope, **content)
    assert answer["Success"] is True, answer
    return answer["UnknownTags"]


def test_update_reports_unknown_tags_and_still_saves(api, user, engine):
    email_id = api("Email.Create", user.session)["EmailID"]
    unknown = _unknown(api, user, email_id, Subject="Hi %Subscriber:Frist_Name% {{ Subscriber:EmailAddress }}",
                       HTMLContent='<p>%User:CompanyName% {{ Subscriber:Nickname|"you" }} %Subscriber:CustomField99%'
                                   '</p><a href="%Link:Unsubscribe%">out</a> %RemoteContent=https://x.test/a%',
                       PlainContent="{{ shout Subscriber:EmailAddress }} %Subscriber:Frist_Name%")
    assert unknown == ["%Subscriber:Frist_Name%", '{{ Subscriber:Nickname|"you" }}', "%Subscriber:CustomField99%",
                       "%RemoteContent=https://x.test/a%", "{{ shout Subscriber:EmailAddress }}"]
    stored = load_email(engine, email_id)
    assert stored.subject.startswith("Hi %Subscriber:Frist_Name%") and "CustomField99" in stored.html_content


def test_the_users_own_custom_fields_and_aliases_are_known(api, user, other_user, engine):
    list_id = make_list(engine, user)
    field_id = make_custom_field(engine, user, list_id, "Nickname", merge_tag_alias="Nickname")
    theirs = make_custom_field(engine, other_user, make_list(engine, other_user), "Theirs")
    email_id = api("Email.Create", user.session)["EmailID"]
    unknown = _unknown(api, user, email_id, Subject="{{ Subscriber:Nickname|there }}",
                       HTMLContent=f"%Subscriber:CustomField{field_id}% %Subscriber:CustomField{theirs}%")
    assert unknown == [f"%Subscriber:CustomField{theirs}%"]   # another user's field is not the caller's


def test_link_tags_depend_on_the_scope(api, user):
    email_id = api("Email.Create", user.session)["EmailID"]
    links = "%Link:Confirm% %Link:Reject% %Link:WebBrowser% %Link:Unsubscribe%"
    assert _unknown(api, user, email_id, "Campaign", HTMLContent=links) == ["%Link:Confirm%", "%Link:Reject%"]
    assert _unknown(api, user, email_id, "OptIn", HTMLContent=links, PlainContent=links) == ["%Link:WebBrowser%"]
    # A link in a subject cannot be clicked: reported in every scope (the stored bodies still count).
    assert _unknown(api, user, email_id, "Campaign", Subject="%Link:Unsubscribe%", PlainContent="x") == \
        ["%Link:Unsubscribe%", "%Link:Confirm%", "%Link:Reject%"]


def test_update_keeps_a_large_designed_email_whole(api, user, engine):
    html = "<table>" + "<tr><td>déjà vu</td></tr>" * 5000 + "</table>"  # ~125 KB: past MariaDB's TEXT
    email_id = new_email(api, user, HTMLContent=html)
    assert load_email(engine, email_id).html_content == html


def test_update_template_mode_with_a_template_id(api, user, engine):
    # Building the content from the template is tested in test_email_templates.py.
    template_id = api("Email.Template.Create", user.session, TemplateName="T",
                      TemplatePlainContent="from the template")["TemplateID"]
    email_id = new_email(api, user, Mode="Template", RelTemplateID=str(template_id), HTMLContent="<p>from template</p>")
    e = load_email(engine, email_id)
    assert (e.mode, e.template_id) == ("Template", template_id)


def test_update_import_mode_needs_only_a_fetch_url(api, user, engine):
    email_id = new_email(api, user, Mode="Import", FetchURL="https://example.com/issue-12.html")
    assert load_email(engine, email_id).fetch_url == "https://example.com/issue-12.html"


def test_update_failure_writes_nothing(api, user, engine):
    email_id = new_email(api, user, EmailName="Before", HTMLContent="<p>x</p>")
    before = stored_state(engine)
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign",
                 EmailName="After", FromEmail="not-an-address")
    assert answer["ErrorCode"] == [6]
    assert load_email(engine, email_id).email_name == "Before" and stored_state(engine) == before


def test_update_foreign_email_is_3_and_changes_nothing(api, user, other_user, engine):
    foreign = new_email(api, other_user, EmailName="Theirs", HTMLContent="<p>x</p>")
    before = stored_state(engine)
    answer = api("Email.Update", user.session, EmailID=foreign, ValidateScope="Campaign", EmailName="Mine")
    assert answer["Success"] is False and answer["ErrorCode"] == [3]
    assert load_email(engine, foreign).email_name == "Theirs" and stored_state(engine) == before


def test_unsubscribe_link_is_required_only_when_the_group_forces_it(api, user, engine, clock):
    email_id = api("Email.Create", user.session)["EmailID"]
    update = dict(EmailID=email_id, HTMLContent="<p>no link</p>")
    assert api("Email.Update", user.session, ValidateScope="Campaign", **update)["Success"] is True
    set_group(engine, user, force_unsubscription_link=True)
    clock.advance(minutes=1)  # a stored update would move updated_at
    before = stored_state(engine)
    assert api("Email.Update", user.session, ValidateScope="Campaign", **update)["ErrorCode"] == [11]
    assert stored_state(engine) == before
    # The rule belongs to campaign content; autoresponder content is not held to it.
    assert api("Email.Update", user.session, ValidateScope="AutoResponder", **update)["Success"] is True
    # The tag is matched case-insensitively, wherever it sits (here inside an href).
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign",
                 HTMLContent=UNSUBSCRIBE.replace("Unsubscribe", "unsubscribe"), PlainContent="Bye %LINK:UNSUBSCRIBE%")
    assert answer["Success"] is True
    assert load_email(engine, email_id).plain_content == "Bye %LINK:UNSUBSCRIBE%"


def test_error_text_names_the_missing_link(api, user, engine):
    email_id = api("Email.Create", user.session)["EmailID"]
    before = stored_state(engine)
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="OptIn", HTMLContent="<p>hi</p>")
    assert answer["ErrorCode"] == [13] and "%Link:Confirm%" in answer["ErrorText"][0]
    assert load_email(engine, email_id).html_content == "" and stored_state(engine) == before


def test_tracking_switches_reject_unknown_words(api, user, engine):
    email_id = new_email(api, user, HTMLContent="<p>x</p>")
    answer = api("Email.Update", user.session, EmailID=email_id, ValidateScope="Campaign", OpenTracking="maybe")
    assert answer["ErrorCode"] == [21] and "opentracking" in answer["ErrorText"][0].lower()
    assert load_email(engine, email_id).open_tracking is True


# --- Email.Get ----------------------------------------------------------------------------------------
def test_get_returns_the_full_column_set(api, user, clock):
    email_id = new_email(api, user, EmailName="Spring", FromEmail="news@example.com", Subject="Hi",
                         HTMLContent="<p>Hi</p>", PlainContent="Hi", ImageEmbedding="Enabled", LinkTracking="No")
    answer = api("Email.Get", user.session, EmailID=str(email_id))
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    info = answer["EmailInformation"]
    assert list(info) == [f for f in FIELDS if f != "Attachments"]
    assert (info["EmailID"], info["RelUserID"], info["EmailName"], info["Subject"]) == \
        (str(email_id), str(user.id), "Spring", "Hi")
    assert (info["ContentType"], info["Mode"], info["ImageEmbedding"], info["RelTemplateID"]) == \
        ("Both", "Empty", "Enabled", "0")
    assert (info["HTMLContent"], info["PlainContent"], info["FromEmail"]) == ("<p>Hi</p>", "Hi", "news@example.com")
    assert info["CreatedAt"] == clock.now.strftime("%Y-%m-%d %H:%M:%S") and info["DeletedAt"] == ""
    options = json.loads(info["Options"])  # a JSON string, as in the legacy row
    assert (options["OpenTracking"], options["LinkTracking"], options["UTMTracking"]) == (True, False, False)


def test_get_of_another_users_email_leaks_nothing(api, user, other_user):
    foreign = new_email(api, other_user, Subject="Secret", HTMLContent="<p>secret</p>")
    for session, email_id in ((user.session, foreign), (user.session, 999999)):
        answer = api("Email.Get", session, EmailID=email_id)
        assert answer["Success"] is False and answer["ErrorCode"] == [2]
        assert "EmailInformation" not in answer and "secret" not in json.dumps(answer).lower()


# --- Emails.Get ---------------------------------------------------------------------------------------
def test_list_orders_by_name_and_shows_only_own_emails(api, user, other_user):
    ids = {name: new_email(api, user, EmailName=name, HTMLContent="<p>x</p>")
           for name in ("bravo", "Alpha", "charlie")}
    new_email(api, other_user, EmailName="Aardvark", HTMLContent="<p>x</p>")
    answer = api("Emails.Get", user.session)
    assert answer["Success"] is True and answer["ErrorText"] == "" and answer["TotalEmailCount"] == 3
    assert [e["EmailName"] for e in answer["Emails"]] == ["Alpha", "bravo", "charlie"]
    assert answer["Emails"][0]["EmailID"] == str(ids["Alpha"])
    assert isinstance(answer["Emails"][0]["Options"], str)


def test_list_without_emails_is_an_empty_list(api, user):
    answer = api("Emails.Get", user.session)
    assert (answer["Emails"], answer["TotalEmailCount"]) == ([], 0)


def test_bulk_mode_drops_foreign_ids_and_decodes_options(api, user, other_user):
    mine = [new_email(api, user, EmailName=n, HTMLContent="<p>x</p>") for n in ("one", "two", "three")]
    foreign = new_email(api, other_user, EmailName="theirs", HTMLContent="<p>x</p>")
    answer = api("Emails.Get", user.session, EmailIDs=f"{mine[0]},{foreign},{mine[2]},junk")
    assert answer["TotalEmailCount"] == 2
    assert sorted(e["EmailID"] for e in answer["Emails"]) == sorted([str(mine[0]), str(mine[2])])
    row = answer["Emails"][0]
    assert row["Options"]["OpenTracking"] is True and row["Attachments"] == []
    only_foreign = api("Emails.Get", user.session, EmailIDs=str(foreign))
    assert (only_foreign["Success"], only_foreign["Emails"]) == (True, [])


def test_fields_projection_keeps_email_id_and_drops_unknown_names(api, user):
    new_email(api, user, EmailName="One", Subject="S", HTMLContent="<p>big</p>")
    answer = api("Emails.Get", user.session, Fields="subject, EMAILNAME, Password")
    assert [list(row) for row in answer["Emails"]] == [["EmailID", "EmailName", "Subject"]]


# --- Email.Delete -------------------------------------------------------------------------------------
def test_delete_removes_the_email_and_detaches_draft_campaigns(api, user, engine):
    email_id = new_email(api, user, HTMLContent="<p>x</p>")
    campaign = api("Campaign.Create", user.session, CampaignName="Draft one")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=email_id)["Success"] is True
    answer = api("Email.Delete", user.session, EmailID=email_id)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert load_email(engine, email_id) is None
    assert load_campaign(engine, campaign).email_id is None
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]["RelEmailID"] == 0


@pytest.mark.parametrize("status", ["Ready", "Sending", "Paused", "Pending Approval"])
def test_delete_refuses_an_email_a_campaign_may_still_send(api, user, engine, status):
    email_id = new_email(api, user, HTMLContent="<p>x</p>")
    campaign = api("Campaign.Create", user.session, CampaignName="Armed")["CampaignID"]
    set_campaign(engine, campaign, email_id=email_id, status=status)
    answer = api("Email.Delete", user.session, EmailID=email_id)
    assert answer["Success"] is False and answer["ErrorCode"] == 3 and isinstance(answer["ErrorText"], str)
    assert f"campaign {campaign}" in answer["ErrorText"]
    assert load_email(engine, email_id) is not None and load_campaign(engine, campaign).email_id == email_id


def test_delete_of_a_sent_campaigns_email_is_allowed(api, user, engine):
    email_id = new_email(api, user, HTMLContent="<p>x</p>")
    campaign = api("Campaign.Create", user.session, CampaignName="Done")["CampaignID"]
    set_campaign(engine, campaign, email_id=email_id, status="Sent")
    assert api("Email.Delete", user.session, EmailID=email_id)["Success"] is True
    assert load_campaign(engine, campaign).email_id is None


def test_delete_of_another_users_email_keeps_it(api, user, other_user, engine):
    foreign = new_email(api, other_user, HTMLContent="<p>x</p>")
    answer = api("Email.Delete", user.session, EmailID=foreign)
    assert answer == {"Success": False, "ErrorCode": 2, "ErrorText": answer["ErrorText"]}
    assert load_email(engine, foreign) is not None


# --- Email.Duplicate ----------------------------------------------------------------------------------
def test_duplicate_copies_everything_under_a_new_name(api, user, engine):
    email_id = new_email(api, user, EmailName="Spring", Subject="Hi", HTMLContent="<p>Hi</p>",
                         FromEmail="news@example.com", OpenTracking="Disabled", UTMTracking="1",
                         UTMSource="s", UTMMedium="m", UTMCampaign="c")
    answer = api("Email.Duplicate", user.session, EmailID=email_id)
    assert answer == {"Success": True, "ErrorCode": 0, "EmailID": answer["EmailID"], "EmailName": "Copy of Spring"}
    assert isinstance(answer["EmailID"], str) and int(answer["EmailID"]) != email_id
    original, copy = load_email(engine, email_id), load_email(engine, int(answer["EmailID"]))
    assert (copy.owner_user_id, copy.email_name) == (user.id, "Copy of Spring")
    assert (copy.subject, copy.html_content, copy.from_email, copy.open_tracking, copy.utm_campaign) == \
        (original.subject, original.html_content, original.from_email, False, "c")


def test_duplicate_of_another_users_email_creates_nothing(api, user, other_user, engine):
    foreign = new_email(api, other_user, HTMLContent="<p>x</p>")
    answer = api("Email.Duplicate", user.session, EmailID=foreign)
    assert answer["Success"] is False and answer["ErrorCode"] == [2] and "EmailID" not in answer
    assert api("Emails.Get", user.session)["Emails"] == []


# --- campaigns use emails made through the protocol ------------------------------------------------------
def test_campaign_sends_an_email_made_with_email_create(api, user, engine):
    email_id = new_email(api, user, Subject="Launch", HTMLContent=UNSUBSCRIBE, FromEmail="news@example.com")
    list_id = make_list(engine, user)
    campaign = api("Campaign.Create", user.session, CampaignName="Launch")["CampaignID"]
    answer = api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=str(email_id),
                 RecipientListsAndSegments=f"{list_id}:0", ScheduleType="Immediate", CampaignStatus="Ready")
    assert answer == {"Success": True, "ErrorCode": 0}
    stored = load_campaign(engine, campaign)
    assert (stored.email_id, stored.status) == (email_id, "Ready")
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Campaign"]["RelEmailID"] == email_id
    # The campaign search looks into the subject of its email.
    found = api("Campaigns.Get", user.session, SearchKeyword="launch")["Campaigns"]
    assert [c["CampaignID"] for c in found] == [str(campaign)]


def test_campaign_cannot_use_another_users_email(api, user, other_user, engine):
    foreign = new_email(api, other_user, HTMLContent="<p>x</p>")
    campaign = api("Campaign.Create", user.session, CampaignName="Mine")["CampaignID"]
    before = stored_state(engine)
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=foreign)["ErrorCode"] == 4
    assert load_campaign(engine, campaign).email_id is None and stored_state(engine) == before


# --- every documented code, through HTTP ----------------------------------------------------------------
def _email(t, **fields):
    return make_email(t.engine, t.user, **fields)


def _forced(t, **flags):
    set_group(t.engine, t.user, **flags)
    return _email(t)


def _campaign_using(t, status):
    email_id = _email(t, html_content="<p>x</p>")
    campaign = t.api("Campaign.Create", t.user.session, CampaignName="uses it")["CampaignID"]
    set_campaign(t.engine, campaign, email_id=email_id, status=status)
    return email_id


def _sending_for_untrusted(t):
    """An email an Untrusted account's campaign is sending right now (README "Campaign approval")."""
    set_user(t.engine, t.user, reputation_level="Untrusted")
    return _campaign_using(t, "Sending")


def _upd(t, email_id, scope="Campaign", **params):
    return dict(EmailID=email_id, ValidateScope=scope, **params)


ERROR_CASES = [
    ("Email.Create", 21, lambda t: dict(EmailName="x" * 256)),
    ("Email.Get", 1, lambda t: {}),
    ("Email.Get", 2, lambda t: dict(EmailID="abc")),
    ("Emails.Get", 1, lambda t: dict(EmailIDs="abc,0,-3")),
    ("Emails.Get", 3, lambda t: dict(EmailIDs=",".join(str(i) for i in range(1, 102)))),
    ("Email.Update", 1, lambda t: dict(ValidateScope="Campaign", Subject="x")),
    ("Email.Update", 3, lambda t: _upd(t, 999999, Subject="x")),
    ("Email.Update", 4, lambda t: _upd(t, _email(t), Mode="Designer")),
    ("Email.Update", 5, lambda t: _upd(t, _email(t), Mode="Template", HTMLContent="<p>x</p>")),
    ("Email.Update", 6, lambda t: _upd(t, _email(t), FromEmail="news@", HTMLContent="<p>x</p>")),
    ("Email.Update", 7, lambda t: _upd(t, _email(t), ReplyToEmail="a b@example.com", HTMLContent="<p>x</p>")),
    ("Email.Update", 8, lambda t: _upd(t, _email(t), EmailName="content comes later")),
    ("Email.Update", 8, lambda t: _upd(t, _email(t), HTMLContent="   ", PlainContent="\n")),
    ("Email.Update", 8, lambda t: _upd(t, _email(t), Mode="Import")),
    ("Email.Update", 9, lambda t: dict(EmailID=_email(t), Subject="x")),
    ("Email.Update", 10, lambda t: _upd(t, _email(t), scope="Newsletter")),
    ("Email.Update", 11, lambda t: _upd(t, _forced(t, force_unsubscription_link=True), HTMLContent="<p>x</p>")),
    ("Email.Update", 12, lambda t: _upd(t, _forced(t, force_unsubscription_link=True), HTMLContent=UNSUBSCRIBE,
                                        PlainContent="no link")),
    ("Email.Update", 13, lambda t: _upd(t, _email(t), "OptIn", HTMLContent="<p>x</p>")),
    ("Email.Update", 14, lambda t: _upd(t, _email(t), "OptIn", HTMLContent="%Link:Confirm%", PlainContent="x")),
    ("Email.Update", 15, lambda t: _upd(t, _forced(t, force_reject_opt_link=True), "OptIn",
                                        HTMLContent="%Link:Confirm%")),
    ("Email.Update", 16, lambda t: _upd(t, _forced(t, force_reject_opt_link=True), "OptIn",
                                        HTMLContent="%Link:Confirm% %Link:Reject%", PlainContent="%Link:Confirm%")),
    ("Email.Update", 18, lambda t: _upd(t, _email(t), HTMLContent="x", UTMTracking="true")),
    ("Email.Update", 19, lambda t: _upd(t, _email(t), HTMLContent="x", UTMTracking="true", UTMSource="s")),
    ("Email.Update", 20, lambda t: _upd(t, _email(t), HTMLContent="x", UTMTracking="true", UTMSource="s",
                                        UTMMedium="m")),
    ("Email.Update", 21, lambda t: _upd(t, _email(t), HTMLContent="x", FetchURL="file:///etc/passwd")),
    ("Email.Update", 21, lambda t: _upd(t, _email(t), HTMLContent="x", ImageEmbedding="sometimes")),
    ("Email.Update", 21, lambda t: _upd(t, _email(t), HTMLContent="x", RelTemplateID="seven")),
    ("Email.Update", 22, lambda t: _upd(t, _sending_for_untrusted(t), HTMLContent="<p>changed</p>")),
    ("Email.Update", 23, lambda t: _upd(t, _email(t), Mode="Template", RelTemplateID="999999")),
    ("Email.Delete", 1, lambda t: {}),
    ("Email.Delete", 2, lambda t: dict(EmailID=999999)),
    ("Email.Delete", 3, lambda t: dict(EmailID=_campaign_using(t, "Ready"))),
    ("Email.Duplicate", 1, lambda t: dict(EmailID="x")),
    ("Email.Duplicate", 2, lambda t: dict(EmailID=999999)),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, engine, command, code, params):
    prepared = params(SimpleNamespace(api=api, user=user, engine=engine))
    before = stored_state(engine)
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False and codes(answer) == [code], answer
    assert stored_state(engine) == before  # a refused command changes nothing
    if command == "Email.Delete":
        assert isinstance(answer["ErrorCode"], int) and isinstance(answer["ErrorText"], str)
    else:
        assert isinstance(answer["ErrorCode"], list) and len(answer["ErrorText"]) == 1


def test_every_documented_code_has_a_case():
    for command in email_commands.COMMANDS:
        if command is email_commands.EMAIL_PREVIEW:
            continue   # tests/protocol/test_test_sends.py covers it (it needs an SMTP server)
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        assert covered == set(command.errors), command.name


@pytest.mark.parametrize("command", [c.name for c in email_commands.COMMANDS])
def test_credentials_are_required(api, engine, user, command):
    email_id = make_email(engine, user)
    before = stored_state(engine)
    assert api(command, EmailID=email_id, EmailName="x")["ErrorCode"] == 99998
    assert stored_state(engine) == before
