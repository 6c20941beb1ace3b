"""Who may be mailed right now, and what their message needs, for a handful of ledger rows at once.

Read right before the rows are handed to the relay, in one query per round (subscribers with their
complaint and suppression flags; a second one for custom-field values when the content uses some), so
an unsubscribe, bounce, complaint or suppression that arrived after the ledger was written still counts.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import aliased

from engine.hot_sql import HotStatement
from engine.delivery.personalize import CUSTOM_FIELD_PREFIX, EMAIL_ADDRESS, SUBSCRIBER_ID
from engine.models import Subscriber, SubscriberFieldValue, SubscriberList, Suppression

# The recipient row, aliased so that the complaint check can look at the person's other rows.
_person = aliased(Subscriber)


@dataclass
class Recipient:
    refusal: str          # why this person must not be mailed now; "" when they may
    context: dict         # personalisation values (empty when refused)


# Read for every recipient: the eligibility check and the values every message has.
_BASE = (_person.id, _person.list_id, _person.email_address, _person.subscription_status, _person.bounce_type)
# Read only when the content uses them (each date is a conversion per recipient).
_OPTIONAL = {"Subscriber:SubscriptionDate": _person.subscription_date,
             "Subscriber:SubscriptionIP": _person.subscription_ip,
             "Subscriber:OptInDate": _person.opt_in_date,
             "Subscriber:UnsubscriptionDate": _person.unsubscription_date}
_BLANK_WHEN_NONE = {"Subscriber:OptInDate", "Subscriber:UnsubscriptionDate"}


def _eligibility_statement(optional: tuple[str, ...]) -> HotStatement:
    owner_lists = select(SubscriberList.id).where(SubscriberList.owner_user_id == bindparam("owner_id"))
    complained = exists().where(Subscriber.email_normalized == _person.email_normalized,
                                Subscriber.list_id.in_(owner_lists), Subscriber.complained_at.is_not(None))
    suppressed = exists().where(Suppression.owner_user_id == bindparam("owner_id"),
                                Suppression.email_normalized == _person.email_normalized,
                                or_(Suppression.list_id.is_(None), Suppression.list_id == _person.list_id))
    return HotStatement(select(*_BASE, complained.label("complained"), suppressed.label("suppressed"),
                               *(_OPTIONAL[key] for key in optional))
                        .where(_person.id.in_(bindparam("ids", expanding=True))), ("ids",))


# One statement per set of optional values a content uses, built the first time it is asked for.
_ELIGIBILITY: dict[tuple[str, ...], HotStatement] = {}
_FIELD_VALUES = HotStatement(
    select(SubscriberFieldValue.subscriber_id, SubscriberFieldValue.field_id, SubscriberFieldValue.value_text)
    .where(SubscriberFieldValue.subscriber_id.in_(bindparam("ids", expanding=True))), ("ids",))
_LIST_NAMES = (select(SubscriberList.id, SubscriberList.name)
               .where(SubscriberList.id.in_(bindparam("ids", expanding=True))))


def load_recipients(conn, subscriber_ids: list[int], owner_id: int, list_names: dict[int, str], *,
                    needs: frozenset[str] | None = None) -> dict[int, Recipient]:
    """subscriber id -> Recipient, for every id asked about (a deleted subscriber is refused too), read
    on the Connection `conn`.

    `needs` names the personalisation values the content uses (None: all of them); the subscriber
    dates, the list name and custom-field values are read only when needed. `list_names` caches list
    id -> name across rounds; missing ones are read and added."""
    if not subscriber_ids:
        return {}
    optional = tuple(key for key in _OPTIONAL if needs is None or key in needs)
    statement = _ELIGIBILITY.get(optional)
    if statement is None:
        statement = _ELIGIBILITY[optional] = _eligibility_statement(optional)
    found: dict[int, Recipient] = {}
    mailable = []
    for row in statement.rows(conn, {"ids": subscriber_ids, "owner_id": owner_id}):
        subscriber_id, list_id, address, status, bounce_type, complained, suppressed = row[:7]
        refusal = _refusal(status, bounce_type, complained, suppressed)
        context = {}
        if not refusal:
            context = _base_context(subscriber_id, address, list_id, status, bounce_type)
            _add_optional(context, zip(optional, row[7:]))
            mailable.append(context)
        found[subscriber_id] = Recipient(refusal, context)
    if mailable and (needs is None or any(key.startswith(CUSTOM_FIELD_PREFIX) for key in needs)):
        by_id = {context[SUBSCRIBER_ID]: context for context in mailable}
        for subscriber_id, field_id, text in _FIELD_VALUES.execute(conn, {"ids": list(by_id)}):
            by_id[subscriber_id][f"{CUSTOM_FIELD_PREFIX}{field_id}"] = text
    if mailable and (needs is None or "List:Name" in needs):
        missing = {context["List:ListID"] for context in mailable} - set(list_names)
        if missing:
            list_names.update(conn.execute(_LIST_NAMES, {"ids": list(missing)}).all())
        for context in mailable:
            context["List:Name"] = list_names.get(context["List:ListID"], "")
    for subscriber_id in subscriber_ids:
        found.setdefault(subscriber_id, Recipient("the subscriber was deleted", {}))
    return found


def _refusal(status: str, bounce_type: str, complained, suppressed) -> str:
    if status != "Subscribed":
        return f"the subscriber is {status.lower()}"
    if bounce_type == "Hard":
        return "the address hard-bounced"
    if complained:
        return "the address reported a message as spam"
    if suppressed:
        return "the address is suppressed"
    return ""


def subscriber_context(subscriber, fields: dict, list_name: str) -> dict:
    """The personalisation values of one subscriber (a Subscriber or a row with the same attributes);
    `fields` maps `Subscriber:CustomField<id>` to its text."""
    context = _base_context(subscriber.id, subscriber.email_address, subscriber.list_id,
                            subscriber.subscription_status, subscriber.bounce_type)
    _add_optional(context, ((key, getattr(subscriber, column.key)) for key, column in _OPTIONAL.items()))
    context["List:Name"] = list_name
    context.update(fields)
    return context


def _base_context(subscriber_id: int, address: str, list_id: int, status: str, bounce_type: str) -> dict:
    return {SUBSCRIBER_ID: subscriber_id, EMAIL_ADDRESS: address, "Subscriber:ListID": list_id,
            "Subscriber:SubscriptionStatus": status, "Subscriber:BounceType": bounce_type, "List:ListID": list_id}


def _add_optional(context: dict, values) -> None:
    for key, value in values:
        context[key] = "" if value is None and key in _BLANK_WHEN_NONE else value
