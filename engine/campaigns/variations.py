"""A campaign's A/B email variations (Campaign.Update `ABTesting[Variations]`).

The wire shape (2–5 entries, positive weights, each at least 1 %) is checked by the command; here:
ownership of every email, replacing the stored set, and what arming a campaign must check for each
variation (its From and its personalisation tags, as for the campaign's single email).

Decision: while a campaign has variations, its `email_id` is the first variation's email. Every
single-email rule (content needed before Ready, the From check at arming and at start, the approval
fingerprint, test sends) then still has one email to look at; the wire shows RelEmailID 0 as the spec
says, and delivery sends each recipient the variation of its ledger row.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from engine.accounts.auth import Actor
from engine.errors import UnknownPersonalizationTags, VariationEmailNotFound
from engine.models import Campaign, Email
from engine.models.split_tests import CampaignVariation


@dataclass(frozen=True)
class VariationSpec:
    email_id: int
    weight: int


class VariationService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def of(self, campaign_id: int) -> list[CampaignVariation]:
        return list(self.s.scalars(select(CampaignVariation).where(CampaignVariation.campaign_id == campaign_id)
                                   .order_by(CampaignVariation.position)))

    def replace(self, actor: Actor, campaign: Campaign, specs: list[VariationSpec]) -> None:
        """Store `specs` as the campaign's variations ([] turns A/B testing off)."""
        emails = {e.id: e for e in self.s.scalars(select(Email).where(
            Email.id.in_([spec.email_id for spec in specs]), Email.owner_user_id == campaign.owner_user_id))} \
            if specs else {}
        missing = [spec.email_id for spec in specs if spec.email_id not in emails]
        if missing:
            raise VariationEmailNotFound(f"email {missing[0]} does not exist or does not belong to the user")
        self.s.execute(delete(CampaignVariation).where(CampaignVariation.campaign_id == campaign.id)
                       .execution_options(synchronize_session=False))
        self.s.flush()
        for position, spec in enumerate(specs):
            self.s.add(CampaignVariation(campaign_id=campaign.id, email_id=spec.email_id, weight=spec.weight,
                                         position=position))
        if specs:
            campaign.email_id = specs[0].email_id
        self.s.flush()
        self.s.expire(campaign, ["variations"])

    def copy(self, source_campaign_id: int, target: Campaign, duplicate: Callable[[int], int]) -> None:
        """Give `target` the variations of the source campaign, each with the email `duplicate` returns
        for the source's (Campaign.Copy: new email rows of the same owner), same weights and order."""
        for v in self.of(source_campaign_id):
            self.s.add(CampaignVariation(campaign_id=target.id, email_id=duplicate(v.email_id), weight=v.weight,
                                         position=v.position))
        self.s.flush()
        self.s.expire(target, ["variations"])

    def check_sendable(self, campaign: Campaign, allow_unknown_tags: bool) -> None:
        """What arming checks on the campaign's email, on every other variation too."""
        for variation in self.of(campaign.id)[1:]:
            self.uow.sender_policy.require_campaign_from_allowed(campaign.owner_user_id, variation.email_id)
            if not allow_unknown_tags:
                unknown = self.uow.emails.unknown_tags(self.s.get(Email, variation.email_id), "Campaign")
                if unknown:
                    raise UnknownPersonalizationTags(unknown)
