"""Admin.Campaign.RetryFailed: the failed recipients of a finished campaign's last send go back to the
ledger's `pending`, and the campaign to Sending, so the delivery workers send to them again.

Only the rows of that send are retried: nobody who joined a target list since is added (no new ledger
row is written), and nobody the campaign already reached is mailed again (a `sent`, `unknown` or
`skipped` row is left as it is). The retry is a compare-and-set on the campaign row (locked, then moved
from Sent/Failed to Sending) and on the rows (`failed` → `pending`): of two administrators retrying at
once, one retries and the other is told the campaign is already Sending. The runner's send-time re-check
still applies to every retried row: an address unsubscribed, bounced, complained or suppressed since the
first attempt is skipped, not sent.

Sendmill's workers find work by polling the ledger (no message queue to notify): once committed, the
retry is picked up by the next `sendmill worker` round, so the page's "could not be dispatched" case
cannot arise.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from engine.accounts.auth import Actor
from engine.errors import CampaignNotFound, DomainError
from engine.models import Campaign, Delivery, SendInstance

RETRIABLE_STATUSES = ("Sent", "Failed")


class CampaignNotFinished(DomainError):
    """Campaign is not in Sent or Failed status. Only completed or failed campaigns can have their failed
    recipients retried."""


class CampaignNeverSent(DomainError):
    """Queue table does not exist for this campaign (it was never sent)."""


class NoFailedRecipients(DomainError):
    """No failed recipients found for this campaign."""


@dataclass(frozen=True)
class Retry:
    retried: int
    instances: int   # the sends reopened (always the campaign's last one: 1)


def retry_failed(uow, actor: Actor, campaign_id: int) -> Retry:
    """Re-queue the failed recipients of the campaign's last send, exactly once."""
    s = uow.session
    query = select(Campaign).where(Campaign.id == campaign_id)
    if not actor.is_admin:
        query = query.where(Campaign.owner_user_id == actor.id)
    campaign = s.scalar(query.with_for_update())
    if campaign is None:
        raise CampaignNotFound()
    if campaign.status not in RETRIABLE_STATUSES:
        raise CampaignNotFinished(f"the campaign is {campaign.status}")
    instance = s.scalar(select(SendInstance).where(SendInstance.campaign_id == campaign.id)
                        .order_by(SendInstance.number.desc()).limit(1).with_for_update())
    if instance is None:
        raise CampaignNeverSent()
    now = uow.clock()
    retried = s.execute(
        update(Delivery).where(Delivery.instance_id == instance.id, Delivery.state == "failed")
        .values(state="pending", lease_until=None, worker="", last_error="retried by Admin.Campaign.RetryFailed")
        .execution_options(synchronize_session=False)).rowcount
    if not retried:
        raise NoFailedRecipients()
    # The rows are no longer failed; those that fail again are counted again by the runner.
    campaign.total_failed = max(0, (campaign.total_failed or 0) - retried)
    if instance.state == "done" and campaign.schedule_type == "Recursive":
        # Finishing the instance again counts it again (engine/campaigns/scheduling.py): un-count it now.
        campaign.schedule_rec_sent_instances = max(0, (campaign.schedule_rec_sent_instances or 0) - 1)
    instance.state, instance.finished_at = "sending", None
    campaign.status, campaign.status_reason = "Sending", ""
    campaign.send_process_finished_on, campaign.last_activity_at = None, now
    s.flush()
    return Retry(retried, 1)
