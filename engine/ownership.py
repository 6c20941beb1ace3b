"""Loading an object on behalf of its owner: another user's object is reported as missing."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.auth import Actor


def get_owned(session: Session, model, object_id: int, actor: Actor, not_found: type[Exception], *,
              for_update: bool = False):
    """The row of `model` with this id owned by `actor` (administrators see every row)."""
    query = select(model).where(model.id == object_id)
    if not actor.is_admin:
        query = query.where(model.owner_user_id == actor.id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise not_found()
    return row


def require_owned_ids(session: Session, model, ids: list[int], actor: Actor,
                      error: Callable[[str], Exception], noun: str) -> set[int]:
    """The ids, when every one is a row of `model` owned by `actor`; otherwise `error` naming the
    first stranger, so all-or-nothing commands change nothing."""
    owned = set(session.scalars(select(model.id).where(model.id.in_(ids), model.owner_user_id == actor.id)))
    missing = [i for i in ids if i not in owned]
    if missing:
        raise error(f"{noun} {missing[0]} does not exist or does not belong to the user")
    return owned
