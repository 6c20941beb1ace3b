"""Who may be mailed right now, and what their message needs, for a handful of ledger rows at once.

Read right before the rows are handed to the relay, in two queries per round (subscribers with their
complaint and suppression flags; their custom-field values), so an unsubscribe, bounce, complaint or
suppression that arrived after the ledger was written still counts.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import aliased

from engine.delivery.personalize import CUSTOM_FIELD_PREFIX, EMAIL_ADDRESS, SUBSCRIBER_ID
from engine.models import Subscriber, SubscriberFieldValue, SubscriberList, Suppression

# The recipient row, aliased so that the complaint check can look at the person's other rows.
_person = aliased(Subscriber)


@dataclass
class Recipient:
    subscriber: object | None   # a row of _FIELDS (id, list_id, email_address, …), None when deleted
    refusal: str          # why this person must not be mailed now; "" when they may
    context: dict         # personalisation values (empty when refused)


_FIELDS = (_person.id, _person.list_id, _person.email_address, _person.subscription_status, _person.bounce_type,
           _person.subscription_date, _person.subscription_ip, _person.opt_in_date, _person.unsubscription_date)


def _eligibility_statement():
    """Built once: the statement is reused for every round (SQLAlchemy caches its compiled form)."""
    owner_lists = select(SubscriberList.id).where(SubscriberList.owner_user_id == bindparam("owner_id"))
    complained = exists().where(Subscriber.email_normalized == _person.email_normalized,
                                Subscriber.list_id.in_(owner_lists), Subscriber.complained_at.is_not(None))
    suppressed = exists().where(Suppression.owner_user_id == bindparam("owner_id"),
                                Suppression.email_normalized == _person.email_normalized,
                                or_(Suppression.list_id.is_(None), Suppression.list_id == _person.list_id))
    return select(*_FIELDS, complained.label("complained"), suppressed.label("suppressed")) \
        .where(_person.id.in_(bindparam("ids", expanding=True)))


_ELIGIBILITY = _eligibility_statement()
_FIELD_VALUES = select(SubscriberFieldValue.subscriber_id, SubscriberFieldValue.field_id,
                       SubscriberFieldValue.value_text) \
    .where(SubscriberFieldValue.subscriber_id.in_(bindparam("ids", expanding=True)))
_LIST_NAMES = select(SubscriberList.id, SubscriberList.name).where(SubscriberList.id.in_(bindparam("ids", expanding=True)))


def load_recipients(s, subscriber_ids: list[int], owner_id: int, list_names: dict[int, str], *,
                    custom_fields: bool = True) -> dict[int, Recipient]:
    """subscriber id -> Recipient, for every id asked about (a deleted subscriber is refused too).

    `list_names` caches list id -> name across rounds; missing ones are read and added. Custom-field
    values are read only when `custom_fields` (the content uses some)."""
    if not subscriber_ids:
        return {}
    found: dict[int, Recipient] = {}
    for row in s.connection().execute(_ELIGIBILITY, {"ids": subscriber_ids, "owner_id": owner_id}):
        found[row.id] = Recipient(row, _refusal(row, row.complained, row.suppressed), {})
    mailable = [sid for sid, r in found.items() if not r.refusal]
    fields: dict[int, dict] = {sid: {} for sid in mailable}
    if mailable:
        if custom_fields:
            for subscriber_id, field_id, text in s.connection().execute(_FIELD_VALUES, {"ids": mailable}):
                fields[subscriber_id][f"{CUSTOM_FIELD_PREFIX}{field_id}"] = text
        missing = {found[sid].subscriber.list_id for sid in mailable} - set(list_names)
        if missing:
            rows = s.connection().execute(_LIST_NAMES, {"ids": list(missing)})
            list_names.update((list_id, name) for list_id, name in rows)
    for sid in mailable:
        recipient = found[sid]
        recipient.context = subscriber_context(recipient.subscriber, fields[sid],
                                               list_names.get(recipient.subscriber.list_id, ""))
    for sid in subscriber_ids:
        found.setdefault(sid, Recipient(None, "the subscriber was deleted", {}))
    return found


def _refusal(subscriber, complained: bool, suppressed: bool) -> str:
    if subscriber.subscription_status != "Subscribed":
        return f"the subscriber is {subscriber.subscription_status.lower()}"
    if subscriber.bounce_type == "Hard":
        return "the address hard-bounced"
    if complained:
        return "the address reported a message as spam"
    if suppressed:
        return "the address is suppressed"
    return ""


def subscriber_context(subscriber, fields: dict, list_name: str) -> dict:
    """The personalisation values of one subscriber (a Subscriber or a row with the same attributes);
    `fields` maps `Subscriber:CustomField<id>` to its text."""
    return {SUBSCRIBER_ID: subscriber.id, EMAIL_ADDRESS: subscriber.email_address,
            "Subscriber:ListID": subscriber.list_id,
            "Subscriber:SubscriptionStatus": subscriber.subscription_status,
            "Subscriber:BounceType": subscriber.bounce_type,
            "Subscriber:SubscriptionDate": subscriber.subscription_date,
            "Subscriber:SubscriptionIP": subscriber.subscription_ip,
            "Subscriber:OptInDate": subscriber.opt_in_date or "",
            "Subscriber:UnsubscriptionDate": subscriber.unsubscription_date or "",
            "List:ListID": subscriber.list_id, "List:Name": list_name,
            **fields}
