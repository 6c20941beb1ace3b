"""Approval of an Untrusted account's campaigns through HTTP (README "Campaign approval"): a change to what an
approved campaign sends puts it back to Pending Approval, the tick never sends an unapproved version, and
a send in progress cannot have its email changed. Every test re-reads the stored state."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from engine.models import Email, SendInstance
from scheduler.tick import tick
from tests.builders import load_campaign, load_row, make_email, make_list, make_subscriber, set_campaign, set_user

HTML = "<p>Approved text</p>"


@pytest.fixture
def t(api, user, other_user, admin, engine, clock):
    set_user(engine, user, reputation_level="Untrusted")
    return SimpleNamespace(api=api, user=user, trusted=other_user, admin=admin, engine=engine, clock=clock)


def segment(t, list_id: int, value: str = "@example.org", account=None) -> int:
    rules = [[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": value}]]
    answer = t.api("Segment.Create", (account or t.user).session, SubscriberListID=list_id, SegmentName="S",
                   SegmentOperator="and", RulesJson=json.dumps(rules))
    assert answer["Success"] is True, answer
    return answer["SegmentID"]


def approved(t, account=None, *, email_id=None, **update) -> SimpleNamespace:
    """A Ready campaign: armed by its owner, approved by an administrator when the owner is Untrusted."""
    account = account or t.user
    list_id = make_list(t.engine, account)
    make_subscriber(t.engine, list_id, "ann@example.org")
    email_id = email_id or make_email(t.engine, account, subject="Hello", html_content=HTML,
                                      from_email="news@example.com")
    cid = t.api("Campaign.Create", account.session, CampaignName="Sale")["CampaignID"]
    params = dict(RelEmailID=email_id, RecipientListsAndSegments=f"{list_id}:0", ScheduleType="Immediate")
    params.update(update)
    assert t.api("Campaign.Update", account.session, CampaignID=cid, CampaignStatus="Ready", **params)["Success"]
    if account is t.user:
        assert load_campaign(t.engine, cid).status == "Pending Approval"
        assert t.api("Campaign.Approve", t.admin.session, CampaignID=cid)["Success"] is True
    assert load_campaign(t.engine, cid).status == "Ready"
    return SimpleNamespace(id=cid, email_id=email_id, list_id=list_id)


def instances(t, cid: int) -> list[int]:
    with t.engine.uow() as uow:
        return list(uow.session.scalars(select(SendInstance.id).where(SendInstance.campaign_id == cid)))


def ok(answer: dict) -> None:
    assert answer["Success"] is True, answer


# --- what puts an approved campaign back to Pending Approval ---------------------------------------------
def _email_html(t, c):
    ok(t.api("Email.Update", t.user.session, EmailID=c.email_id, ValidateScope="Campaign", HTMLContent="<p>Spam</p>"))


def _email_subject(t, c):
    ok(t.api("Email.Update", t.user.session, EmailID=c.email_id, ValidateScope="Campaign", Subject="Other"))


def _email_from(t, c):
    ok(t.api("Email.Update", t.user.session, EmailID=c.email_id, ValidateScope="Campaign",
             FromEmail="ceo@bank.example"))


def _rel_email_id(t, c):
    other = make_email(t.engine, t.user, subject="Other", html_content="<p>Other</p>")
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id, RelEmailID=other))


def _recipients(t, c):
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id,
             RecipientListsAndSegments=f"{make_list(t.engine, t.user, 'Bought')}:0"))


def _excluded(t, c):
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id,
             Exclude_RecipientListsAndSegments=f"{make_list(t.engine, t.user, 'Never')}:0"))


def _bundle(t, c):
    bundle = {"operator": "and", "criteria": [{"list_id": c.list_id, "operator": "and", "rules": [
        {"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "@"}]}]}
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id, RulesJsonBundle=json.dumps(bundle)))


def _schedule(t, c):
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id, ScheduleType="Future", SendDate="2026-12-24",
             SendTime="09:00", SendTimeZone="UTC"))


CHANGES = [_email_html, _email_subject, _email_from, _rel_email_id, _recipients, _excluded, _bundle, _schedule]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_a_change_to_what_an_approved_campaign_sends_needs_approval_again(t, change):
    c = approved(t)
    change(t, c)
    assert load_campaign(t.engine, c.id).status == "Pending Approval"
    tick(t.engine, t.clock())
    assert load_campaign(t.engine, c.id).status == "Pending Approval" and instances(t, c.id) == []


def test_approving_the_changed_campaign_lets_it_send(t):
    c = approved(t)
    _email_html(t, c)
    ok(t.api("Campaign.Approve", t.admin.session, CampaignID=c.id))
    assert load_campaign(t.engine, c.id).status == "Ready"
    assert tick(t.engine, t.clock()).started == 1 and load_campaign(t.engine, c.id).status == "Sending"


def _variations(t, c, *email_ids) -> None:
    params = {}
    for n, email_id in enumerate(email_ids):
        params[f"ABTesting[Variations][{n}][emailid]"] = email_id
        params[f"ABTesting[Variations][{n}][weight]"] = 1
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id, **params))


def test_adding_ab_variations_to_an_approved_campaign_needs_approval_again(t):
    c = approved(t)
    other = make_email(t.engine, t.user, subject="B", html_content=HTML, from_email="news@example.com")
    _variations(t, c, c.email_id, other)
    assert load_campaign(t.engine, c.id).status == "Pending Approval"


def test_editing_any_variation_of_an_approved_ab_campaign_needs_approval_again(t):
    c = approved(t)
    second = make_email(t.engine, t.user, subject="B", html_content=HTML, from_email="news@example.com")
    _variations(t, c, c.email_id, second)
    ok(t.api("Campaign.Approve", t.admin.session, CampaignID=c.id))
    assert load_campaign(t.engine, c.id).status == "Ready"
    ok(t.api("Email.Update", t.user.session, EmailID=second, ValidateScope="Campaign", HTMLContent="<p>Spam</p>"))
    assert load_campaign(t.engine, c.id).status == "Pending Approval"
    tick(t.engine, t.clock())
    assert load_campaign(t.engine, c.id).status == "Pending Approval" and instances(t, c.id) == []


def test_an_email_shared_by_two_campaigns_holds_both(t):
    first = approved(t)
    second = approved(t, email_id=first.email_id)
    _email_html(t, first)
    assert [load_campaign(t.engine, c.id).status for c in (first, second)] == ["Pending Approval"] * 2


def test_a_segment_the_campaign_uses_changing_its_rules_needs_approval_again(t):
    list_id = make_list(t.engine, t.user, "Targets")
    c = approved(t, RecipientListsAndSegments=f"{list_id}:{segment(t, list_id)}")
    seg = load_campaign(t.engine, c.id).recipients[0].segment_id
    rules = [[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "@"}]]
    ok(t.api("Segment.Update", t.user.session, SegmentID=seg, SegmentName="S", RulesJson=json.dumps(rules)))
    assert load_campaign(t.engine, c.id).status == "Pending Approval"


def test_deleting_an_excluded_segment_or_list_widens_the_audience_and_needs_approval_again(t):
    never = make_list(t.engine, t.user, "Never")
    by_segment = approved(t, Exclude_RecipientListsAndSegments=f"{never}:{segment(t, never)}")
    ok(t.api("Segments.Delete", t.user.session, Segments=str(load_campaign(t.engine, by_segment.id)
                                                            .recipients[-1].segment_id)))
    assert load_campaign(t.engine, by_segment.id).status == "Pending Approval"
    excluded = make_list(t.engine, t.user, "Excluded")
    by_list = approved(t, Exclude_RecipientListsAndSegments=f"{excluded}:0")
    ok(t.api("Lists.Delete", t.user.session, Lists=str(excluded)))
    assert load_campaign(t.engine, by_list.id).status == "Pending Approval"


def test_rescheduling_an_approved_future_campaign_needs_approval_again(t):
    c = approved(t, ScheduleType="Future", SendDate="2026-12-24", SendTime="09:00", SendTimeZone="UTC")
    ok(t.api("Campaign.Reschedule", t.user.session, CampaignID=c.id, SendAt="2026-12-01T08:00:00Z"))
    stored = load_campaign(t.engine, c.id)
    assert (stored.status, str(stored.send_date)) == ("Pending Approval", "2026-12-01")


def test_an_account_held_campaign_whose_email_changed_needs_approval_before_resuming(t):
    c = approved(t)
    set_campaign(t.engine, c.id, status="Paused", status_reason="Quota exceeded")
    _email_html(t, c)
    stored = load_campaign(t.engine, c.id)
    assert (stored.status, stored.status_reason) == ("Pending Approval", "")


# --- what does not --------------------------------------------------------------------------------------------
def test_renames_and_identical_content_keep_the_approval(t):
    list_id = make_list(t.engine, t.user, "Targets")
    c = approved(t, RecipientListsAndSegments=f"{list_id}:{segment(t, list_id)}")
    seg = load_campaign(t.engine, c.id).recipients[0].segment_id
    ok(t.api("Campaign.Update", t.user.session, CampaignID=c.id, CampaignName="Winter sale"))
    ok(t.api("Email.Update", t.user.session, EmailID=c.email_id, ValidateScope="Campaign", EmailName="Renamed",
             HTMLContent=HTML))
    ok(t.api("Segment.Update", t.user.session, SegmentID=seg, SegmentName="Renamed segment"))
    assert load_campaign(t.engine, c.id).status == "Ready"
    assert tick(t.engine, t.clock()).started == 1 and len(instances(t, c.id)) == 1


def test_a_trusted_account_edits_a_ready_campaign_without_approval(t):
    c = approved(t, t.trusted)
    ok(t.api("Email.Update", t.trusted.session, EmailID=c.email_id, ValidateScope="Campaign", HTMLContent="<p>New</p>"))
    assert load_campaign(t.engine, c.id).status == "Ready"
    assert tick(t.engine, t.clock()).started == 1


# --- the tick and a send in progress ----------------------------------------------------------------------------
def test_the_tick_holds_a_campaign_changed_behind_the_commands_back(t):
    c = approved(t)
    with t.engine.uow() as uow:   # a path that skipped the check: the tick is the last fence
        uow.session.get(Email, c.email_id).html_content = "<p>Changed elsewhere</p>"
        uow.commit()
    summary = tick(t.engine, t.clock())
    assert (summary.started, summary.waiting_approval) == (0, 1)
    assert load_campaign(t.engine, c.id).status == "Pending Approval" and instances(t, c.id) == []


def test_a_campaign_approved_before_fingerprints_existed_is_asked_again(t):
    c = approved(t)
    set_campaign(t.engine, c.id, approved_content="", approved_setup="")
    assert tick(t.engine, t.clock()).started == 0
    assert load_campaign(t.engine, c.id).status == "Pending Approval" and instances(t, c.id) == []


@pytest.mark.parametrize("paused", [False, True], ids=["sending", "paused"])
def test_the_email_of_a_send_in_progress_cannot_change(t, paused):
    c = approved(t)
    assert tick(t.engine, t.clock()).started == 1
    if paused:
        ok(t.api("Campaign.Pause", t.user.session, CampaignID=c.id))
    answer = t.api("Email.Update", t.user.session, EmailID=c.email_id, ValidateScope="Campaign",
                   HTMLContent="<p>Spam</p>", Subject="Other")
    assert answer["Success"] is False and answer["ErrorCode"] == [22], answer
    email = load_row(t.engine, Email, c.email_id)
    assert (email.html_content, email.subject) == (HTML, "Hello")
    assert load_campaign(t.engine, c.id).status == ("Paused" if paused else "Sending")


def test_the_modern_publish_cannot_change_the_email_of_a_send_in_progress(t, rest):
    from tests.protocol.test_rest_campaigns import BASE, verified_sender

    verified_sender(t.engine, t.user)
    sending = approved(t)
    assert tick(t.engine, t.clock()).started == 1
    draft = t.api("Campaign.Create", t.user.session, CampaignName="Same email")["CampaignID"]
    ok(t.api("Campaign.Update", t.user.session, CampaignID=draft, RelEmailID=sending.email_id))
    answer = rest.post(f"{BASE}/{draft}/publish", t.user.session, json={"emailDistributionOptions": {
        "emailSubject": "Other", "listIds": [str(sending.list_id)]}})
    assert (answer.status, answer.code) == (428, "EMAIL_BEING_SENT")
    email = load_row(t.engine, Email, sending.email_id)
    assert (email.subject, email.from_email) == ("Hello", "news@example.com")
    assert load_campaign(t.engine, draft).status == "Draft" and load_campaign(t.engine, draft).recipients == []
