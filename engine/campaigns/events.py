"""The modern campaign events (modern-campaign-api.txt), written to the outbox by the service that
makes the change, inside its transaction: an event exists exactly when its change committed.

Bodies are the spec's `actionEvent.body` (for `created`, the Campaign object; for `deleted`, `{}`).
"""
from __future__ import annotations

from datetime import datetime

from engine.errors import DomainError
from engine.models import Campaign
from engine.events.outbox import CAMPAIGN


def _record(uow, owner_user_id: int, campaign_id: int, slug: str, body: dict) -> None:
    uow.outbox.record(owner_user_id=owner_user_id, entity_fqdn=CAMPAIGN, slug=slug, entity_id=campaign_id,
                      body=body)


def _ids(campaign: Campaign) -> dict:
    return {"campaignId": str(campaign.id)}


def created(uow, campaign: Campaign) -> None:
    from engine.campaigns.reports import campaign_object

    _record(uow, campaign.owner_user_id, campaign.id, "created",
            campaign_object(uow.campaign_reports.card(campaign)))


def deleted(uow, owner_user_id: int, campaign_id: int) -> None:
    _record(uow, owner_user_id, campaign_id, "deleted", {})


def published(uow, campaign: Campaign, mailing_list_size: int | None = None) -> None:
    """`mailing_list_size` None: the size of the campaign's audience now (0 when it cannot be built)."""
    from engine.campaigns.landing_pages import landing_page_url

    if mailing_list_size is None:
        try:
            mailing_list_size = uow.audience.preview_campaign(campaign, sample=0).total
        except DomainError:   # targeting that cannot be built fails the send later, not the publish
            mailing_list_size = 0
    _record(uow, campaign.owner_user_id, campaign.id, "campaign_published_event",
            {**_ids(campaign), "landingPageUrl": landing_page_url(uow.settings, campaign),
             "mailingListSizeEstimate": mailing_list_size})


def scheduled(uow, campaign: Campaign, send_at: datetime, *, rescheduled: bool) -> None:
    from engine.campaigns.reports import iso

    _record(uow, campaign.owner_user_id, campaign.id, "campaign_scheduled_event",
            {**_ids(campaign), "sendAt": iso(send_at), "rescheduled": rescheduled})


def paused(uow, campaign: Campaign) -> None:
    _record(uow, campaign.owner_user_id, campaign.id, "campaign_paused_event", _ids(campaign))


def distributed(uow, campaign: Campaign) -> None:
    _record(uow, campaign.owner_user_id, campaign.id, "campaign_distributed_event", _ids(campaign))


def rejected(uow, owner_user_id: int, campaign_id: int) -> None:
    _record(uow, owner_user_id, campaign_id, "campaign_rejected_event", {"campaignId": str(campaign_id)})


def terminated(uow, campaign: Campaign) -> None:
    _record(uow, campaign.owner_user_id, campaign.id, "campaign_terminated_event", _ids(campaign))
