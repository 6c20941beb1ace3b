"""A subscriber's history as its owner sees it: what happened to it, campaign by campaign, newest first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.models import Campaign, Subscriber, SubscriberActivity


@dataclass
class HistoryEntry:
    occurred_at: datetime
    kind: str             # open, click, sent, bounce, … (engine.models.activity.ACTIVITY_KINDS)
    campaign_id: int
    campaign_name: str
    link_url: str = ""


class SubscriberHistory:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def of(self, actor: Actor, list_id: int, subscriber_id: int, limit: int = 200
           ) -> tuple[Subscriber, list[HistoryEntry]]:
        """The subscriber (SubscriberNotFound / ListNotFound for a stranger's) and its latest events."""
        subscriber = self.uow.subscribers.get(actor, list_id, subscriber_id=subscriber_id)
        a = SubscriberActivity
        rows = self.s.execute(
            select(a.occurred_at, a.kind, a.campaign_id, Campaign.name, a.link_url)
            .join(Campaign, Campaign.id == a.campaign_id)
            .where(a.subscriber_id == subscriber.id).order_by(a.occurred_at.desc(), a.id.desc()).limit(limit))
        return subscriber, [HistoryEntry(*row) for row in rows]
