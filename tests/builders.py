"""Data builders for tests: plain functions that write through the engine and commit."""
from __future__ import annotations

from engine.auth import Actor
from engine.models import Segment, SubscriberList


def user_actor(account) -> Actor:
    return Actor("user", account.id, "*")


def make_list(engine, owner, name: str = "Newsletter") -> int:
    with engine.uow() as uow:
        row = SubscriberList(owner_user_id=owner.id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.commit()
        return row.id


def make_segment(engine, owner, list_id: int, name: str = "Segment") -> int:
    with engine.uow() as uow:
        row = Segment(owner_user_id=owner.id, list_id=list_id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.commit()
        return row.id


def make_email(engine, owner, **fields) -> int:
    with engine.uow() as uow:
        email = uow.emails.create(user_actor(owner), fields.pop("email_name", "Welcome"))
        for key, value in fields.items():
            setattr(email, key, value)
        uow.commit()
        return email.id


def set_campaign(engine, campaign_id: int, **columns) -> None:
    """Put a campaign into a state only the scheduler/delivery can reach (e.g. Sending)."""
    from engine.models import Campaign

    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        for key, value in columns.items():
            setattr(campaign, key, value)
        uow.commit()


def load_campaign(engine, campaign_id: int):
    from engine.models import Campaign

    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is not None:
            _ = campaign.recipients, campaign.tags  # load before the session closes
            uow.session.expunge_all()
        return campaign
