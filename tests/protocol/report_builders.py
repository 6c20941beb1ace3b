"""Builders for the report tests: campaigns with a delivery ledger and tracked activity, written directly
(the states only delivery and tracking reach)."""
from __future__ import annotations

from datetime import timedelta

from engine.models import Campaign, CampaignRecipient, Delivery, SendInstance
from engine.models.activity import SubscriberActivity


def campaign(engine, owner, name: str = "Spring sale", *, lists: tuple[int, ...] = (), **columns) -> int:
    """A campaign row of `owner` sent to the whole of each of `lists`."""
    with engine.uow() as uow:
        now = uow.clock()
        row = Campaign(owner_user_id=owner.id, name=name, created_at=now, last_activity_at=now, **columns)
        uow.session.add(row)
        uow.session.flush()
        for list_id in lists:
            uow.session.add(CampaignRecipient(campaign_id=row.id, list_id=list_id, segment_id=0))
        uow.commit()
        return row.id


def sent(engine, campaign_id: int, recipients: dict[int, str], *, state: str = "sent", minutes: int = 0) -> None:
    """One send instance of the campaign with a ledger row per {subscriber ID: address}."""
    with engine.uow() as uow:
        now = uow.clock() + timedelta(minutes=minutes)
        number = 1 + len(list(uow.session.scalars(SendInstance.__table__.select().where(
            SendInstance.campaign_id == campaign_id))))
        instance = SendInstance(campaign_id=campaign_id, number=number, scheduled_for=now, started_at=now,
                                finished_at=now, state="done", total_recipients=len(recipients))
        uow.session.add(instance)
        uow.session.flush()
        for subscriber_id, address in recipients.items():
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=subscriber_id, email_normalized=address,
                                     state=state, sent_at=now if state == "sent" else None))
        uow.commit()


def track(engine, campaign_id: int, subscriber_id: int, kind: str, *, url: str = "", minutes: int = 0,
          email_id: int | None = None) -> None:
    with engine.uow() as uow:
        uow.session.add(SubscriberActivity(subscriber_id=subscriber_id, campaign_id=campaign_id, kind=kind,
                                           link_url=url, email_id=email_id,
                                           occurred_at=uow.clock() + timedelta(minutes=minutes)))
        uow.commit()
