"""What happens once an import batch has made subscribers Subscribed.

One place, called by engine/audience/import_jobs.py after every written batch (in the batch's own
transaction) with the IDs of the subscriber rows that batch created: the place for the work an
import triggers: the list's "on subscription" autoresponders, when the job's TriggerActions (legacy
Subscribers.Import: TriggerAutoResponders) allows it, enqueued in the batch's transaction.
"""
from __future__ import annotations

from engine.automation import enqueue as autoresponders


def subscribed_by_import(uow, list_row, subscriber_ids: list[int], *, trigger_actions: bool) -> None:
    """`subscriber_ids` (rows of `list_row`) became Subscribed through an import batch."""
    if not subscriber_ids or not trigger_actions:
        return
    autoresponders.on_subscribed(uow.session, list_row.id, subscriber_ids, uow.clock())
