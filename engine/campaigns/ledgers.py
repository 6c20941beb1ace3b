"""Deleting campaigns' delivery ledgers together with the campaigns (or their owners).

deliveries.instance_id has no foreign key (0017_tick_scale: PostgreSQL checked it row by row, ~40% of the
tick's million-row ledger write), so the ON DELETE CASCADE it carried is done here, by the two deletions
that take send instances with them: Campaigns.Delete (engine/campaigns/service.py) and deleting users
(engine/accounts/users.py). The other half of the integrity needs no code: a ledger is only ever written in
the transaction that creates its instance, while that transaction holds the campaign's row.
"""
from __future__ import annotations

from sqlalchemy import Select, delete, select

from engine.models import Campaign, Delivery, SendInstance


class LedgerService:
    def __init__(self, uow):
        self.s = uow.session

    def delete_for_campaigns(self, campaign_ids: Select | list[int]) -> int:
        """Delete the ledgers of these campaigns' instances (before the campaigns are deleted); the rows
        deleted. The campaigns' rows are locked first: a tick writing one of their ledgers holds that row
        (the start's compare-and-set) until it commits, so this waits for the ledger and deletes it too
        instead of leaving it behind once the campaign is gone."""
        locked = list(self.s.scalars(select(Campaign.id).where(Campaign.id.in_(campaign_ids))
                                     .order_by(Campaign.id).with_for_update()))
        if not locked:
            return 0
        # The instance ids as values, not a subquery: MariaDB runs a DELETE's IN (SELECT …) row by row.
        instances = list(self.s.scalars(select(SendInstance.id).where(SendInstance.campaign_id.in_(locked))))
        if not instances:
            return 0
        result = self.s.execute(delete(Delivery).where(Delivery.instance_id.in_(instances))
                                .execution_options(synchronize_session=False))
        return result.rowcount
