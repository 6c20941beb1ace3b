"""Deliveries in doubt: the ledger rows `unknown` of a campaign, for an operator deciding whether to resend.

A row is `unknown` when its message was handed to a relay and no answer was recorded: the worker sending
it was killed (its lease expired with the Message-ID written: engine/delivery/claims.py), or the
connection died after the final "." (`maybe_sent`). Sendmill never retries them, since a missing message
is preferred to a duplicate; the operator can look each Message-ID up in the relay's log and resend
deliberately (README "Delivery"). `sendmill unknown CAMPAIGN_ID` prints this list.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.errors import CampaignNotFound
from engine.models import Campaign, Delivery, SendInstance


@dataclass(frozen=True)
class InDoubt:
    delivery_id: int
    instance_number: int
    subscriber_id: int
    email: str
    message_id: str
    reason: str


@dataclass(frozen=True)
class CampaignInDoubt:
    campaign_id: int
    name: str
    status: str
    total: int
    rows: list[InDoubt]       # the first `limit`, in ledger order


def campaign_in_doubt(s, campaign_id: int, *, limit: int) -> CampaignInDoubt:
    """Every `unknown` row of the campaign's instances: how many, and the first `limit` (an operator's
    view: no owner check)."""
    campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"campaign {campaign_id} does not exist")
    in_doubt = (select(Delivery, SendInstance.number).join(SendInstance, SendInstance.id == Delivery.instance_id)
                .where(SendInstance.campaign_id == campaign_id, Delivery.state == "unknown"))
    total = s.scalar(select(func.count()).select_from(in_doubt.subquery()))
    rows = [InDoubt(d.id, number, d.subscriber_id, d.email_normalized, d.message_id, d.last_error)
            for d, number in s.execute(in_doubt.order_by(Delivery.id).limit(limit))]
    return CampaignInDoubt(campaign.id, campaign.name, campaign.status, total, rows)
