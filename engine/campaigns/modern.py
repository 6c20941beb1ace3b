"""The modern campaign operations the legacy chapter has no command for: publish (landing page only,
or with email distribution to labels / lists / segments / contacts), reuse, the audience of a
paused campaign, and the public landing page.

Targeting maps onto the legacy model (README "Modern campaign API"): a label or list id is one of
the owner's subscriber lists (`contacts-all` = every list), a segment id a segment, a contact id a
subscriber. Lists and segments become `RecipientListsAndSegments` rows; when contacts are named the
whole audience becomes one RulesJsonBundle (a union), because single subscribers can only be
selected by criteria. Get Audience reads either form back.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from engine.campaigns import events as campaign_events
from engine.accounts.auth import Actor
from engine.campaigns.landing_pages import landing_code_campaign, landing_page_url
from engine.campaigns.modern_status import LANDING_PAGE_ON, is_paused, visibility_status
from engine.campaigns.service import RecipientRef
from engine.errors import (
    CampaignAlreadyPublished, CampaignNotFound, CampaignNotPaused, InvalidCampaignStatus, InvalidRecipients,
    SenderNotReady,
)
from engine.delivery.personalize import HTML, TEXT, compile_template
from engine.tracking.public_html import public_page
from engine.models import Campaign, Email, Segment, Subscriber, SubscriberList, User

ALL_CONTACTS = "contacts-all"
# One rule per contact in the bundle, and a bundle holds at most 200 rules (engine/audience/rules.py).
MAX_CONTACTS = 100
_EVERYONE = {"type": "fields", "field_id": "SubscriberID", "operator": "is greater than", "value": "0"}


@dataclass(frozen=True)
class Distribution:
    """emailDistributionOptions, with ids already parsed."""

    subject: str | None = None
    all_contacts: bool = False
    list_ids: tuple[int, ...] = ()
    segment_ids: tuple[int, ...] = ()
    contact_ids: tuple[int, ...] = ()
    send_at: datetime | None = None
    allow_unknown_tags: bool = False   # arm even though the content has tags nobody can fill in


@dataclass(frozen=True)
class Published:
    campaign: Campaign
    landing_page_url: str
    date_published: datetime


@dataclass
class Audience:
    list_ids: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    contact_ids: list[int] = field(default_factory=list)


class ModernCampaignService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- publishing ------------------------------------------------------------------------------
    def publish(self, actor: Actor, campaign_id: int, distribution: Distribution | None) -> Published:
        """Without distribution: the landing page only. With it: target, arm (scheduling.publish)."""
        campaign = self.uow.campaigns.get(actor, campaign_id, for_update=True)
        if distribution is None:
            self._publish_landing_page(campaign)
        else:
            if campaign.status != "Draft":
                raise CampaignAlreadyPublished(f"a {campaign.status} campaign cannot be published again")
            sender = self._require_default_sender(campaign.owner_user_id)
            changes = self._targeting(actor, distribution)
            self.uow.campaigns.update(actor, campaign_id, changes)
            email = self._email(campaign)
            before = self.uow.approval.email_snapshot(email)
            self._use_sender(email, sender)
            if distribution.subject:
                email.subject = distribution.subject
            # The email may be another campaign's content too (RelEmailID): that one's approval counts.
            self.uow.approval.email_edited(email, before)
            campaign = self.uow.scheduling.publish(actor, campaign_id, distribution.send_at,
                                                   allow_unknown_tags=distribution.allow_unknown_tags)
        return Published(campaign, landing_page_url(self.uow.settings, campaign), self.uow.clock())

    def _require_default_sender(self, owner_user_id: int):
        """Campaigns go out from the default sender only, so it must exist and still be verified."""
        sender = self.uow.sender_identity.default_sender(owner_user_id)
        if sender is None:
            raise SenderNotReady()
        return sender

    def _email(self, campaign: Campaign) -> Email:
        email = self.s.get(Email, campaign.email_id) if campaign.email_id else None
        if email is None:
            raise InvalidCampaignStatus("a campaign needs email content (RelEmailID) before it can be published")
        return email

    @staticmethod
    def _use_sender(email: Email, sender) -> None:
        """The email goes out From the default sender (a site-owned address with the user's as Reply-To
        when the user's own domain cannot be sent from: Identify Sender Address)."""
        email.from_name, email.from_email = sender.from_name, sender.from_address
        if sender.reply_to and sender.reply_to.lower() != sender.from_address.lower():
            email.reply_to_name, email.reply_to_email = sender.from_name, sender.reply_to

    def _publish_landing_page(self, campaign: Campaign) -> None:
        if visibility_status(campaign) == "PUBLISHED":
            raise CampaignAlreadyPublished("the campaign is already published")
        if campaign.email_id is None:
            raise InvalidCampaignStatus("a campaign needs email content before its landing page can be published")
        campaign.publish_on_rss = LANDING_PAGE_ON
        campaign.last_activity_at = self.uow.clock()
        self.s.flush()
        campaign_events.published(self.uow, campaign, 0)

    def _targeting(self, actor: Actor, d: Distribution) -> dict:
        """Campaign.update changes that make the campaign target exactly what `d` names."""
        named = dict.fromkeys(d.list_ids)  # an ordered set: membership tests stay O(1)
        list_ids = list(named)
        if d.all_contacts:
            list_ids += [i for i in self.s.scalars(select(SubscriberList.id).where(
                SubscriberList.owner_user_id == actor.id).order_by(SubscriberList.id)) if i not in named]
        segments = []
        for segment_id in dict.fromkeys(d.segment_ids):
            segment = self.s.get(Segment, segment_id)
            if segment is None or segment.owner_user_id != actor.id:
                raise InvalidRecipients(f"segment {segment_id} does not exist or does not belong to the user")
            segments.append(segment)
        contacts = self._contacts(actor, d.contact_ids)
        if not (list_ids or segments or contacts):
            raise InvalidRecipients("the distribution options name no recipients (labelIds, listIds, segmentIds "
                                    "or contactIds); the account has no list for contacts-all")
        if not contacts:
            return {"recipients": [RecipientRef(i) for i in list_ids] +
                    [RecipientRef(s.list_id, s.id) for s in segments]}
        criteria = [{"list_id": i, "operator": "and", "rules": [_EVERYONE]} for i in list_ids]
        criteria += [{"list_id": s.list_id, "operator": "and",
                      "rules": [{"type": "segments", "operator": "belongs to", "value": str(s.id)}]}
                     for s in segments]
        by_list: dict[int, list[int]] = {}
        for contact in contacts:
            by_list.setdefault(contact.list_id, []).append(contact.id)
        criteria += [{"list_id": list_id, "operator": "or",
                      "rules": [{"type": "fields", "field_id": "SubscriberID", "operator": "is", "value": str(i)}
                                for i in ids]} for list_id, ids in by_list.items()]
        return {"rules_json_bundle": json.dumps({"operator": "or", "criteria": criteria})}

    def _contacts(self, actor: Actor, contact_ids) -> list[Subscriber]:
        wanted = list(dict.fromkeys(contact_ids))
        if len(wanted) > MAX_CONTACTS:
            raise InvalidRecipients(f"at most {MAX_CONTACTS} contactIds can be named; use a label or segment")
        if not wanted:
            return []
        found = {row.id: row for row in self.s.scalars(
            select(Subscriber).join(SubscriberList, SubscriberList.id == Subscriber.list_id)
            .where(Subscriber.id.in_(wanted), SubscriberList.owner_user_id == actor.id))}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise InvalidRecipients(f"contact {missing[0]} does not exist or does not belong to the user")
        return [found[i] for i in wanted]

    # --- reuse and audience ---------------------------------------------------------------------
    def reuse(self, actor: Actor, campaign_id: int) -> Campaign:
        """A Draft copy that is not published (its landing page off), whatever the original was."""
        return self.uow.campaign_copies.copy(actor, campaign_id, unpublished=True)

    def audience(self, actor: Actor, campaign_id: int) -> Audience:
        """Whom a paused campaign targets, in the publish vocabulary; CampaignNotPaused otherwise."""
        campaign = self.uow.campaigns.get(actor, campaign_id)
        if not is_paused(campaign):
            raise CampaignNotPaused(f"the campaign is not paused (it is {campaign.status})")
        out = Audience()
        bundle = (campaign.rules_json_bundle or "").strip()
        if not bundle:
            for ref in campaign.recipients:
                if not ref.excluded:
                    (out.segment_ids if ref.segment_id else out.list_ids).append(ref.segment_id or ref.list_id)
            return out
        try:
            criteria = json.loads(bundle).get("criteria") or []
        except (ValueError, AttributeError):
            return out
        for entry in criteria if isinstance(criteria, list) else []:
            _read_criterion(entry, out)
        return out

    # --- the public landing page ------------------------------------------------------------------
    def landing_page(self, code: str, *, count: bool) -> str:
        """The HTML of a published campaign's landing page; CampaignNotFound for anything else."""
        named = landing_code_campaign(self.uow.settings, code)
        campaign = self.s.get(Campaign, named[0]) if named else None
        if campaign is None or not campaign.made_for(named[1]) or visibility_status(campaign) != "PUBLISHED" \
                or campaign.email_id is None or not self.uow.approval.content_approved(campaign):
            # An Untrusted account's page shows only content an administrator approved (Campaign.Approve).
            raise CampaignNotFound()
        email = self.s.get(Email, campaign.email_id)
        if count:
            # SET n = n + 1 in the database: two views at once both count.
            self.s.execute(update(Campaign).where(Campaign.id == campaign.id)
                           .values(total_views_on_browser=Campaign.total_views_on_browser + 1)
                           .execution_options(synchronize_session=False))
        # Personal tags render empty: the page is the same for everyone who has the link.
        owner = self.s.get(User, campaign.owner_user_id)
        ctx = {"Campaign:CampaignID": campaign.id, "Campaign:Name": campaign.name, "Now": self.uow.clock(),
               "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
               "User:CompanyName": owner.company_name}
        if (email.html_content or "").strip():
            return public_page(compile_template(email.html_content, HTML).render(ctx))
        text = compile_template(email.plain_content or "", TEXT).render(ctx)
        return public_page(f"<pre>{html.escape(text)}</pre>")


def _read_criterion(entry, out: Audience) -> None:
    """One criterion of a bundle written by _targeting, back into ids; other shapes are skipped."""
    if not isinstance(entry, dict) or not isinstance(entry.get("rules"), list):
        return
    rules = entry["rules"]
    if rules == [_EVERYONE]:
        out.list_ids.append(int(entry["list_id"]))
    elif len(rules) == 1 and isinstance(rules[0], dict) and rules[0].get("type") == "segments":
        out.segment_ids.append(int(rules[0]["value"]))
    elif all(isinstance(r, dict) and r.get("field_id") == "SubscriberID" and r.get("operator") == "is"
             for r in rules):
        out.contact_ids.extend(int(r["value"]) for r in rules)

