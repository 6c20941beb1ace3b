"""Many subscribers of a list at once: the ones RulesJSON criteria select, opted out or deleted
(protocol.md §8.2, §8.3), and deletion by ID lists."""
from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import Select, delete, select

from engine.audience import compiler
from engine.audience.sqlfuncs import prepare_connection
from engine.accounts.auth import Actor
from engine.errors import AuthenticationFailed, CampaignNotFound, EmailNotFound
from engine.audience.list_membership import ListMembership, narrowed
from engine.automation import enqueue as autoresponders
from engine.models import (
    Campaign, Email, Subscriber, SubscriberFieldValue, SubscriberList, SubscriberTagAssignment,
)

NO_SYNC = {"synchronize_session": False}
DELETE_CHUNK = 1000


class BulkSubscriberService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        self.membership = ListMembership(uow)

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
        chosen = narrowed(self.matching(list_row, rules_json, rules_operator), email, subscriber_id)
        campaign = self.membership.owned(Campaign, campaign_id, list_row, CampaignNotFound)
        self.membership.owned(Email, email_id, list_row, EmailNotFound)
        with self.uow.audience.time_limit():
            rows = list(self.s.scalars(select(Subscriber).where(
                Subscriber.id.in_(chosen), Subscriber.subscription_status != "Unsubscribed")
                .order_by(Subscriber.id).with_for_update()))
        if not preview:
            for subscriber in rows:
                self.membership.opt_out(list_row, subscriber, ip, campaign, email_id, channel,
                                        add_to_global_suppression)
        return len(rows), list_row.unsubscription_confirmed_page_url

    def matching(self, list_row: SubscriberList, rules_json, rules_operator: str | None) -> Select:
        """ONE select of the IDs of the list's subscribers that RulesJSON criteria select (any status);
        InvalidRules when the criteria cannot produce a precise filter (never "everyone")."""
        owner_id = list_row.owner_user_id
        criteria = self.uow.audience.parse_rules(owner_id, list_row.id, rules_json, rules_operator)
        prepare_connection(self.s)
        return compiler.criteria_query(criteria, list_row.id, self.uow.audience.context(owner_id)) \
            .with_only_columns(Subscriber.id)

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
        # Suppressions are lifted by address. Otherwise the IDs are read first and deleted in chunks:
        # MariaDB refuses a DELETE whose subquery reads the same table, and one IN list of a whole
        # list's IDs would exceed the bind-parameter limits.
        reading = select(Subscriber.email_normalized).where(Subscriber.id.in_(members)) if suppression_only \
            else members
        # Criteria get the audience time limit; the writes below run without it.
        with self.uow.audience.time_limit() if rules is not None else nullcontext():
            found = list(self.s.scalars(reading))
        if suppression_only:
            return self.uow.suppression.remove_for(list_row.owner_user_id, list_row.id, found)
        ids = found
        for start in range(0, len(ids), DELETE_CHUNK):
            chunk = ids[start:start + DELETE_CHUNK]
            self.s.execute(delete(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id.in_(chunk)),
                           execution_options=NO_SYNC)
            self.s.execute(delete(SubscriberTagAssignment).where(SubscriberTagAssignment.subscriber_id.in_(chunk)),
                           execution_options=NO_SYNC)
            self.s.execute(delete(Subscriber).where(Subscriber.id.in_(chunk)), execution_options=NO_SYNC)
            autoresponders.on_left(self.s, chunk, self.uow.clock(), "the subscriber was deleted")
        return len(ids)
