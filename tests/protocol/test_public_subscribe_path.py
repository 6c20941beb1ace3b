"""The public Subscriber.Subscribe's short path (engine/audience/subscription_target.py): what its one read
before writing tells the rest of the subscription, checked against what the longer path decided."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import OutboxEvent, Subscriber
from tests.builders import make_list, make_subscriber, set_list
from tests.protocol.test_email_subscription_sync import status, subscribe
from tests.protocol.test_email_subscriptions import events


def test_a_new_address_is_subscribed_with_one_announced_record(api, engine, user, list_id):
    answer = subscribe(api, list_id, "New.Person@Example.com")
    assert status(engine, user, "new.person@example.com") == ("SUBSCRIBED", "NOT_SET")
    assert [(e["email"], e["subscriptionStatus"]) for e in events(engine)] == [
        ("New.Person@Example.com", "SUBSCRIBED")]
    with engine.uow() as uow:
        row = uow.session.execute(select(Subscriber.id, Subscriber.list_id, Subscriber.subscription_status).where(
            Subscriber.email_normalized == "new.person@example.com")).one()
    assert tuple(row) == (answer["SubscriberID"], list_id, "Subscribed")


def test_a_new_address_on_a_double_opt_in_list_is_pending(api, engine, user, list_id):
    set_list(engine, list_id, opt_in_mode="Double")
    subscribe(api, list_id, "ann@example.com")
    assert status(engine, user, "ann@example.com") == ("PENDING", "NOT_SET")


def test_an_address_hard_bounced_on_another_list_keeps_its_bounce(api, engine, user, list_id):
    other = make_list(engine, user, "Second")
    make_subscriber(engine, other, "ann@example.com", bounce_type="Hard")
    assert status(engine, user, "ann@example.com") is None   # no record yet: the list rows speak for it
    subscribe(api, list_id, "ann@example.com")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "BOUNCED")


def test_an_address_that_left_every_list_is_subscribed_again(api, engine, user, list_id):
    other = make_list(engine, user, "Second")
    make_subscriber(engine, other, "ann@example.com", subscription_status="Unsubscribed")
    subscribe(api, list_id, "ann@example.com")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")


def test_a_second_list_of_the_same_call_finds_the_record_the_first_made(api, engine, user, list_id):
    other = make_list(engine, user, "Second")
    subscribe(api, f"{list_id},{other}", "ann@example.com")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    assert len(events(engine)) == 1
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Subscriber)) == 2


def test_an_address_already_on_the_list_is_refused_and_nothing_is_written(api, engine, user, list_id):
    make_subscriber(engine, list_id, "ann@example.com")
    with engine.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(OutboxEvent))
    answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress="ANN@example.com",
                 IPAddress="203.0.113.7")
    assert answer["ErrorCode"] == [9]
    assert status(engine, user, "ann@example.com") is None
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == before
        assert uow.session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_an_opt_in_behaviour_adding_a_new_address_elsewhere_derives_the_same_record(api, engine, user, list_id):
    other = make_list(engine, user, "Second")
    set_list(engine, list_id, opt_in_subscribe_to_list_id=other)
    subscribe(api, list_id, "ann@example.com")
    assert status(engine, user, "ann@example.com") == ("SUBSCRIBED", "NOT_SET")
    with engine.uow() as uow:
        rows = uow.session.execute(select(Subscriber.list_id, Subscriber.subscription_status)
                                   .order_by(Subscriber.list_id)).all()
    assert [tuple(r) for r in rows] == [(list_id, "Subscribed"), (other, "Subscribed")]
    assert len(events(engine)) == 1
