"""Whether an account has anything a subscription or an opt-out starts: an Enabled autoresponder
triggered OnSubscription, or an Enabled journey triggered by ListSubscription / ListUnsubscription.

Most accounts have none, and every subscribe and opt-out used to look for them (two or three small
queries). `users.list_triggers` says it once per account: `listening()` reads it from the session's
identity map (the list and owner rows the subscription already loaded), and `refresh()` recomputes it
— one UPDATE with two EXISTS — wherever such an automation is created, changed, enabled, disabled or
deleted (the journey and autoresponder services, list deletion). A stale "true" only costs the
queries; a stale "false" would skip a trigger, so every write path that can enable one refreshes.
"""
from __future__ import annotations

from sqlalchemy import exists, or_, update

from engine.models import AutoResponder, Journey, SubscriberList, User

JOURNEY_TRIGGERS = ("ListSubscription", "ListUnsubscription")


def listening(session, list_id: int) -> bool:
    """Whether the owner of the list has an automation a subscription or an opt-out may start."""
    list_row = session.get(SubscriberList, list_id)
    owner = session.get(User, list_row.owner_user_id) if list_row is not None else None
    return bool(owner is not None and owner.list_triggers)


def refresh(session, owner_ids) -> None:
    """Recompute the flag of these accounts from what is stored now (flushes the session first)."""
    owner_ids = sorted({int(i) for i in owner_ids if i})
    if not owner_ids:
        return
    session.flush()
    has = or_(
        exists().where(AutoResponder.owner_user_id == User.id, AutoResponder.status == "Enabled",
                       AutoResponder.trigger_type == "OnSubscription"),
        exists().where(Journey.owner_user_id == User.id, Journey.status == "Enabled",
                       Journey.trigger.in_(JOURNEY_TRIGGERS)))
    session.execute(update(User).where(User.id.in_(owner_ids)).values(list_triggers=has)
                    .execution_options(synchronize_session=False))
    for owner_id in owner_ids:   # the loaded row must not keep the old answer in this transaction
        user = session.identity_map.get(session.identity_key(User, owner_id))
        if user is not None:
            session.expire(user, ["list_triggers"])
