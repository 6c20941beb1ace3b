"""insert_now: a new row written at once by a prebuilt INSERT, the object left in the session as loaded."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from engine.hot_insert import insert_now
from engine.models import OutboxEvent, Subscriber, SubscriberList


def _owner_and_list(uow, name: str) -> SubscriberList:
    user = uow.accounts.create_user(username=name, password="user-pass-1", email=f"{name}@example.com")
    uow.session.flush()
    row = SubscriberList(owner_user_id=user.id, name="News", created_at=uow.clock())
    uow.session.add(row)
    uow.session.flush()
    return row


def test_the_row_is_written_with_its_defaults_and_nothing_is_left_to_flush(engine):
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with engine.uow() as uow:
        list_row = _owner_and_list(uow, "ann")
        subscriber = Subscriber(list_id=list_row.id, email_address="A@x.org", email_normalized="a@x.org")
        insert_now(uow.session, subscriber)
        assert subscriber.id is not None and subscriber in uow.session
        assert not uow.session.new and not uow.session.dirty
        event.listen(engine.db, "before_cursor_execute", seen)
        try:
            uow.commit()
        finally:
            event.remove(engine.db, "before_cursor_execute", seen)
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]   # not written twice
    with engine.uow() as uow:
        stored = uow.session.execute(select(
            Subscriber.id, Subscriber.subscription_status, Subscriber.bounce_type, Subscriber.soft_bounce_count,
            Subscriber.unsubscription_ip, Subscriber.source, Subscriber.public_nonce)).one()
    assert tuple(stored[:6]) == (subscriber.id, "Subscribed", "Not Bounced", 0, "", "API")
    assert stored[6] == subscriber.public_nonce and len(stored[6]) == 8


def test_what_the_unit_has_pending_is_written_first(engine):
    with engine.uow() as uow:
        owner = _owner_and_list(uow, "bob").owner_user_id
        pending = SubscriberList(owner_user_id=owner, name="Pending", created_at=uow.clock())
        uow.session.add(pending)
        uow.outbox.record(owner_user_id=owner, entity_fqdn="probe", slug="created", entity_id=1, body={})
        assert pending.id is not None and not uow.session.new   # flushed before the event's INSERT
        uow.commit()
    with engine.uow() as uow:
        assert [e.slug for e in uow.session.scalars(select(OutboxEvent))] == ["created"]
        assert uow.session.scalar(select(SubscriberList.id).where(SubscriberList.name == "Pending")) == pending.id


def test_a_duplicate_is_refused_as_by_a_flush(engine):
    with engine.uow() as uow:
        list_row = _owner_and_list(uow, "dee")
        insert_now(uow.session, Subscriber(list_id=list_row.id, email_address="d@x.org", email_normalized="d@x.org"))
        with pytest.raises(IntegrityError):
            insert_now(uow.session, Subscriber(list_id=list_row.id, email_address="d@x.org",
                                               email_normalized="d@x.org"))
