"""The links of real mailed messages, after their rows were deleted and another account made new ones:
never handed the same ids, and the old links answer the not-found page (tests/protocol/test_link_reuse.py
forces the ids back and checks the nonce)."""
from __future__ import annotations

import email
import email.policy
import re

import pytest
from sqlalchemy import select

from engine.audience.confirmations import send_due_confirmations
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from engine.models import Campaign, Email, SendInstance, Subscriber
from scheduler.tick import tick
from tests.e2e.support import make_campaign, make_list, make_owner
from tests.e2e.test_confirmations import double_opt_in_list, links, messages, subscribe
from tests.protocol.test_tracking import dsn

SITE = re.escape("http://sendmill.test")


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url))
    yield transport
    transport.close()


def login(api, name: str) -> str:
    return api("User.Login", Username=name, Password="pass-word-1")["SessionID"]


def send_campaign(engine, clock, pool, name: str, address: str) -> dict:
    """`name`'s campaign to one address, sent through the loopback relay; its ids."""
    owner = make_owner(engine, name)
    list_id = make_list(engine, owner, [address], f"{name}'s list")
    campaign_id = make_campaign(engine, owner, [list_id])
    with engine.uow() as uow:
        email_row = uow.session.get(Email, uow.session.get(Campaign, campaign_id).email_id)
        email_row.html_content = email_row.html_content.replace(
            "</body>", '<p><a href="%Link:WebBrowser%">View online</a></p></body>')
        uow.commit()
    tick(engine, clock())
    assert DeliveryRunner(engine, pool, clock=clock, worker_id="test-worker").run_once(30).sent == 1
    with engine.uow() as uow:
        instance_id = uow.session.scalar(select(SendInstance.id).where(SendInstance.campaign_id == campaign_id))
        subscriber_id = uow.session.scalar(select(Subscriber.id).where(Subscriber.list_id == list_id))
    return {"campaign": campaign_id, "instance": instance_id, "subscriber": subscriber_id, "list": list_id}


def mailed_links(smtp, index: int) -> dict[str, str]:
    envelope_from, _, data = smtp.messages[index]
    message = email.message_from_bytes(data, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    return {"open": re.search(rf'src="{SITE}(/t/o/[^"]+)"', html).group(1),
            "click": re.search(rf'href="{SITE}(/t/c/[^"]+)"[^>]*>Offer<', html).group(1),
            "web view": re.search(rf'href="{SITE}(/t/w/[^"]+)"', html).group(1),
            "unsubscribe": re.search(rf"<{SITE}(/t/u/[^>]+)>", message["List-Unsubscribe"]).group(1),
            "verp": envelope_from}


def test_a_deleted_campaigns_mailed_links_never_open_the_next_accounts_campaign(engine, clock, smtp, pool, client,
                                                                                 api):
    ann = send_campaign(engine, clock, pool, "ann", "a@example.com")
    old = mailed_links(smtp, 0)
    assert client.get(old["web view"]).status_code == 200
    session = login(api, "ann")
    assert api("Campaigns.Delete", session, Campaigns=ann["campaign"])["Success"]
    assert api("Lists.Delete", session, Lists=ann["list"])["Success"]

    bea = send_campaign(engine, clock, pool, "bea", "b@example.com")

    assert all(bea[name] > ann[name] for name in ("campaign", "instance", "subscriber", "list")), (ann, bea)
    for name in ("open", "click", "web view", "unsubscribe"):
        assert client.get(old[name]).status_code == 404, name
    assert client.post(old["unsubscribe"], data={"List-Unsubscribe": "One-Click"}).status_code == 404
    with engine.uow() as uow:
        assert uow.events.record_message(dsn(old["verp"], "b@example.com"), [old["verp"]]) == (1, 0)
        uow.commit()
        subscriber = uow.session.get(Subscriber, bea["subscriber"])
        campaign = uow.session.get(Campaign, bea["campaign"])
        assert (subscriber.subscription_status, subscriber.bounce_type) == ("Subscribed", "Not Bounced")
        assert (campaign.total_opens, campaign.total_clicks, campaign.total_views_on_browser) == (0, 0, 0)
    assert client.get(mailed_links(smtp, 1)["web view"]).status_code == 200   # Bea's own links work


def test_a_deleted_subscribers_confirmation_links_never_confirm_the_next_accounts_subscriber(engine, smtp, pool,
                                                                                            client, api):
    ann = make_owner(engine, "ann")
    ann_list = double_opt_in_list(engine, ann)
    ann_subscriber = subscribe(engine, ann_list, "a@example.com")
    assert send_due_confirmations(engine, pool).sent == 1
    old = links(messages(smtp)[0])
    assert client.get(old["confirm"]).status_code == 200
    assert api("Subscribers.Delete", login(api, "ann"), SubscriberListID=ann_list,
               Subscribers=ann_subscriber)["Success"]

    bea = make_owner(engine, "bea")
    bea_subscriber = subscribe(engine, double_opt_in_list(engine, bea, "Cooking"), "b@example.com")

    assert bea_subscriber > ann_subscriber
    for path in (old["confirm"], old["reject"]):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    with engine.uow() as uow:
        assert uow.session.get(Subscriber, bea_subscriber).subscription_status == "Opt-In Pending"
