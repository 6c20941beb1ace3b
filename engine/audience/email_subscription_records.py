"""The first write of an address's email-subscription record: the state the legacy rows give it, and the
INSERT that creates it (engine/audience/email_subscriptions.py decides what the record says and when).

Every public subscription of an address new to the account runs both, so they are prebuilt statements
run through the driver (engine/hot_sql.py): one read for the owner's list rows and account-wide
suppressions of the address, and one INSERT … ON CONFLICT DO NOTHING RETURNING on SQLite and PostgreSQL
(MariaDB keeps a savepoint around the ORM's insert: it has no such statement).
"""
from __future__ import annotations

from sqlalchemy import bindparam, case, insert, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from engine.hot_sql import HotStatement
from engine.models import EmailSubscription, Subscriber, SubscriberList, Suppression
from engine.models.link_targets import new_nonce

# The owner's list rows of the address (kind 0), then its account-wide suppressions' sources (kind 1).
_LEGACY = HotStatement(union_all(
    select(literal(0).label("kind"), Subscriber.subscription_status.label("text"),
           Subscriber.bounce_type.label("bounce"),
           case((Subscriber.complained_at.is_not(None), 1), else_=0).label("complained"))
    .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
    .where(SubscriberList.owner_user_id == bindparam("owner"), Subscriber.email_normalized == bindparam("email")),
    select(literal(1), Suppression.source, literal(""), literal(0))
    .where(Suppression.owner_user_id == bindparam("owner2"), Suppression.list_scope == 0,
           Suppression.email_normalized == bindparam("email2"))))

_COLUMNS = ("owner_user_id", "email_address", "email_normalized", "subscription_status", "deliverability_status",
            "created_at", "updated_at", "public_nonce", "legacy_links")
_TABLE = EmailSubscription.__table__
_INSERT = {dialect: HotStatement(make(_TABLE).values({c: bindparam(c) for c in _COLUMNS})
                                 .on_conflict_do_nothing().returning(_TABLE.c.id))
           for dialect, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def derived_state(session, owner_id: int, normalized: str) -> tuple[str, str]:
    """(subscription, deliverability) status the legacy records give an address that has no record yet."""
    session.flush()   # read past the ORM: this unit's changes to the list rows must be sent first
    found = _LEGACY.read(session.connection(), {"owner": owner_id, "email": normalized, "owner2": owner_id,
                                                "email2": normalized})
    rows = [r for r in found if r[0] == 0]
    sources = {r[1] for r in found if r[0] == 1}
    statuses = {r[1] for r in rows}
    if "Unsubscribe" in sources:
        sub = "UNSUBSCRIBED"
    elif "Subscribed" in statuses:
        sub = "SUBSCRIBED"
    elif "Opt-In Pending" in statuses:
        sub = "PENDING"
    else:
        sub = "UNSUBSCRIBED" if statuses else "NOT_SET"
    if "SPAM complaint" in sources or any(r[3] for r in rows):
        deliv = "SPAM_COMPLAINT"
    elif "Hard Bounced" in sources or any(r[2] == "Hard" for r in rows):
        deliv = "BOUNCED"
    else:
        deliv = "NOT_SET"
    return sub, deliv


def insert_record(session, values: dict) -> EmailSubscription | None:
    """The new record with `values`, in the session as if loaded; None when a concurrent transaction
    created the address's record first (the caller reads that one)."""
    conn = session.connection()
    statement = _INSERT.get(conn.dialect.name)
    if statement is None:
        row = EmailSubscription(**values)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None
        return row
    values = {**values, "public_nonce": new_nonce(), "legacy_links": False}
    returned = statement.read(conn, values)
    if not returned:
        return None
    row = EmailSubscription(id=returned[0][0], **values)
    make_transient_to_detached(row)   # its columns count as loaded: nothing left for a flush to write
    session.add(row)
    return row
