"""Audiences: who a segment selects and whom a campaign would mail (protocol.md Part 1 §9, §10)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, select

from engine.audience import compiler, rules
from engine.audience.catalog import custom_field_kind
from engine.audience.compiler import CompileContext, Source
from engine.audience.sqlfuncs import prepare_connection
from engine.audience.time_limit import time_limited
from engine.accounts.auth import Actor
from engine.errors import InvalidCampaignStatus, InvalidRecipients, InvalidRules, NoAudience, SegmentNotFound
from engine.models import Campaign, CustomField, Journey, JourneyAction, Segment, Subscriber, SubscriberList, SubscriberTag

# campaign.recipients.get works only before sending (v5.9.4/api-reference/campaigns.md).
PREVIEWABLE = ("Draft", "Ready", "Pending Approval")


@dataclass
class AudiencePreview:
    campaign_id: int
    total: int
    recipients: list[Subscriber]
    sql: str


class DbLookup:
    """rules.Lookup answered from the database, scoped to one owner (foreign = missing)."""

    def __init__(self, session, owner_id: int):
        self.s = session
        self.owner_id = owner_id
        self._fields: dict[int, CustomField | None] = {}

    def custom_field_kind(self, field_id: int, list_id: int) -> str | None:
        if field_id not in self._fields:
            self._fields[field_id] = self.s.get(CustomField, field_id)
        found = self._fields[field_id]
        if found is None or found.owner_user_id != self.owner_id or found.list_id not in (None, list_id):
            return None
        return custom_field_kind(found.field_type, found.validation_method)

    def segment(self, segment_id: int):
        found = self.s.get(Segment, segment_id)
        if found is None or found.owner_user_id != self.owner_id:
            return None
        return found.list_id, found.rules_json, found.rules_operator

    def missing_campaigns(self, campaign_ids: tuple[int, ...]) -> list[int]:
        owned = set(self.s.scalars(select(Campaign.id).where(
            Campaign.id.in_(campaign_ids), Campaign.owner_user_id == self.owner_id)))
        return [i for i in campaign_ids if i not in owned]

    def tag_list(self, tag_id: int) -> int | None:
        found = self.s.get(SubscriberTag, tag_id)
        return found.list_id if found is not None and found.owner_user_id == self.owner_id else None

    def journey(self, journey_id: int) -> bool:
        return self.s.scalar(select(Journey.id).where(
            Journey.id == journey_id, Journey.owner_user_id == self.owner_id)) is not None

    def journey_email_action(self, action_id: int) -> bool:
        return self.s.scalar(select(JourneyAction.id).join(Journey, Journey.id == JourneyAction.journey_id).where(
            JourneyAction.id == action_id, JourneyAction.action == "SendEmail",
            Journey.owner_user_id == self.owner_id)) is not None


class AudienceService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def context(self, owner_id: int) -> CompileContext:
        return CompileContext(owner_user_id=owner_id, now=self.uow.clock(),
                              union_anti_join=self.s.get_bind().dialect.name == "postgresql")

    def time_limit(self, seconds: float | None = None):
        """A block whose statements stop after `seconds` (default: the request limit) with
        AudienceQueryTimeout; run every statement that evaluates criteria inside one."""
        return time_limited(self.s, seconds or self.uow.settings.audience_query_timeout, self.uow.timer)

    # --- criteria -------------------------------------------------------------------------------
    def parse_rules(self, owner_id: int, list_id: int, raw: Any, operator: str, *, strict: bool = True):
        """Validate criteria for one of the owner's lists; returns the AST or raises InvalidRules."""
        return rules.parse_criteria(raw, operator, DbLookup(self.s, owner_id), list_id=list_id, strict=strict)

    def segment_criteria(self, segment: Segment) -> rules.Group | None:
        """The stored criteria of a segment; None when it has none (it then selects nobody)."""
        if not (segment.rules_json or "").strip():
            return None
        return self.parse_rules(segment.owner_user_id, segment.list_id, segment.rules_json,
                                segment.rules_operator or "and", strict=False)

    def segment_query(self, segment: Segment) -> Select:
        """ONE select of the segment's subscriber rows (any status), in ID order."""
        criteria = self.segment_criteria(segment)
        if criteria is None:
            return select(Subscriber).where(false())
        return compiler.criteria_query(criteria, segment.list_id, self.context(segment.owner_user_id))

    def segment_subscriber_ids(self, actor_or_segment: Actor | Segment, segment_id: int | None = None) -> Select:
        """A select of the IDs of a segment's subscribers, usable with `in_()` or executed.

        Called as (actor, segment_id) the segment must be the actor's (SegmentNotFound otherwise);
        called with a Segment row the caller has already checked it.
        """
        if isinstance(actor_or_segment, Segment):
            segment = actor_or_segment
        else:
            segment = self.s.get(Segment, segment_id)
            if segment is None or segment.owner_user_id != actor_or_segment.id:
                raise SegmentNotFound()
        prepare_connection(self.s)
        return self.segment_query(segment).with_only_columns(Subscriber.id)

    def segment_count(self, segment: Segment) -> int:
        prepare_connection(self.s)
        query = compiler.count_query(self.segment_query(segment))
        with self.time_limit():
            return self.s.scalar(query)

    # --- campaigns -------------------------------------------------------------------------------
    def validate_bundle(self, owner_id: int, raw: Any) -> rules.Bundle:
        """Check a RulesJsonBundle before it is stored: InvalidRules, or InvalidRecipients for a
        list that is not the owner's."""
        return rules.parse_bundle(raw, lambda list_id: self._list_lookup(owner_id, list_id))

    def campaign_audience_query(self, campaign: Campaign) -> Select:
        """The subscriber rows the campaign would mail now: one per address (Part 1 §9)."""
        return compiler.audience_query(*self._campaign_sources(campaign))

    def campaign_audience_rows(self, campaign: Campaign) -> Select:
        """The same people as (subscriber_id, email_normalized), unordered: for the ledger and counts."""
        return compiler.audience_rows(*self._campaign_sources(campaign))

    def _campaign_sources(self, campaign: Campaign) -> tuple[list[Source], list[Source], CompileContext, str]:
        prepare_connection(self.s)
        owner_id = campaign.owner_user_id
        if (campaign.rules_json_bundle or "").strip():
            bundle = rules.parse_bundle(campaign.rules_json_bundle,
                                        lambda list_id: self._list_lookup(owner_id, list_id), strict=False)
            included = [Source(c.list_id, c.criteria) for c in bundle.criteria]
            return included, [], self.context(owner_id), bundle.operator
        included = [self._recipient_source(owner_id, r) for r in campaign.recipients if not r.excluded]
        if not included:
            raise NoAudience()
        excluded = [self._recipient_source(owner_id, r) for r in campaign.recipients if r.excluded]
        return included, excluded, self.context(owner_id), "or"

    def preview(self, actor: Actor, campaign_id: int, sample: int = 10, offset: int = 0) -> AudiencePreview:
        """Count, first recipients and SQL of an unsent campaign's audience (campaign.recipients.get)."""
        campaign = self.uow.campaigns.get(actor, campaign_id)
        if campaign.status not in PREVIEWABLE:
            raise InvalidCampaignStatus(f"the campaign is {campaign.status}; only Draft, Ready and "
                                        "Pending Approval campaigns have a recipient preview")
        return self.preview_campaign(campaign, sample, offset)

    def preview_campaign(self, campaign: Campaign, sample: int = 10, offset: int = 0) -> AudiencePreview:
        sources = self._campaign_sources(campaign)
        query = compiler.audience_query(*sources)
        with self.time_limit():
            # Counted from the (subscriber_id, address) rows: the same people without reading each row again.
            total = self.s.scalar(compiler.count_query(compiler.audience_rows(*sources)))
            recipients = list(self.s.scalars(query.offset(offset).limit(sample))) if sample > 0 else []
        sql = compiler.render_sql(query, self.s.get_bind().dialect)
        return AudiencePreview(campaign.id, total, recipients, sql)

    def _list_lookup(self, owner_id: int, list_id: int) -> DbLookup:
        self._owned_list(owner_id, list_id)
        return DbLookup(self.s, owner_id)

    def _owned_list(self, owner_id: int, list_id: int) -> None:
        owned = self.s.scalar(select(func.count(SubscriberList.id)).where(
            SubscriberList.id == list_id, SubscriberList.owner_user_id == owner_id))
        if not owned:
            raise InvalidRecipients(f"list {list_id} does not exist or does not belong to the user")

    def _recipient_source(self, owner_id: int, ref) -> Source:
        self._owned_list(owner_id, ref.list_id)
        if not ref.segment_id:
            return Source(ref.list_id, whole_list=True)
        segment = self.s.get(Segment, ref.segment_id)
        if segment is None or segment.owner_user_id != owner_id or segment.list_id != ref.list_id:
            raise InvalidRecipients(f"segment {ref.segment_id} does not exist in list {ref.list_id}")
        try:
            return Source(ref.list_id, self.segment_criteria(segment))
        except InvalidRules as exc:
            raise InvalidRules(f"segment {segment.id}: {exc.message}") from None
