"""What one account can ask about its subscribers: does an address exist on a list (Subscriber.Exists),
what a subscriber was sent, opened and clicked (Subscriber.Get.Activity), and a RulesJSON search of a
list (Subscribers.Search).

Activity comes from three ledgers in one UNION ALL: the campaign delivery ledger (`deliveries`, a
message the relay accepted), the autoresponder ledger (`autoresponder_sends`) and the tracking table
(`subscriber_activity`: opens, clicks, unsubscriptions, bounces, complaints).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, null, or_, select, union_all

from engine.accounts.auth import Actor
from engine.audience import compiler
from engine.audience.sqlfuncs import prepare_connection
from engine.audience.subscriber_search import ORDER_COLUMNS
from engine.models import Campaign, Delivery, SendInstance, Subscriber, SubscriberList, Suppression
from engine.models.activity import SubscriberActivity
from engine.models.automation import AutoResponder, AutoResponderSend
from engine.validation import normalize_email

# The tracking kinds a subscriber's activity shows, by their v5.9.4 ActivityType.
TRACKED_ACTIVITY = {"open": "EmailOpen", "click": "EmailClick", "unsubscribe": "Unsubscription",
                    "bounce": "EmailBounce", "complaint": "SpamComplaint"}
# The most recent entries Subscriber.Get.Activity answers (the page documents no paging).
MAX_ACTIVITY = 1000


@dataclass(frozen=True)
class ActivityEntry:
    activity_type: str
    campaign_id: int | None
    autoresponder_id: int | None
    email_id: int | None
    occurred_at: datetime
    link_url: str
    source_name: str = ""   # the campaign's or autoresponder's name (the console's history shows it)


@dataclass(frozen=True)
class SearchRow:
    subscriber: Subscriber
    suppressed: bool


class SubscriberReports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def exists(self, actor: Actor, list_id: int, email: str) -> int | None:
        """The ID of the list's subscriber with this address, or None."""
        list_row = self.uow.lists.get(actor, list_id)
        normalized = normalize_email(email) or email.strip().lower()
        return self.s.scalar(select(Subscriber.id).where(Subscriber.list_id == list_row.id,
                                                         Subscriber.email_normalized == normalized))

    def activity(self, actor: Actor, list_id: int, subscriber_id: int,
                 limit: int = MAX_ACTIVITY) -> tuple[Subscriber, list[ActivityEntry]]:
        """The subscriber row (SubscriberNotFound / ListNotFound for a stranger's) and everything sent to and
        done by it, most recent first: Subscriber.Get.Activity and the console's subscriber page."""
        subscriber = self.uow.subscribers.get(actor, list_id, subscriber_id=subscriber_id)
        sent = (select(literal("EmailSent").label("kind"), SendInstance.campaign_id.label("campaign_id"),
                       null().label("autoresponder_id"), Campaign.email_id.label("email_id"),
                       Delivery.sent_at.label("at"), literal("").label("link_url"), Campaign.name.label("name"))
                .join(SendInstance, SendInstance.id == Delivery.instance_id)
                .join(Campaign, Campaign.id == SendInstance.campaign_id)
                .where(Delivery.subscriber_id == subscriber.id, Delivery.state == "sent",
                       Campaign.owner_user_id == actor.id))
        r = AutoResponderSend
        responded = (select(literal("AutoResponderSent"), null(), r.autoresponder_id, r.email_id, r.sent_at,
                            literal(""), AutoResponder.name).join(AutoResponder, AutoResponder.id == r.autoresponder_id)
                     .where(r.subscriber_id == subscriber.id, r.state == "sent",
                            AutoResponder.owner_user_id == actor.id))
        a = SubscriberActivity
        tracked = (select(a.kind, a.campaign_id, null(), a.email_id, a.occurred_at, a.link_url, Campaign.name)
                   .join(Campaign, Campaign.id == a.campaign_id)
                   .where(a.subscriber_id == subscriber.id, a.kind.in_(tuple(TRACKED_ACTIVITY))))
        every = union_all(sent, responded, tracked).subquery()
        rows = self.s.execute(select(every).order_by(every.c.at.desc(), every.c.kind).limit(limit))
        return subscriber, [ActivityEntry(TRACKED_ACTIVITY.get(kind, kind), campaign, responder, email_id, at, url,
                                          name or "")
                            for kind, campaign, responder, email_id, at, url, name in rows]

    def search(self, actor: Actor, list_id: int, rules_json: str | None, operator: str, *, order_field: str | None,
               descending: bool, offset: int, limit: int, only_total: bool) -> tuple[list[SearchRow], int]:
        """The list's subscribers matching RulesJSON (the whole list without it): a page and the total."""
        list_row = self.uow.lists.get(actor, list_id)
        query = select(Subscriber).where(Subscriber.list_id == list_row.id)
        if rules_json is not None:
            criteria = self.uow.audience.parse_rules(actor.id, list_row.id, rules_json, operator)
            prepare_connection(self.s)
            query = query.where(compiler.condition(criteria, Subscriber, self.uow.audience.context(actor.id)))
        column = ORDER_COLUMNS.get((order_field or "").lower(), ORDER_COLUMNS["emailaddress"])()
        tie = Subscriber.id.desc() if descending else Subscriber.id.asc()
        with self.uow.audience.time_limit():
            total = self.s.scalar(select(func.count()).select_from(query.subquery()))
            if only_total or not limit:
                return [], total
            page = list(self.s.scalars(query.order_by(column.desc() if descending else column.asc(), tie)
                                       .offset(offset).limit(limit)))
        suppressed = self._suppressed(list_row, [row.email_normalized for row in page])
        return [SearchRow(row, row.email_normalized in suppressed) for row in page], total

    def _suppressed(self, list_row: SubscriberList, addresses: list[str]) -> set[str]:
        """Which of a page's addresses are suppressed for the list (account-wide or on it): one query."""
        if not addresses:
            return set()
        return set(self.s.scalars(select(Suppression.email_normalized).where(
            Suppression.owner_user_id == list_row.owner_user_id, Suppression.email_normalized.in_(addresses),
            or_(Suppression.list_id.is_(None), Suppression.list_id == list_row.id))))
