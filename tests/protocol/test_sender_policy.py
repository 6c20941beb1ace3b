"""The From policy through HTTP (engine/senders/policy.py): an account sends only as its verified sender
emails (or their site-owned stand-in) and as the domains the administrator allows, for the installation
or for its user group. Arming, publishing and test sends answer a documented code otherwise, and the
tick holds a campaign whose From stopped being allowed. The clock is the injected one: 2026-11-23 12:00 UTC."""
from __future__ import annotations

import dataclasses
import email
import email.policy
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from engine.models import Delivery, OutboxEvent, SendInstance, TestSend
from engine.models.senders import SenderDetails, SenderEmail
from scheduler.tick import tick
from tests.builders import load_campaign, make_email, make_list, make_subscriber
from tests.e2e.support import loopback_relay

BASE = "/email-marketing/v1/campaigns"
SPOOFED = "security@bank.example"


@pytest.fixture
def relay(engine):
    with loopback_relay(engine) as recorder:
        yield recorder


@pytest.fixture
def t(api, rest, admin, user, engine, relay):
    return SimpleNamespace(api=api, rest=rest, admin=admin, user=user, engine=engine, relay=relay)


def allow(t, *domains: str) -> None:
    """The installation's SENDMILL_ALLOWED_SENDER_DOMAINS."""
    t.engine.settings = dataclasses.replace(t.engine.settings, allowed_sender_domains=domains)


def verified(t, address: str, *, default: bool = False) -> None:
    with t.engine.uow() as uow:
        now = uow.clock()
        uow.session.add(SenderEmail(owner_user_id=t.user.id, email_address=address, email_normalized=address.lower(),
                                    verified=True, verified_at=now, created_at=now, updated_at=now))
        if default:
            uow.session.add(SenderDetails(user_id=t.user.id, from_name="Alice", from_email=address, updated_at=now))
        uow.commit()


def draft(t, from_email: str = SPOOFED) -> int:
    """A Draft with content From `from_email`, one subscriber and an Immediate schedule."""
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Security notice")["CampaignID"]
    list_id = make_list(t.engine, t.user)
    make_subscriber(t.engine, list_id, "victim@example.com")
    email_id = make_email(t.engine, t.user, subject="Verify your account", html_content="<p>Log in</p>",
                          from_email=from_email, from_name="Bank Security")
    assert t.api("Campaign.Update", t.user.session, CampaignID=cid, RelEmailID=email_id,
                 RecipientListsAndSegments=f"{list_id}:0", ScheduleType="Immediate")["Success"]
    return cid


def arm(t, cid: int) -> dict:
    return t.api("Campaign.Update", t.user.session, CampaignID=cid, CampaignStatus="Ready")


def count(t, model, *where) -> int:
    with t.engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def published_events(t, cid: int) -> int:
    return count(t, OutboxEvent, OutboxEvent.slug == "campaign_published_event", OutboxEvent.entity_id == str(cid))


# --- arming and publishing ----------------------------------------------------------------------------------------
def test_arming_a_campaign_from_someone_elses_address_is_refused(t):
    cid = draft(t)
    answer = arm(t, cid)
    assert (answer["Success"], answer["ErrorCode"]) == (False, 31) and SPOOFED in answer["ErrorText"]
    assert load_campaign(t.engine, cid).status == "Draft" and published_events(t, cid) == 0
    publish = t.api("Campaign.Publish", t.user.session, CampaignID=cid)
    assert (publish["Success"], publish["ErrorCode"]) == (False, 8)
    assert load_campaign(t.engine, cid).status == "Draft" and published_events(t, cid) == 0
    tick(t.engine)
    assert count(t, SendInstance) == 0 and t.relay.messages == []


def test_an_empty_from_is_the_owners_own_address_and_follows_the_same_rule(t):
    allow(t)   # nothing allowed by the installation: alice@example.com is neither verified nor allowed
    cid = draft(t, from_email="")
    assert arm(t, cid)["ErrorCode"] == 31 and load_campaign(t.engine, cid).status == "Draft"
    verified(t, "Alice@Example.com")          # verified by code: allowed, whatever the case
    assert arm(t, cid)["Success"] is True and load_campaign(t.engine, cid).status == "Ready"


def test_the_user_groups_allowed_sender_domains_cover_the_domain_and_its_subdomains(t):
    allow(t)
    group_id = t.api("User.Current", t.user.session)["UserInfo"]["RelUserGroupID"]
    assert t.api("UserGroup.Update", t.admin.session, UserGroupID=group_id,
                 AllowedSenderDomains="bank.example")["Success"]
    cid, sub = draft(t), draft(t, "alerts@mail.bank.example")
    assert arm(t, cid)["Success"] is True and arm(t, sub)["Success"] is True
    other = draft(t, "security@notbank.example")   # a suffix, not a subdomain
    assert arm(t, other)["ErrorCode"] == 31 and load_campaign(t.engine, other).status == "Draft"


def test_an_installation_that_allows_any_from_arms_anything(t):
    allow(t, "*")
    cid = draft(t)
    assert arm(t, cid)["Success"] is True and load_campaign(t.engine, cid).status == "Ready"


def test_the_modern_publish_sends_as_the_verified_default_sender_or_its_site_owned_stand_in(t):
    allow(t)
    verified(t, "alice@gmail.com", default=True)     # free-mail: the From becomes alice@sendmill.test
    cid = draft(t)
    answer = t.rest.post(f"{BASE}/{cid}/publish", t.user.session,
                         json={"emailDistributionOptions": {"labelIds": ["contacts-all"]}})
    assert answer.status == 200, answer.body
    assert load_campaign(t.engine, cid).status == "Ready"
    # The sender domain is not open beyond the stand-ins of verified addresses.
    impostor = draft(t, "ceo@sendmill.test")
    assert arm(t, impostor)["ErrorCode"] == 31 and load_campaign(t.engine, impostor).status == "Draft"


# --- test sends -----------------------------------------------------------------------------------------------------
def test_no_test_message_leaves_from_someone_elses_address(t):
    cid = draft(t)
    email_id = load_campaign(t.engine, cid).email_id
    preview = t.api("Email.EmailPreview", t.user.session, EmailID=email_id, EmailAddress="victim@example.com")
    assert (preview["Success"], preview["ErrorCode"]) == (False, 24) and SPOOFED in preview["ErrorText"]
    override = t.api("Email.EmailPreview", t.user.session, EmailAddress="victim@example.com",
                     HTMLContent="<p>Log in</p>", FromEmailAddress=SPOOFED)
    assert override["ErrorCode"] == 24
    command = t.api("Campaign.SendTest", t.user.session, CampaignID=cid, EmailAddress="victim@example.com")
    assert command["ErrorCode"] == 10
    rest = t.rest.post(f"{BASE}/{cid}/test", t.user.session, json={"toEmailAddress": "victim@example.com"})
    assert (rest.status, rest.code) == (428, "FROM_ADDRESS_NOT_ALLOWED")
    assert t.relay.messages == [] and count(t, TestSend) == 0


def test_raw_content_without_a_from_goes_out_from_the_sites_own_preview_address(t):
    allow(t)
    answer = t.api("Email.EmailPreview", t.user.session, EmailAddress="qa@example.com", HTMLContent="<p>Draft</p>")
    assert answer["Success"] is True, answer
    [(_, _, data)] = t.relay.messages
    message = email.message_from_bytes(data, policy=email.policy.strict)
    assert message["From"] == "Preview Email <preview@sendmill.test>"
    assert count(t, TestSend) == 1


# --- after arming: the tick holds what may no longer be sent ---------------------------------------------------------
def test_the_tick_holds_a_campaign_whose_from_was_changed_after_arming(t):
    cid = draft(t, "news@example.com")
    assert arm(t, cid)["Success"] is True
    email_id = load_campaign(t.engine, cid).email_id
    assert t.api("Email.Update", t.user.session, EmailID=email_id, ValidateScope="Campaign",
                 FromEmail=SPOOFED)["Success"] is True
    summary = tick(t.engine)   # due at once (Immediate): held instead of started
    assert (summary.started, summary.paused) == (0, 1)
    held = load_campaign(t.engine, cid)
    assert (held.status, held.status_reason) == ("Paused", "Sender not allowed")
    assert count(t, SendInstance) == 0 and count(t, Delivery) == 0 and t.relay.messages == []
    assert t.rest.get(f"{BASE}/{cid}", t.user.session).body["campaign"]["distributionStatus"] == "REJECTED"
    # Fixed and resumed: armed again, and the next tick starts it.
    assert t.api("Email.Update", t.user.session, EmailID=email_id, ValidateScope="Campaign",
                 FromEmail="news@example.com")["Success"] is True
    assert t.api("Campaign.Resume", t.user.session, CampaignID=cid)["Success"] is True
    assert load_campaign(t.engine, cid).status == "Ready"
    assert tick(t.engine).started == 1
    assert load_campaign(t.engine, cid).status == "Sending" and count(t, Delivery) == 1
