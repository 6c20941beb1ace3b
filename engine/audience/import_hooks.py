"""What happens once an import batch has made subscribers Subscribed.

One place, called after every written batch in the batch's own transaction with the IDs of the
subscriber rows that batch created — by engine/audience/import_runner.py (import jobs) and by the
importer itself (legacy Subscribers.Import, `sendmill import`): the list's "on subscription"
autoresponders and its ListSubscription journeys, when the import's TriggerActions (legacy
Subscribers.Import: TriggerAutoResponders) allows it. Set-based: one INSERT … SELECT for the batch per
autoresponder plan and per journey, none at all when the account has neither
(engine/automation/list_triggers.py).
"""
from __future__ import annotations

from datetime import datetime

from engine.automation import enqueue as autoresponders
from engine.automation.journeys import hooks as journey_hooks


def subscribed(session, list_id: int, subscriber_ids: list[int], at: datetime) -> None:
    """`subscriber_ids` (rows of the list) became Subscribed through an import batch."""
    if not subscriber_ids:
        return
    autoresponders.on_subscribed(session, list_id, subscriber_ids, at)
    journey_hooks.on_subscribed(session, list_id, subscriber_ids, at)


def subscribed_by_import(uow, list_row, subscriber_ids: list[int], *, trigger_actions: bool) -> None:
    """An import job's batch: `subscriber_ids` (rows of `list_row`) became Subscribed."""
    if trigger_actions:
        subscribed(uow.session, list_row.id, subscriber_ids, uow.clock())
