"""Builders for the scheduler tests: accounts, lists of subscribers and armed campaigns, written
through the models and the engine services (real commits: the tick works across transactions)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, update

from engine.accounts.auth import Actor
from engine.campaigns.service import RecipientRef
from engine.models import Campaign, Delivery, SendInstance, Subscriber, SubscriberList
from scheduler.tick import TickSummary, tick

HOURS = ",".join(str(h) for h in range(24))


@dataclass
class Owner:
    id: int
    actor: Actor


class World:
    def __init__(self, engine, clock):
        self.engine = engine
        self.clock = clock
        self._users = 0

    # --- data ---------------------------------------------------------------------------------
    def owner(self, reputation_level: str = "Trusted") -> Owner:
        self._users += 1
        with self.engine.uow() as uow:
            user = uow.accounts.create_user(username=f"owner{self._users}", password="pass-word-1",
                                            email=f"owner{self._users}@example.com",
                                            reputation_level=reputation_level)
            uow.commit()
            return Owner(user.id, Actor("user", user.id, "*", reputation_level=reputation_level))

    def list_with(self, owner: Owner, *emails: str, name: str = "List") -> int:
        with self.engine.uow() as uow:
            row = SubscriberList(owner_user_id=owner.id, name=name, created_at=uow.clock())
            uow.session.add(row)
            uow.session.flush()
            uow.session.add_all(Subscriber(list_id=row.id, email_address=e, email_normalized=e.lower(),
                                           subscription_date=uow.clock()) for e in emails)
            uow.commit()
            return row.id

    def campaign(self, owner: Owner, lists: list[int], *, status: str = "Ready", **schedule) -> int:
        """A campaign armed the way a client arms it: Campaign.Create, then Campaign.Update."""
        schedule.setdefault("schedule_type", "Immediate")
        with self.engine.uow() as uow:
            email = uow.emails.create(owner.actor, "Content")
            campaign = uow.campaigns.create(owner.actor, "Campaign")
            uow.campaigns.update(owner.actor, campaign.id, {
                "email_id": email.id, "recipients": [RecipientRef(i) for i in lists], "status": status,
                **schedule})
            uow.commit()
            return campaign.id

    def recurring(self, owner: Owner, lists: list[int], *, hours: str, minutes: str = "0",
                  tz: str = "UTC", max_instances: int = 0, days_of_week: str = "0", **extra) -> int:
        return self.campaign(owner, lists, schedule_type="Recursive", schedule_rec_days_of_week=days_of_week,
                             schedule_rec_days_of_month="", schedule_rec_months="0", schedule_rec_hours=hours,
                             schedule_rec_minutes=minutes, schedule_rec_send_max_instance=max_instances,
                             send_timezone=tz, **extra)

    def future(self, owner: Owner, lists: list[int], day: date, at: str, tz: str = "UTC") -> int:
        return self.campaign(owner, lists, schedule_type="Future", send_date=day, send_time=at, send_timezone=tz)

    # --- actions --------------------------------------------------------------------------------
    def tick(self, **kwargs) -> TickSummary:
        return tick(self.engine, self.clock.now, **kwargs)

    def at(self, moment: datetime) -> TickSummary:
        self.clock.now = moment
        return self.tick()

    def drain(self, campaign_id: int, state: str = "sent") -> int:
        """Play the delivery workers: every pending or claimed row of the campaign gets `state`."""
        with self.engine.uow() as uow:
            ids = select(SendInstance.id).where(SendInstance.campaign_id == campaign_id)
            result = uow.session.execute(
                update(Delivery).where(Delivery.instance_id.in_(ids), Delivery.state.in_(("pending", "claimed")))
                .values(state=state, sent_at=self.clock.now))
            uow.commit()
            return result.rowcount

    def service(self, name: str, *args):
        """Call a CampaignService method (pause, resume, cancel, approve …) and commit."""
        with self.engine.uow() as uow:
            result = getattr(uow.campaigns, name)(*args)
            uow.commit()
            return result

    # --- reading ---------------------------------------------------------------------------------
    def load(self, campaign_id: int) -> Campaign:
        with self.engine.uow() as uow:
            campaign = uow.session.get(Campaign, campaign_id)
            uow.session.expunge_all()  # readable after the session closes
            return campaign

    def instances(self, campaign_id: int) -> list[SendInstance]:
        with self.engine.uow() as uow:
            instances = uow.scheduling.instances(campaign_id)
            uow.session.expunge_all()
            return instances

    def ledger(self, campaign_id: int) -> list[tuple[str, str]]:
        """(email_normalized, state) of every ledger row of the campaign, sorted."""
        with self.engine.uow() as uow:
            rows = uow.session.execute(
                select(Delivery.email_normalized, Delivery.state)
                .join(SendInstance, SendInstance.id == Delivery.instance_id)
                .where(SendInstance.campaign_id == campaign_id)
                .order_by(Delivery.email_normalized, Delivery.id))
            return [tuple(r) for r in rows]

    def count(self, model) -> int:
        with self.engine.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(engine, clock):
    return World(engine, clock)
