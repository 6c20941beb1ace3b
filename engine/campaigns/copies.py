"""Campaign.Copy (and the modern Reuse): a Draft copy of a campaign with content of its own.

What is copied (protocol.md Part 2, "Campaign.Copy"): every setting but the schedule, the recipients and
RulesJsonBundle, the tags; the email into a new email row of the same owner; an A/B campaign's variations,
each email copied once, with their weights, and its split test with a seed of its own (README "A/B split
tests"). Nothing of the original's sends (ledger, figures, split-test decisions) comes along.
"""
from __future__ import annotations

from engine.accounts.auth import Actor
from engine.campaigns import events as campaign_events
from engine.campaigns.service import SETTING_FIELDS
from engine.models import Campaign, CampaignRecipient, Email


class CampaignCopies:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def copy(self, actor: Actor, campaign_id: int, *, unpublished: bool = False) -> Campaign:
        """A Draft copy; `unpublished` also turns its public page (PublishOnRSS) off (the modern Reuse)."""
        source = self.uow.campaigns.get(actor, campaign_id)
        now = self.uow.clock()
        copies: dict[int, int] = {}   # source email id → its copy's: a variation's email is copied once

        def duplicate(source_email_id: int) -> int:
            if source_email_id not in copies:
                copies[source_email_id] = self.uow.emails.duplicate_row(self.s.get(Email, source_email_id)).id
            return copies[source_email_id]

        email_id = duplicate(source.email_id) if source.email_id is not None else None
        copy = Campaign(
            owner_user_id=source.owner_user_id, name=f"Copy of {source.name}"[:255], status="Draft",
            schedule_type="Not Scheduled", email_id=email_id, created_at=now, last_activity_at=now,
            rules_json_bundle=source.rules_json_bundle, tags=list(source.tags),
            recipients=[CampaignRecipient(list_id=r.list_id, segment_id=r.segment_id, excluded=r.excluded)
                        for r in source.recipients],
            **{k: getattr(source, k) for k in SETTING_FIELDS if k != "name"},
        )
        if unpublished:
            copy.publish_on_rss = "Disabled"
        self.s.add(copy)
        self.s.flush()
        # "All email variations are automatically duplicated with new Email IDs, and the A/B testing
        # configuration is preserved in the copy" (campaigns.md).
        self.uow.variations.copy(source.id, copy, duplicate)
        self.uow.split_tests.copy(source.id, copy.id)
        campaign_events.created(self.uow, copy)
        return copy
