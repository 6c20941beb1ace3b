"""Subscribers: the public subscribe / confirm / unsubscribe flow, and the owner's reads and edits.

Subscription states (protocol.md §6.2): Single opt-in lists subscribe at once; Double opt-in
lists leave a new subscriber "Opt-In Pending" with `confirmation_due_at` set, which tells
delivery that a confirmation email is due (delivery sends it, clears the column, and puts
`confirmation_code(subscriber)` in the %Link:Confirm% / %Link:Reject% links); Subscriber.OptIn
with that code confirms or rejects. Unsubscribed → Subscribed happens only through the owner
(Subscriber.Update) or a new subscription with UpdateIfExists.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from engine.audience import compiler
from engine.audience.sqlfuncs import prepare_connection
from engine.auth import Actor
from engine.errors import (
    AlreadyUnsubscribed, AuthenticationFailed, CampaignNotFound, ConfirmationCodeRequired, EmailNotFound, InvalidConfirmationCode,
    InvalidEmailAddress, InvalidRules, InvalidSearchField, ListNotFound, ListOwnerUnavailable, SegmentUnavailable,
    SubscriberExists, SubscriberNotFound,
)
from engine.lists import active_condition
from engine.models import (
    Campaign, Email, Segment, Subscriber, SubscriberActivity, SubscriberFieldValue, SubscriberList, Suppression,
    User,
)
from engine.validation import as_id, normalize_email

NO_SYNC = {"synchronize_session": False}
DELETE_CHUNK = 1000
# SubscriberSegment names (lower-cased, spaces removed) → canonical name.
NAMED_SEGMENTS = {
    "active": "Active", "unsubscribed": "Unsubscribed", "suppressed": "Suppressed", "softbounced": "Soft bounced",
    "hardbounced": "Hard bounced", "optinpending": "Opt-In Pending", "confirmationpending": "Opt-In Pending",
    "all": "All",
}
ORDER_COLUMNS = {
    "emailaddress": lambda: func.lower(Subscriber.email_address), "subscriberid": lambda: Subscriber.id,
    "subscriptiondate": lambda: Subscriber.subscription_date, "subscriptionip": lambda: Subscriber.subscription_ip,
    "optindate": lambda: Subscriber.opt_in_date, "subscriptionstatus": lambda: Subscriber.subscription_status,
    "bouncetype": lambda: Subscriber.bounce_type, "unsubscriptiondate": lambda: Subscriber.unsubscription_date,
}


@dataclass
class SubscriberQuery:
    segment: str | int = "Active"   # a NAMED_SEGMENTS value or a segment ID
    search_field: str | int | None = None  # "EmailAddress", "SubscriberID", "SubscriptionDate",
    keyword: str | None = None             # "SubscriptionIP", "OptInDate", or a custom field ID
    order_field: str | None = None  # lower-cased wire name; unknown → EmailAddress
    descending: bool = False
    offset: int = 0
    limit: int = 25


@dataclass
class Subscription:
    subscriber: Subscriber
    list: SubscriberList
    created: bool
    redirect_url: str


class SubscriberService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, list_id: int, *, subscriber_id: int | None = None,
            email: str | None = None) -> Subscriber:
        list_row = self.uow.lists.get(actor, list_id)
        query = select(Subscriber).where(Subscriber.list_id == list_row.id)
        if subscriber_id is not None:
            query = query.where(Subscriber.id == subscriber_id)
        if email is not None:
            query = query.where(Subscriber.email_normalized == (normalize_email(email) or email.strip().lower()))
        subscriber = self.s.scalar(query)
        if subscriber is None:
            raise SubscriberNotFound()
        return subscriber

    def values_of(self, subscriber_ids: list[int]) -> dict[int, dict[int, str]]:
        """Custom-field texts of many subscribers in one query: {subscriber ID: {field ID: text}}."""
        found: dict[int, dict[int, str]] = {i: {} for i in subscriber_ids}
        if subscriber_ids:
            for sid, fid, text in self.s.execute(select(
                    SubscriberFieldValue.subscriber_id, SubscriberFieldValue.field_id, SubscriberFieldValue.value_text)
                    .where(SubscriberFieldValue.subscriber_id.in_(subscriber_ids))):
                found[sid][fid] = text
        return found

    def is_suppressed(self, subscriber: Subscriber) -> bool:
        owner = self.s.get(SubscriberList, subscriber.list_id).owner_user_id
        return self.uow.suppression.is_suppressed(owner, subscriber.email_normalized, subscriber.list_id)

    def search(self, actor: Actor, list_id: int, q: SubscriberQuery) -> tuple[list[Subscriber], int]:
        list_row = self.uow.lists.get(actor, list_id)
        query = select(Subscriber).where(Subscriber.list_id == list_row.id,
                                         self._segment_filter(list_row, q.segment))
        if q.keyword is not None:
            query = query.where(self._search_filter(list_row, q.search_field or "EmailAddress", q.keyword))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = ORDER_COLUMNS.get(q.order_field or "", ORDER_COLUMNS["emailaddress"])()
        tie = Subscriber.id.desc() if q.descending else Subscriber.id.asc()
        query = query.order_by(column.desc() if q.descending else column.asc(), tie)
        rows = self.s.scalars(query.offset(q.offset).limit(q.limit)) if q.limit else []
        return list(rows), total

    def _segment_filter(self, list_row: SubscriberList, segment: str | int):
        if isinstance(segment, int):
            return Subscriber.id.in_(self._segment_members(list_row, segment))
        if segment == "Active":
            return active_condition()
        if segment in ("Unsubscribed", "Opt-In Pending"):
            return Subscriber.subscription_status == segment
        if segment in ("Soft bounced", "Hard bounced"):
            return Subscriber.bounce_type == segment.split()[0]
        if segment == "Suppressed":
            return exists().where(Suppression.owner_user_id == list_row.owner_user_id,
                                  Suppression.email_normalized == Subscriber.email_normalized,
                                  or_(Suppression.list_id.is_(None), Suppression.list_id == list_row.id))
        return Subscriber.id.isnot(None)  # "All"

    def _segment_members(self, list_row: SubscriberList, segment_id: int):
        segment = self.s.scalar(select(Segment).where(Segment.id == segment_id, Segment.list_id == list_row.id))
        if segment is None:
            raise SegmentUnavailable(f"segment {segment_id} does not exist in list {list_row.id}")
        try:
            return self.uow.audience.segment_subscriber_ids(segment)
        except InvalidRules as exc:
            raise SegmentUnavailable(f"segment {segment_id} cannot be evaluated: {exc.message}") from None

    def _search_filter(self, list_row: SubscriberList, search_field: str | int, keyword: str):
        if isinstance(search_field, int):
            field_ids = {f.id for f in self.uow.custom_fields.applicable(list_row)}
            if search_field not in field_ids:
                raise InvalidSearchField(f"custom field {search_field} is not a field of list {list_row.id}")
            return exists().where(SubscriberFieldValue.subscriber_id == Subscriber.id,
                                  SubscriberFieldValue.field_id == search_field,
                                  SubscriberFieldValue.value_text.icontains(keyword, autoescape=True))
        if search_field == "EmailAddress":
            return Subscriber.email_address.icontains(keyword, autoescape=True)
        if search_field == "SubscriptionIP":
            return Subscriber.subscription_ip.icontains(keyword, autoescape=True)
        if search_field == "SubscriberID":
            subscriber_id = as_id(keyword)
            return Subscriber.id == subscriber_id if subscriber_id is not None else false()
        column = Subscriber.subscription_date if search_field == "SubscriptionDate" else Subscriber.opt_in_date
        span = _date_prefix_span(keyword)
        return and_(column >= span[0], column < span[1]) if span else false()

    # --- the public flow ---------------------------------------------------------------------------
    def subscribe(self, list_ids: list[int], email: str, ip: str, values: dict[int, object] | None = None, *,
                  update_if_exists: bool = False, enforce_required: bool = False, source: str = "API",
                  source_ref: str = "") -> Subscription:
        """Subscribe an address to one or more lists of one account (custom fields go to the first)."""
        lists = [self.uow.lists.get_public(i) for i in list_ids]
        owner_id = lists[0].owner_user_id
        if any(row.owner_user_id != owner_id for row in lists):
            raise ListNotFound("all lists of one subscription must belong to the same account")
        owner = self.s.get(User, owner_id)
        if owner is None or owner.account_status != "Enabled":
            raise ListOwnerUnavailable()
        # Under a quota the owner's row is locked before any subscriber row (the importer does the
        # same), so concurrent writers of one account queue in one order instead of deadlocking.
        self.uow.lists.subscriber_room(owner_id)
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        first = None
        for index, list_row in enumerate(lists):
            subscriber, created = self._subscribe_one(
                list_row, email.strip(), normalized, ip, (values or {}) if index == 0 else {},
                update_if_exists=update_if_exists, enforce_required=enforce_required and index == 0,
                source=source, source_ref=source_ref)
            first = first or Subscription(subscriber, list_row, created, "")
        pending = first.subscriber.subscription_status == "Opt-In Pending"
        first.redirect_url = (first.list.subscription_confirmation_pending_page_url if pending
                              else first.list.subscription_confirmed_page_url)
        return first

    def _subscribe_one(self, list_row, email, normalized, ip, submitted, *, update_if_exists, enforce_required,
                       source, source_ref) -> tuple[Subscriber, bool]:
        now = self.uow.clock()
        existing = self.s.scalar(select(Subscriber).where(
            Subscriber.list_id == list_row.id, Subscriber.email_normalized == normalized).with_for_update())
        fields = self.uow.custom_fields.values_for(list_row)
        if existing is not None and not update_if_exists:
            raise SubscriberExists()
        values = fields.check(submitted, subscriber_id=existing.id if existing else None,
                              enforce_required=enforce_required)
        if existing is None:
            self.uow.lists.require_subscriber_room(list_row.owner_user_id)
            subscriber = Subscriber(list_id=list_row.id, email_address=email[:255], email_normalized=normalized,
                                    subscription_date=now, subscription_ip=ip, source=source, source_ref=source_ref,
                                    bounce_type="Not Bounced", soft_bounce_count=0, unsubscription_ip="")
            self._enter(list_row, subscriber, now)
            self.s.add(subscriber)
            try:
                self.s.flush()
            except IntegrityError:
                # Another request subscribed the same address a moment ago.
                raise SubscriberExists() from None
            fields.store(subscriber.id, {**fields.defaults(submitted), **values})
        else:
            subscriber = existing
            fields.store(subscriber.id, values)
            if subscriber.subscription_status == "Unsubscribed":
                subscriber.subscription_date, subscriber.subscription_ip = now, ip
                subscriber.unsubscription_date, subscriber.unsubscription_ip = None, ""
                self._enter(list_row, subscriber, now)
            else:
                if subscriber.subscription_status == "Opt-In Pending":
                    subscriber.confirmation_due_at = now  # filled in the form again: send the email again
                return subscriber, False
        if subscriber.subscription_status == "Subscribed":
            self._after_opt_in(list_row, subscriber, ip, now)
        self.uow.email_subscriptions.legacy_subscribed(list_row.owner_user_id, subscriber)
        return subscriber, existing is None

    @staticmethod
    def _enter(list_row: SubscriberList, subscriber: Subscriber, now: datetime) -> None:
        if list_row.opt_in_mode == "Double":
            subscriber.subscription_status, subscriber.opt_in_date = "Opt-In Pending", None
            subscriber.confirmation_due_at = now
        else:
            subscriber.subscription_status, subscriber.opt_in_date = "Subscribed", now
            subscriber.confirmation_due_at = None

    def confirmation_code(self, subscriber: Subscriber) -> str:
        """The code a confirmation email carries; it changes whenever the subscription is renewed."""
        stamp = int(subscriber.subscription_date.timestamp())
        message = f"optin:{subscriber.id}:{subscriber.list_id}:{subscriber.email_normalized}:{stamp}"
        return hmac.new(self.uow.settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()[:24]

    def opt_in(self, actor: Actor | None, list_id: int, subscriber_id: int, code: str | None, *,
               reject: bool = False) -> tuple[Subscriber, str]:
        """Confirm (or reject) a pending subscription. The list owner may do it without the code."""
        list_row = self.uow.lists.get_public(list_id)
        subscriber = self.s.scalar(select(Subscriber).where(
            Subscriber.id == subscriber_id, Subscriber.list_id == list_row.id).with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        owner = actor is not None and (actor.is_admin or actor.id == list_row.owner_user_id)
        if code is None and not owner:
            raise ConfirmationCodeRequired()
        if code is not None and not hmac.compare_digest(code.strip().lower(), self.confirmation_code(subscriber)):
            raise InvalidConfirmationCode()
        now = self.uow.clock()
        if reject:
            if subscriber.subscription_status != "Opt-In Pending":
                raise InvalidConfirmationCode("the subscription is no longer pending")
            self._leave(subscriber, "", now, channel="Opt-In Reject")
            self.uow.email_subscriptions.legacy_unsubscribed(list_row.owner_user_id, subscriber)
            return subscriber, list_row.unsubscription_confirmed_page_url
        if subscriber.subscription_status == "Unsubscribed":
            raise InvalidConfirmationCode("the subscription is no longer pending")
        if subscriber.subscription_status == "Opt-In Pending":
            subscriber.subscription_status, subscriber.opt_in_date = "Subscribed", now
            subscriber.confirmation_due_at = None
            self._after_opt_in(list_row, subscriber, subscriber.subscription_ip, now)
            self.uow.email_subscriptions.legacy_subscribed(list_row.owner_user_id, subscriber, confirmed=True)
        return subscriber, list_row.subscription_confirmed_page_url

    def unsubscribe(self, list_id: int, *, ip: str, email: str | None = None, subscriber_id: int | None = None,
                    campaign_id: int | None = None, email_id: int | None = None, channel: str = "",
                    preview: bool = False, add_to_global_suppression: bool = False) -> tuple[Subscriber, str]:
        """Opt an address out of a list, with the list's opt-out behaviours; `preview` changes nothing."""
        list_row = self.uow.lists.get_public(list_id)
        query = _narrowed(select(Subscriber).where(Subscriber.list_id == list_row.id), email, subscriber_id)
        subscriber = self.s.scalar(query.with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        campaign = self._owned(Campaign, campaign_id, list_row, CampaignNotFound)
        self._owned(Email, email_id, list_row, EmailNotFound)
        if subscriber.subscription_status == "Unsubscribed":
            raise AlreadyUnsubscribed()
        if preview:
            return subscriber, list_row.unsubscription_confirmed_page_url
        self._opt_out(list_row, subscriber, ip, campaign, email_id, channel, add_to_global_suppression)
        return subscriber, list_row.unsubscription_confirmed_page_url

    def unsubscribe_matching(self, actor: Actor | None, list_id: int, rules_json, rules_operator: str | None, *,
                             ip: str, email: str | None = None, subscriber_id: int | None = None,
                             campaign_id: int | None = None, email_id: int | None = None, channel: str = "",
                             preview: bool = False, add_to_global_suppression: bool = False) -> tuple[int, str]:
        """Opt out every subscriber of the owner's list that the RulesJSON criteria select (narrowed to
        `email` / `subscriber_id` when given), each with the list's opt-out behaviours. Only the
        list owner may: it changes many people at once (protocol.md §8.2). Returns (count, URL);
        already unsubscribed ones are skipped, `preview` only counts."""
        if actor is None:
            raise AuthenticationFailed("selecting subscribers by RulesJSON needs the list owner's SessionID or "
                                       "APIKey")
        list_row = self.uow.lists.get(actor, list_id)
        chosen = _narrowed(self.matching(list_row, rules_json, rules_operator), email, subscriber_id)
        campaign = self._owned(Campaign, campaign_id, list_row, CampaignNotFound)
        self._owned(Email, email_id, list_row, EmailNotFound)
        rows = list(self.s.scalars(select(Subscriber).where(
            Subscriber.id.in_(chosen), Subscriber.subscription_status != "Unsubscribed")
            .order_by(Subscriber.id).with_for_update()))
        if not preview:
            for subscriber in rows:
                self._opt_out(list_row, subscriber, ip, campaign, email_id, channel, add_to_global_suppression)
        return len(rows), list_row.unsubscription_confirmed_page_url

    def matching(self, list_row: SubscriberList, rules_json, rules_operator: str | None) -> Select:
        """ONE select of the IDs of the list's subscribers that RulesJSON criteria select (any status);
        InvalidRules when the criteria cannot produce a precise filter (never "everyone")."""
        owner_id = list_row.owner_user_id
        criteria = self.uow.audience.parse_rules(owner_id, list_row.id, rules_json, rules_operator)
        prepare_connection(self.s)
        return compiler.criteria_query(criteria, list_row.id, self.uow.audience.context(owner_id)) \
            .with_only_columns(Subscriber.id)

    def _opt_out(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, campaign: Campaign | None,
                 email_id: int | None, channel: str, add_to_global_suppression: bool) -> None:
        now = self.uow.clock()
        self._leave(subscriber, ip, now, campaign_id=campaign.id if campaign else 0, email_id=email_id or 0,
                    channel=channel)
        if campaign is not None:
            # The one place an attributed opt-out is counted: tracking's unsubscribe page calls this.
            campaign.total_unsubscriptions += 1
            self.s.add(SubscriberActivity(subscriber_id=subscriber.id, campaign_id=campaign.id,
                                          email_id=email_id or None, kind="unsubscribe", occurred_at=now))
        self._after_opt_out(list_row, subscriber, ip, now, add_to_global_suppression)
        self.uow.email_subscriptions.legacy_unsubscribed(
            list_row.owner_user_id, subscriber,
            account_wide=add_to_global_suppression or list_row.opt_out_add_to_global_suppression_list)

    def _owned(self, model, object_id: int | None, list_row: SubscriberList, error):
        if not object_id:
            return None  # '' and 0 mean "none" for legacy clients
        row = self.s.get(model, object_id)
        if row is None or row.owner_user_id != list_row.owner_user_id:
            raise error()
        return row

    @staticmethod
    def _leave(subscriber: Subscriber, ip: str, now: datetime, *, campaign_id: int = 0, email_id: int = 0,
               channel: str = "") -> None:
        subscriber.subscription_status = "Unsubscribed"
        subscriber.unsubscription_date, subscriber.unsubscription_ip = now, ip
        subscriber.unsubscription_campaign_id, subscriber.unsubscription_email_id = campaign_id, email_id
        subscriber.unsubscription_channel = channel[:64]
        subscriber.confirmation_due_at = None

    # --- list behaviours (protocol.md §6.3) --------------------------------------------------------
    def _after_opt_in(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, now: datetime) -> None:
        if list_row.opt_in_subscribe_to_list_id:
            self._ensure_subscribed(list_row.opt_in_subscribe_to_list_id, subscriber, ip, now)
        if list_row.opt_in_unsubscribe_from_list_id:
            self._ensure_unsubscribed([list_row.opt_in_unsubscribe_from_list_id], subscriber, ip, now)

    def _after_opt_out(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, now: datetime,
                       add_to_global: bool) -> None:
        if list_row.opt_out_scope == "All lists":
            others = list(self.s.scalars(select(SubscriberList.id).where(
                SubscriberList.owner_user_id == list_row.owner_user_id, SubscriberList.id != list_row.id)))
            self._ensure_unsubscribed(others, subscriber, ip, now)
        if list_row.opt_out_unsubscribe_from_list_id:
            self._ensure_unsubscribed([list_row.opt_out_unsubscribe_from_list_id], subscriber, ip, now)
        if list_row.opt_out_subscribe_to_list_id:
            self._ensure_subscribed(list_row.opt_out_subscribe_to_list_id, subscriber, ip, now)
        suppression = self.uow.suppression
        if list_row.opt_out_add_to_suppression_list:
            suppression.add(list_row.owner_user_id, subscriber.email_address, list_id=list_row.id,
                            source="Unsubscribe", reason="Unsubscribed from the list")
        if list_row.opt_out_add_to_global_suppression_list or add_to_global:
            suppression.add(list_row.owner_user_id, subscriber.email_address, source="Unsubscribe",
                            reason=f"Unsubscribed from list {list_row.id}")

    def _ensure_subscribed(self, target_list_id: int, like: Subscriber, ip: str, now: datetime) -> None:
        """Add the address to another list of the same owner, unless it is there already.
        One level only: behaviours of the target list do not chain (no loops)."""
        if self.s.scalar(select(Subscriber.id).where(Subscriber.list_id == target_list_id,
                                                     Subscriber.email_normalized == like.email_normalized)):
            return
        self.s.add(Subscriber(list_id=target_list_id, email_address=like.email_address,
                              email_normalized=like.email_normalized, subscription_status="Subscribed",
                              bounce_type="Not Bounced", soft_bounce_count=0, subscription_date=now,
                              subscription_ip=ip, opt_in_date=now, unsubscription_ip="", source=like.source,
                              source_ref=like.source_ref))
        self.s.flush()

    def _ensure_unsubscribed(self, list_ids: list[int], like: Subscriber, ip: str, now: datetime) -> None:
        if not list_ids:
            return
        for other in self.s.scalars(select(Subscriber).where(
                Subscriber.list_id.in_(list_ids), Subscriber.email_normalized == like.email_normalized,
                Subscriber.subscription_status != "Unsubscribed")):
            self._leave(other, ip, now, channel="List behaviour")

    # --- the owner's edits -------------------------------------------------------------------------
    def update(self, actor: Actor, list_id: int, subscriber_id: int, changes: dict,
               values: dict[int, object] | None = None, *, enforce_required: bool = False) -> Subscriber:
        """Partial update. `changes`: email, subscription_status, bounce_type, unsubscription_ip,
        unsubscription_date; `values`: custom-field values by field ID (unknown IDs are refused)."""
        list_row = self.uow.lists.get(actor, list_id)
        subscriber = self.s.scalar(select(Subscriber).where(
            Subscriber.id == subscriber_id, Subscriber.list_id == list_row.id).with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        fields = self.uow.custom_fields.values_for(list_row)
        if "email" in changes:
            self._change_email(list_row, subscriber, changes["email"])
        checked = fields.check(values or {}, subscriber_id=subscriber.id, strict=True,
                               enforce_required=enforce_required)
        now = self.uow.clock()
        status = changes.get("subscription_status")
        if status is not None and status != subscriber.subscription_status:
            if status == "Unsubscribed":
                self._leave(subscriber, changes.get("unsubscription_ip", ""), changes.get("unsubscription_date") or now,
                            channel="Owner")
            elif status == "Subscribed":
                subscriber.subscription_status, subscriber.confirmation_due_at = "Subscribed", None
                subscriber.opt_in_date = subscriber.opt_in_date or now
            else:  # Opt-In Pending: the owner asks for a (new) confirmation
                subscriber.subscription_status, subscriber.opt_in_date = "Opt-In Pending", None
                subscriber.confirmation_due_at = now
            self.uow.email_subscriptions.owner_changed(list_row.owner_user_id, subscriber)
        if "bounce_type" in changes:
            subscriber.bounce_type = changes["bounce_type"]
            if changes["bounce_type"] == "Not Bounced":
                subscriber.soft_bounce_count = 0
        fields.store(subscriber.id, checked)
        self.s.flush()
        return subscriber

    def _change_email(self, list_row: SubscriberList, subscriber: Subscriber, email: str) -> None:
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        if normalized != subscriber.email_normalized and self.s.scalar(select(Subscriber.id).where(
                Subscriber.list_id == list_row.id, Subscriber.email_normalized == normalized)):
            raise SubscriberExists()
        subscriber.email_address, subscriber.email_normalized = email.strip()[:255], normalized

    def delete(self, actor: Actor, list_id: int, subscriber_ids: list[int] | None = None, *,
               rules: tuple[object, str] | None = None, suppression_only: bool = False) -> int:
        """Delete subscribers of a list chosen by ID (IDs of other lists are ignored) and/or by
        RulesJSON criteria `rules` = (RulesJSON, operator) — both given: the listed ones that match —
        or with `suppression_only` lift the suppressions of their addresses and keep them.
        Returns how many subscribers were deleted (suppressions lifted)."""
        list_row = self.uow.lists.get(actor, list_id)
        if rules is not None:
            members = self.matching(list_row, *rules)
        else:
            members = select(Subscriber.id).where(Subscriber.list_id == list_row.id)
        if subscriber_ids is not None:
            members = members.where(Subscriber.id.in_(subscriber_ids))
        if suppression_only:
            emails = list(self.s.scalars(select(Subscriber.email_normalized).where(Subscriber.id.in_(members))))
            return self.uow.suppression.remove_for(list_row.owner_user_id, list_row.id, emails)
        # The IDs are read first and deleted in chunks: MariaDB refuses a DELETE whose subquery reads
        # the same table, and one IN list of a whole list's IDs would exceed the bind-parameter limits.
        ids = list(self.s.scalars(members))
        for start in range(0, len(ids), DELETE_CHUNK):
            chunk = ids[start:start + DELETE_CHUNK]
            self.s.execute(delete(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id.in_(chunk)),
                           execution_options=NO_SYNC)
            self.s.execute(delete(Subscriber).where(Subscriber.id.in_(chunk)), execution_options=NO_SYNC)
        return len(ids)

    def import_csv(self, actor: Actor, list_id: int, stream, options, progress=None):
        """Import subscribers from a CSV byte stream (engine/importer.py)."""
        from engine.importer import SubscriberImporter

        return SubscriberImporter(self.uow).run(actor, list_id, stream, options, progress=progress)


def _narrowed(query: Select, email: str | None, subscriber_id: int | None) -> Select:
    """`query` (over subscribers) limited to one address and/or one subscriber ID."""
    if email is not None:
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        query = query.where(Subscriber.email_normalized == normalized)
    if subscriber_id is not None:
        query = query.where(Subscriber.id == subscriber_id)
    return query


def _date_prefix_span(keyword: str) -> tuple[datetime, datetime] | None:
    """YYYY, YYYY-MM or YYYY-MM-DD as a [start, end) range of UTC instants."""
    from datetime import timezone

    match = re.fullmatch(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*", keyword)
    if not match:
        return None
    year, month, day = int(match.group(1)), match.group(2), match.group(3)
    try:
        if day:
            start = datetime(year, int(month), int(day), tzinfo=timezone.utc)
            return start, start + timedelta(days=1)
        if month:
            start = datetime(year, int(month), 1, tzinfo=timezone.utc)
            end = datetime(year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=timezone.utc)
            return start, end
        return datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    except ValueError:
        return None
