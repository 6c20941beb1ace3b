"""Journeys that mail, over real SMTP (the loopback aiosmtpd server): a subscription enters a journey, its
Wait passes on the FakeClock, its SendEmail arrives once; a click on that mail enters a second journey whose
Decision takes the True branch, tags the subscriber and mails a second email, once. And the issue's path in
one journey: subscribe → wait 2 s → mail → a Decision on who clicked that mail → tag + a second mail for the
clicker, a reminder for the other, each once."""
from __future__ import annotations

import email
import email.policy
import re

import pytest
from sqlalchemy import select

from engine.audience.subscriber_tags import name_digest
from engine.automation.journeys.runner import run_pass
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from engine.models import JourneySend, Subscriber, SubscriberFieldValue, SubscriberTag, SubscriberTagAssignment
from tests.e2e.support import make_list, make_owner


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=2"))
    yield transport
    transport.close()


def send(engine, pool, clock) -> int:
    return DeliveryRunner(engine, pool, clock=clock, worker_id="journey-worker").run_once(30).sent


def journey(engine, owner, settings: dict, actions: list) -> int:
    with engine.uow() as uow:
        row = uow.journeys.create(owner.actor, {"name": "J", **settings})
        uow.journeys.replace_actions(owner.actor, row.id, actions)
        uow.journeys.set_status(owner.actor, row.id, True)
        uow.commit()
        return row.id


def clicked_tag(engine, owner, list_id: int, clock) -> int:
    """The list's subscriber tag "Clicked", which the journeys under test put on a clicker."""
    with engine.uow() as uow:
        tag = SubscriberTag(list_id=list_id, owner_user_id=owner.id, name="Clicked", name_digest=name_digest("Clicked"),
                            created_at=clock())
        uow.session.add(tag)
        uow.commit()
        return tag.id


def new_email(engine, owner, name: str, subject: str, html: str) -> int:
    with engine.uow() as uow:
        mail = uow.emails.create(owner.actor, name)
        mail.subject, mail.from_email, mail.html_content = subject, "news@sender.example", html
        uow.commit()
        return mail.id


def test_subscribe_wait_mail_click_decision_tag_and_second_mail(api, engine, clock, smtp, pool, client):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, [], "Shop")
    tag_id = clicked_tag(engine, owner, list_id, clock)
    with engine.uow() as uow:
        country = uow.custom_fields.create(owner.actor, list_id, {"name": "Country"}).id
        uow.commit()
    first = new_email(engine, owner, "Hello", "Hello %Subscriber:EmailAddress%",
                      '<p>Hi %Subscriber:EmailAddress%</p><a href="https://shop.example/offer">Offer</a>')
    second = new_email(engine, owner, "Thanks", "Thanks for looking", "<p>Thanks</p>")
    journey(engine, owner, {"trigger": "ListSubscription", "trigger_list_id": list_id}, [
        {"action": "Wait", "waitunit": "seconds", "waitamount": 2, "published": True},
        {"action": "SendEmail", "emailid": first, "published": True,
         "from": {"name": "The Shop", "email": "shop@sender.example"},
         "replyto": {"name": "Help", "email": "help@sender.example"}}])
    journey(engine, owner, {"trigger": "EmailLinkClick", "trigger_email_id": first}, [
        {"action": "Decision", "published": True, "criteriaoperator": "and",
         "criteria": [[{"type": "fields", "field_id": f"CustomField{country}", "operator": "is", "value": "nl"}]],
         "actions": {"true": [{"action": "AddTag", "targettagid": tag_id, "published": True},
                              {"action": "SendEmail", "emailid": second, "published": True}],
                     "false": []}}])

    answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert answer["Success"] is True, answer
    with engine.uow() as uow:
        uow.session.add(SubscriberFieldValue(subscriber_id=answer["SubscriberID"], field_id=country, value_text="NL"))
        uow.commit()
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 0 and smtp.messages == []      # the Wait holds it
    clock.advance(seconds=2)
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 1
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 0 and len(smtp.messages) == 1   # once
    mail_from, recipients, data = smtp.messages[0]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert recipients == ["ann@example.com"] and mail_from.startswith("bounce+")
    assert str(message["Subject"]) == "Hello ann@example.com"
    assert str(message["From"]) == "The Shop <shop@sender.example>"
    assert str(message["Reply-To"]) == "Help <help@sender.example>"
    html = message.get_body(("html",)).get_content()
    assert "Hi ann@example.com" in html
    offer = re.search(r'href="http://sendmill\.test(/t/c/[^"]+)"[^>]*>Offer<', html).group(1)

    click = client.get(offer)
    assert click.status_code == 302 and click.headers["Location"] == "https://shop.example/offer"
    pixel = re.search(r'"http://sendmill\.test(/t/o/[^"]+)"', html).group(1)
    assert client.get(pixel).status_code == 200
    with engine.uow() as uow:   # the message's row counted both; the action's figures show them
        row = uow.session.scalar(select(JourneySend))
        assert (row.opens, row.clicks) == (2, 1)    # the click came first: it counted an open as well
        stats = uow.journey_stats.by_action(owner.actor, row.journey_id, clock().date(), clock().date(),
                                            action_id=None, isp="example.com")[0]["Stats"]
        assert (stats["DeliveryCount"], stats["OpenCount"], stats["TotalOpenCount"], stats["ClickCount"]) == (1, 1, 2, 1)
    run_pass(engine, clock())
    with engine.uow() as uow:
        assert uow.session.scalars(select(SubscriberTagAssignment.tag_id).where(
            SubscriberTagAssignment.subscriber_id == answer["SubscriberID"])).all() == [tag_id]
    assert send(engine, pool, clock) == 1
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 0 and len(smtp.messages) == 2
    second_message = email.message_from_bytes(smtp.messages[1][2], policy=email.policy.default)
    assert smtp.messages[1][1] == ["ann@example.com"]
    assert str(second_message["Subject"]) == "Thanks for looking"
    assert str(second_message["From"]) == "news@sender.example"
    with engine.uow() as uow:
        assert sorted(uow.session.scalars(select(JourneySend.state))) == ["sent", "sent"]
        assert uow.session.get(Subscriber, answer["SubscriberID"]).subscription_status == "Subscribed"


def test_one_journey_branches_on_a_click_of_its_own_mail(api, engine, clock, smtp, pool, client):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, [], "Shop")
    tag_id = clicked_tag(engine, owner, list_id, clock)
    first = new_email(engine, owner, "Hello", "Hello", '<p>Hi</p><a href="https://shop.example/offer">Offer</a>')
    thanks = new_email(engine, owner, "Thanks", "Thanks for looking", "<p>Thanks</p>")
    reminder = new_email(engine, owner, "Reminder", "Did you see our offer?", "<p>Offer</p>")
    wait_2s = {"action": "Wait", "waitunit": "seconds", "waitamount": 2, "published": True}
    hello = {"action": "SendEmail", "emailid": first, "published": True}
    wait_1h = {"action": "Wait", "waitunit": "hours", "waitamount": 1, "published": True}
    jid = journey(engine, owner, {"trigger": "ListSubscription", "trigger_list_id": list_id}, [wait_2s, hello, wait_1h])
    with engine.uow() as uow:    # the Decision names this journey's own SendEmail action
        send_step = next(a.id for a in uow.journeys.actions(jid) if a.action == "SendEmail")
        uow.journeys.replace_actions(owner.actor, jid, [
            wait_2s, {**hello, "actionid": send_step}, wait_1h,
            {"action": "Decision", "published": True, "criteriaoperator": "and",
             "criteria": [[{"type": "journeys", "operator": "clicked", "value": send_step}]],
             "actions": {"true": [{"action": "AddTag", "targettagid": tag_id, "published": True},
                                  {"action": "SendEmail", "emailid": thanks, "published": True}],
                         "false": [{"action": "SendEmail", "emailid": reminder, "published": True}]}}])
        uow.commit()

    ids = {}
    for name in ("ann", "bob"):
        answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress=f"{name}@example.com",
                     IPAddress="1.2.3.4")
        assert answer["Success"] is True, answer
        ids[name] = answer["SubscriberID"]
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 0 and smtp.messages == []      # the Wait holds them
    clock.advance(seconds=2)
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 2 and sorted(m[1][0] for m in smtp.messages) == ["ann@example.com",
                                                                                         "bob@example.com"]
    ann_mail = next(m for m in smtp.messages if m[1] == ["ann@example.com"])
    html = email.message_from_bytes(ann_mail[2], policy=email.policy.default).get_body(("html",)).get_content()
    offer = re.search(r'href="http://sendmill\.test(/t/c/[^"]+)"[^>]*>Offer<', html).group(1)
    assert client.get(offer).status_code == 302
    clock.advance(hours=1)
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 2
    run_pass(engine, clock())
    assert send(engine, pool, clock) == 0 and len(smtp.messages) == 4     # each message once
    subjects = {(m[1][0], str(email.message_from_bytes(m[2], policy=email.policy.default)["Subject"]))
                for m in smtp.messages[2:]}
    assert subjects == {("ann@example.com", "Thanks for looking"), ("bob@example.com", "Did you see our offer?")}
    with engine.uow() as uow:
        tagged = uow.session.scalars(select(SubscriberTagAssignment.subscriber_id).where(
            SubscriberTagAssignment.tag_id == tag_id)).all()
    assert tagged == [ids["ann"]]
