"""Email subscriptions kept in step with the legacy records and with delivery reports, and what
UNSUBSCRIBED means for a campaign's audience."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import EmailSubscription
from tests.builders import make_list, make_subscriber, set_list
from tests.engine.test_events import arf, record
from tests.protocol.test_email_subscriptions import BASE, account_suppressions, events, upsert
from tests.protocol.test_tracking import dsn, sent_campaign


def status(engine, owner, email: str) -> tuple[str, str] | None:
    with engine.uow() as uow:
        row = uow.session.scalar(select(EmailSubscription).where(
            EmailSubscription.owner_user_id == owner.id, EmailSubscription.email_normalized == email))
        return (row.subscription_status, row.deliverability_status) if row else None


def subscribe(api, list_id, email="ann@example.com", **params):
    answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress=email, IPAddress="203.0.113.7",
                 **params)
    assert answer["Success"] is True, answer
    return answer


def audience(api, user, list_id) -> list[str]:
    campaign_id = api("Campaign.Create", user.session, CampaignName="News")["CampaignID"]
    api("Campaign.Update", user.session, CampaignID=campaign_id, RecipientListsAndSegments=f"{list_id}:0")
    preview = api("Campaign.Recipients.Get", user.session, CampaignID=campaign_id)
    assert preview["Success"] is True, preview
    return sorted(r["EmailAddress"] for r in preview["Recipients"])


# --- UNSUBSCRIBED is never mailed --------------------------------------------------------------------
def test_unsubscribed_addresses_leave_every_audience_until_resubscribed(api, rest, engine, user, list_id):
    other_list = make_list(engine, user, "Second")
    for email in ("ann@example.com", "bob@example.com"):
        make_subscriber(engine, list_id, email)
    make_subscriber(engine, other_list, "ann@example.com")
    assert audience(api, user, list_id) == ["ann@example.com", "bob@example.com"]
    assert upsert(rest, user, "ANN@example.com", subscriptionStatus="UNSUBSCRIBED").status == 200
    assert audience(api, user, list_id) == ["bob@example.com"]
    assert audience(api, user, other_list) == []
    assert account_suppressions(engine) == [(user.id, "ann@example.com", "Unsubscribe")]
    # The legacy record is not rewritten: the person is still on the list, never mailed.
    got = api("Subscriber.Get", user.session, ListID=list_id, EmailAddress="ann@example.com")
    assert got["SubscriberInformation"]["SubscriptionStatus"] == "Subscribed" and got["Suppressed"] is True
    upsert(rest, user, "ann@example.com", subscriptionStatus="SUBSCRIBED")
    assert account_suppressions(engine) == []
    assert audience(api, user, list_id) == ["ann@example.com", "bob@example.com"]


def test_resubscribing_keeps_bounce_and_complaint_suppressions(api, rest, engine, user, list_id):
    make_subscriber(engine, list_id, "ann@example.com")
    api("Suppression.Import", user.session, EmailAddressesBulk="ann@example.com", SuppressionSource="Hard Bounced")
    upsert(rest, user, "ann@example.com", subscriptionStatus="UNSUBSCRIBED")
    upsert(rest, user, "ann@example.com", subscriptionStatus="SUBSCRIBED")
    assert account_suppressions(engine) == [(user.id, "ann@example.com", "Hard Bounced")]
    assert audience(api, user, list_id) == []


def test_a_single_opt_in_form_does_not_lift_an_account_wide_opt_out(api, rest, engine, user, list_id):
    upsert(rest, user, "ann@example.com", subscriptionStatus="UNSUBSCRIBED")
    subscribe(api, list_id)   # anyone can post anyone's address to a form
    assert status(engine, user, "ann@example.com") == ("UNSUBSCRIBED", "NOT_SET")
    assert audience(api, user, list_id) == []
    # The owner's own decision does lift it.
    sid = api("Subscriber.Get", user.session, ListID=list_id, EmailAddress="ann@example.com")[
        "SubscriberInformation"]["SubscriberID"]
    api("Subscriber.Update", user.session, SubscriberListID=list_id, SubscriberID=sid,
        SubscriptionStatus="Unsubscribed")
    api("Subscriber.Update", user.session, SubscriberListID=list_id, SubscriberID=sid,
        SubscriptionStatus="Subscribed")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    assert audience(api, user, list_id) == ["ann@example.com"]


def test_lifting_the_suppression_lifts_the_opt_out(api, rest, engine, user, list_id):
    make_subscriber(engine, list_id, "ann@example.com")
    upsert(rest, user, "ann@example.com", subscriptionStatus="UNSUBSCRIBED")
    assert api("Suppression.Delete", user.session, EmailAddress="ann@example.com")["Success"] is True
    assert status(engine, user, "ann@example.com") == ("NOT_SET", "NOT_SET")
    assert audience(api, user, list_id) == ["ann@example.com"]


# --- legacy subscriptions move the status ------------------------------------------------------------
def test_legacy_subscribe_and_unsubscribe(api, engine, user, list_id):
    subscribe(api, list_id)
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    answer = api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com",
                 IPAddress="203.0.113.7")
    assert answer["Success"] is True, answer
    assert status(engine, user, "ann@example.com") == ("UNSUBSCRIBED", "NOT_SET")
    assert account_suppressions(engine) == []   # out of every list: nothing to suppress
    subscribe(api, list_id, UpdateIfExists="1")   # the person subscribes again, as legacy always allowed
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    assert [e["subscriptionStatus"] for e in events(engine)] == ["SUBSCRIBED", "UNSUBSCRIBED", "SUBSCRIBED"]


def test_importing_an_address_that_left_every_list_makes_it_subscribed_again(api, engine, user, list_id):
    subscribe(api, list_id)
    api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert status(engine, user, "ann@example.com") == ("UNSUBSCRIBED", "NOT_SET")
    second = make_list(engine, user, "Imported")
    answer = api("Subscribers.Import", user.session, ListID=second, ImportData="Email\nann@example.com\n")
    assert answer["Success"] is True, answer
    # The record never says UNSUBSCRIBED of an address a campaign would mail.
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    assert audience(api, user, second) == ["ann@example.com"]


def test_importing_does_not_lift_an_account_wide_opt_out(api, rest, engine, user, list_id):
    subscribe(api, list_id)
    assert upsert(rest, user, "ann@example.com", subscriptionStatus="UNSUBSCRIBED").status == 200
    second = make_list(engine, user, "Imported")
    answer = api("Subscribers.Import", user.session, ListID=second, ImportData="Email\nann@example.com\n")
    assert answer["Success"] is True, answer
    assert status(engine, user, "ann@example.com")[0] == "UNSUBSCRIBED"
    assert audience(api, user, second) == []


def test_leaving_one_of_two_lists_keeps_the_address_subscribed(api, engine, user, list_id):
    second = make_list(engine, user, "Second")
    subscribe(api, list_id)
    subscribe(api, second)
    api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")


def test_an_opt_out_with_global_suppression_is_account_wide(api, engine, user, list_id):
    second = make_list(engine, user, "Second")
    set_list(engine, list_id, opt_out_add_to_global_suppression_list=True)
    subscribe(api, list_id)
    subscribe(api, second)
    api("Subscriber.Unsubscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert status(engine, user, "ann@example.com") == ("UNSUBSCRIBED", "NOT_SET")
    subscribe(api, make_list(engine, user, "Third"), "ANN@example.com")   # a form: the opt-out stands
    assert status(engine, user, "ann@example.com") == ("UNSUBSCRIBED", "NOT_SET")


def test_double_opt_in_is_pending_until_confirmed(api, engine, user, list_id):
    set_list(engine, list_id, opt_in_mode="Double")
    sid = subscribe(api, list_id)["SubscriberID"]
    assert status(engine, user, "ann@example.com") == ("PENDING", "NOT_SET")
    assert api("Subscriber.OptIn", user.session, ListID=list_id, SubscriberID=sid)["Success"] is True
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")


def test_the_tracked_unsubscribe_link_moves_the_status(api, client, engine, user):
    sent = sent_campaign(engine, api, user)
    from engine.tracking.tokens import Kind
    assert client.post(sent.url(Kind.UNSUBSCRIBE, sent.alice)).status_code == 200
    assert status(engine, user, "alice@example.org") == ("UNSUBSCRIBED", "NOT_SET")
    assert status(engine, user, "bob@example.org") is None


# --- delivery reports move deliverability -------------------------------------------------------------
def test_hard_bounce_complaint_and_open(api, client, engine, user):
    sent = sent_campaign(engine, api, user)
    record(engine, dsn(sent.verp(sent.alice), "alice@example.org"), [sent.verp(sent.alice)])
    assert status(engine, user, "alice@example.org") == ("SUBSCRIBED", "BOUNCED")
    record(engine, arf(sent.verp(sent.bob), "bob@example.org"), [sent.verp(sent.bob)])
    assert status(engine, user, "bob@example.org") == ("SUBSCRIBED", "SPAM_COMPLAINT")
    from engine.tracking.tokens import Kind
    client.get(sent.url(Kind.OPEN, sent.alice))   # an open does not clear a bounce
    assert status(engine, user, "alice@example.org") == ("SUBSCRIBED", "BOUNCED")
    changed = [(e["email"], e["deliverabilityStatus"]) for e in events(engine)]
    assert changed == [("alice@example.org", "BOUNCED"), ("bob@example.org", "SPAM_COMPLAINT")]


def test_an_open_marks_the_address_valid(api, client, engine, user, rest):
    sent = sent_campaign(engine, api, user)
    from engine.tracking.tokens import Kind
    assert client.get(sent.url(Kind.OPEN, sent.bob)).status_code == 200
    assert status(engine, user, "bob@example.org") == ("SUBSCRIBED", "VALID")
    found = rest.post(f"{BASE}/query", user.session, json={"filter": {"email": {"$in": ["bob@example.org"]}}})
    assert found.body["subscriptions"][0]["deliverabilityStatus"] == "VALID"
