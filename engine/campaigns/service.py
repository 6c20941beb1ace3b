"""Campaigns: creation, editing, the status machine and deletion (listing: listing.py, copies: copies.py).

Status machine (protocol.md §4.2 and Part 1 §4–5):
  Draft ⇄ Ready (Ready needs content, recipients and a complete schedule; an Untrusted owner's
  Ready becomes Pending Approval) · Pending Approval → Ready (Campaign.Approve) · an approved campaign of an
  Untrusted owner changed → Pending Approval (engine/campaigns/approval.py) ·
  Ready → Sending → Sent (the scheduler) · Sending ⇄ Paused (Pause / Resume) ·
  Cancel: → Draft when nothing was sent yet, else → Sent with reason "Canceled".
Arming (→ Ready, whichever surface asks) refuses content with personalisation tags that cannot be
filled in (they would go out as empty text), unless the caller says to proceed (`allow_unknown_tags`).
"""
from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import delete, select

from engine.campaigns import events as campaign_events
from engine.campaigns.campaign_view import CampaignView, campaign_view
from engine.accounts.auth import Actor
from engine.errors import (
    CampaignNotFound, EmailNotFound, InvalidCampaignStatus, InvalidRecipients, InvalidStatusTransition,
    InvalidValue, MissingMaxInstances, MissingRecurringDays, MissingRecurringHours, MissingRecurringMinutes,
    MissingRecurringMonths, MissingSendDate, MissingSendTime, MissingTimeZone, PermissionDenied,
    UnknownPersonalizationTags,
)
from engine.ownership import get_owned, require_owned_ids
from engine.models import Campaign, CampaignRecipient, CampaignTag, Email, Segment, SendInstance, SubscriberList
from engine.models.campaigns import ACCOUNT_HOLD_REASONS
from engine.models.sending import OPEN_INSTANCE_STATES

EDITABLE = ("Draft", "Ready", "Pending Approval", "Failed")
# Statuses a user may ask for with Campaign.Update; the others are reached only by the system.
USER_SETTABLE = {
    "Draft": ("Draft", "Ready", "Pending Approval", "Failed"),
    "Ready": ("Draft", "Ready"),
    "Paused": ("Sending",),
}
SCHEDULE_FIELDS = (
    "schedule_type", "send_date", "send_time", "send_timezone", "schedule_rec_days_of_week",
    "schedule_rec_days_of_month", "schedule_rec_months", "schedule_rec_hours", "schedule_rec_minutes",
    "schedule_rec_send_max_instance",
)
SETTING_FIELDS = (
    "name", "approval_user_explanation", "google_analytics_domains", "publish_on_rss", "s2s_enabled",
)


@dataclass(frozen=True)
class RecipientRef:
    list_id: int
    segment_id: int = 0


class CampaignService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------
    def get(self, actor: Actor, campaign_id: int, *, for_update: bool = False) -> Campaign:
        return get_owned(self.s, Campaign, campaign_id, actor, CampaignNotFound, for_update=for_update)

    def view(self, actor: Actor, campaign_id: int) -> CampaignView:
        """The campaign to be shown (Campaign.Get), read without the ORM: engine/campaigns/campaign_view.py."""
        self.s.flush()   # read past the ORM: what this unit changed must be sent first
        view = campaign_view(self.s.connection(), campaign_id, owner_id=None if actor.is_admin else actor.id)
        if view is None:
            raise CampaignNotFound()
        return view

    # --- creating and editing -----------------------------------------------------------------
    def create(self, actor: Actor, name: str) -> Campaign:
        now = self.uow.clock()
        campaign = Campaign(owner_user_id=actor.id, name=name, status="Draft",
                            schedule_type="Not Scheduled", created_at=now, last_activity_at=now)
        self.s.add(campaign)
        self.s.flush()
        campaign_events.created(self.uow, campaign)
        return campaign

    def update(self, actor: Actor, campaign_id: int, changes: dict, *, allow_unknown_tags: bool = False) -> Campaign:
        """Partial update: only the keys present in `changes` change.

        Keys: the Campaign column names in SETTING_FIELDS and SCHEDULE_FIELDS, plus `status`,
        `email_id`, `rules_json_bundle` (a JSON string), `recipients` and `excluded_recipients`
        (lists of RecipientRef). Arming content with unknown tags needs `allow_unknown_tags`.
        """
        campaign = self.get(actor, campaign_id, for_update=True)
        target = changes.get("status")
        touches_setup = any(k in changes for k in (*SCHEDULE_FIELDS, "email_id", "rules_json_bundle",
                                                   "recipients", "excluded_recipients", "variations"))
        if target is not None and target != campaign.status and \
                campaign.status not in USER_SETTABLE.get(target, ()):
            raise InvalidCampaignStatus(f"a {campaign.status} campaign cannot be set to {target}")
        if touches_setup and campaign.status not in EDITABLE:
            raise InvalidCampaignStatus(
                f"a {campaign.status} campaign's content, recipients and schedule cannot be changed")
        if "email_id" in changes:
            campaign.email_id = self._owned_email(actor, changes["email_id"]).id
        if "variations" in changes:   # after RelEmailID: the variations win (their first is the email)
            self.uow.variations.replace(actor, campaign, changes["variations"])
        elif "email_id" in changes:   # one email again (README "A/B split tests": how A/B testing is turned off)
            self.uow.variations.replace(actor, campaign, [])
        for key in SETTING_FIELDS + SCHEDULE_FIELDS:
            if key in changes:
                setattr(campaign, key, changes[key])
        self._apply_audience(actor, campaign, changes)
        if "schedule_type" in changes or target in ("Ready",) or \
                (campaign.status == "Ready" and touches_setup):
            self._check_schedule(campaign)
        status_changes = target is not None and target != campaign.status
        armed = status_changes and campaign.status == "Draft"
        if status_changes:
            self._move_to(actor, campaign, target, allow_unknown_tags)
        if touches_setup or status_changes:
            # The scheduler recomputes it from the new setup; a re-armed campaign must not
            # send for an occurrence that passed while it was not Ready.
            campaign.next_send_at = None
        campaign.last_activity_at = self.uow.clock()
        self.s.flush()
        # An Untrusted owner's approved campaign that would now send something else waits for approval again.
        self.uow.approval.campaign_edited(campaign)
        if armed and campaign.status in ("Ready", "Pending Approval"):
            # Whichever surface armed it (Campaign.Update, Campaign.Publish, the modern Publish).
            campaign_events.published(self.uow, campaign)
        return campaign

    def _owned_email(self, actor: Actor, email_id: int) -> Email:
        email = self.s.get(Email, email_id)
        if email is None or email.owner_user_id != actor.id:
            raise EmailNotFound()
        return email

    def _apply_audience(self, actor: Actor, campaign: Campaign, changes: dict) -> None:
        if changes.get("rules_json_bundle") is not None:
            # The bundle wins over list targeting; the lists given alongside it are ignored.
            # Full criteria validation (fields, operators, list ownership) before it is stored.
            self.uow.audience.validate_bundle(actor.id, changes["rules_json_bundle"])
            campaign.rules_json_bundle = changes["rules_json_bundle"]
            return
        for key, excluded in (("recipients", False), ("excluded_recipients", True)):
            if key not in changes:
                continue
            refs = changes[key]
            self._check_refs(actor, refs)
            kept = [r for r in campaign.recipients if r.excluded != excluded]
            campaign.recipients = kept
            # The old rows go first: the unit of work inserts before it deletes, so naming a
            # list again would otherwise meet its own old row in the UNIQUE key.
            self.s.flush()
            campaign.recipients = kept + [
                CampaignRecipient(list_id=r.list_id, segment_id=r.segment_id, excluded=excluded)
                for r in refs
            ]
            if not excluded:
                # Choosing lists explicitly means the client no longer targets by bundle.
                campaign.rules_json_bundle = ""

    def _check_refs(self, actor: Actor, refs: list[RecipientRef]) -> None:
        self._check_lists_owned(actor, [r.list_id for r in refs])
        for ref in refs:
            if ref.segment_id and self.s.scalar(select(Segment.id).where(
                    Segment.id == ref.segment_id, Segment.list_id == ref.list_id)) is None:
                raise InvalidRecipients(f"segment {ref.segment_id} does not belong to list {ref.list_id}")

    def _check_lists_owned(self, actor: Actor, list_ids) -> None:
        wanted = set(list_ids)
        if not wanted:
            return
        owned = set(self.s.scalars(select(SubscriberList.id).where(
            SubscriberList.id.in_(wanted), SubscriberList.owner_user_id == actor.id)))
        missing = sorted(wanted - owned)
        if missing:
            raise InvalidRecipients(f"list {missing[0]} does not exist or does not belong to the user")

    @staticmethod
    def _check_schedule(c: Campaign) -> None:
        """Codes 6–13 of Campaign.Update, checked on the schedule as it will be stored."""
        if c.schedule_type == "Future":
            if c.send_date is None:
                raise MissingSendDate()
            if not c.send_time:
                raise MissingSendTime()
            if not c.send_timezone:
                raise MissingTimeZone()
        elif c.schedule_type == "Recursive":
            if not (c.schedule_rec_days_of_week or c.schedule_rec_days_of_month):
                raise MissingRecurringDays()
            if not c.schedule_rec_months:
                raise MissingRecurringMonths()
            if not c.schedule_rec_hours:
                raise MissingRecurringHours()
            if not c.schedule_rec_minutes:
                raise MissingRecurringMinutes()
            if c.schedule_rec_send_max_instance is None:
                raise MissingMaxInstances()
            if not c.send_timezone:
                raise MissingTimeZone()

    def _move_to(self, actor: Actor, campaign: Campaign, target: str, allow_unknown_tags: bool = False) -> None:
        if target == "Ready":
            self._check_ready(campaign)
            if not allow_unknown_tags:
                self._check_tags(campaign)
            # Only an ACTIVE email-marketing account with quota left arms campaigns (code 3 on the wire),
            # and only with a From the account may use (SenderNotAllowed).
            self.uow.email_account.require_can_send(campaign.owner_user_id)
            self.uow.sender_policy.require_campaign_from_allowed(campaign.owner_user_id, campaign.email_id)
            self.uow.variations.check_sendable(campaign, allow_unknown_tags)
            if actor.reputation_level == "Untrusted":
                # Held for an administrator; still Success: true (protocol.md §3.1 behaviour).
                target = "Pending Approval"
        if target == "Draft" and campaign.status == "Failed":
            campaign.status_reason = ""
        campaign.status = target

    def _check_ready(self, campaign: Campaign) -> None:
        if campaign.email_id is None:
            raise InvalidCampaignStatus("a campaign needs email content (RelEmailID) before it can be Ready")
        if not campaign.rules_json_bundle and not any(not r.excluded for r in campaign.recipients):
            raise InvalidCampaignStatus("a campaign needs recipients before it can be Ready")
        if campaign.schedule_type == "Not Scheduled":
            raise InvalidCampaignStatus("a campaign needs a schedule type before it can be Ready")

    def _check_tags(self, campaign: Campaign) -> None:
        """Tags nobody can fill in would be sent as empty text: Email.Update only reports them, arming refuses."""
        unknown = self.uow.emails.unknown_tags(self.s.get(Email, campaign.email_id), "Campaign")
        if unknown:
            raise UnknownPersonalizationTags(unknown)

    # --- status commands -------------------------------------------------------------------------
    def approve(self, actor: Actor, campaign_id: int) -> Campaign:
        if not actor.is_admin and actor.reputation_level == "Untrusted":
            raise PermissionDenied("an untrusted account cannot approve its own campaigns")
        campaign = self.get(actor, campaign_id, for_update=True)
        if campaign.status == "Pending Approval":
            campaign.status = "Ready"
            campaign.next_send_at = None
            campaign.last_activity_at = self.uow.clock()
        if actor.is_admin:
            # What it sends, to whom and when, and its landing page, as they stand (engine/campaigns/approval.py).
            self.uow.approval.record(campaign)
        return campaign

    def pause(self, actor: Actor, campaign_id: int) -> Campaign:
        campaign = self.get(actor, campaign_id, for_update=True)
        if campaign.status != "Sending":
            raise InvalidStatusTransition("Campaign is not in a 'Sending' state")
        campaign.status = "Paused"
        campaign.last_activity_at = self.uow.clock()
        return campaign

    def resume(self, actor: Actor, campaign_id: int) -> Campaign:
        campaign = self.get(actor, campaign_id, for_update=True)
        if campaign.status != "Paused":
            raise InvalidStatusTransition("Campaign is not in a 'Paused' state")
        # Paused from Sending: delivery picks up where it stopped. Paused by the tick for its account
        # (quota, status; no open instance): back to Ready, the tick re-arms and re-checks it.
        held = campaign.status_reason in ACCOUNT_HOLD_REASONS and not self._has_open_instance(campaign.id)
        campaign.status = "Ready" if held else "Sending"
        if held:
            campaign.next_send_at = None
        if campaign.status_reason in ACCOUNT_HOLD_REASONS:
            # Sending again (or re-armed): workers and the tick check the account again themselves.
            campaign.status_reason = ""
        campaign.last_activity_at = self.uow.clock()
        return campaign

    def _has_open_instance(self, campaign_id: int) -> bool:
        return self.s.scalar(select(SendInstance.id).where(SendInstance.campaign_id == campaign_id,
                                                           SendInstance.state.in_(OPEN_INSTANCE_STATES))
                             .limit(1)) is not None

    def cancel(self, actor: Actor, campaign_id: int) -> Campaign:
        campaign = self.get(actor, campaign_id, for_update=True)
        if campaign.status in ("Ready", "Sending", "Paused", "Pending Approval"):
            if campaign.total_sent == 0 and campaign.schedule_rec_sent_instances == 0:
                campaign.status = "Draft"
                campaign.status_reason = ""
                campaign.schedule_type = "Not Scheduled"
            else:
                campaign.status = "Sent"
                campaign.status_reason = "Canceled"
                campaign.send_process_finished_on = campaign.send_process_finished_on or self.uow.clock()
                campaign_events.terminated(self.uow, campaign)
            campaign.next_send_at = None
            campaign.last_activity_at = self.uow.clock()
        return campaign

    def delete(self, actor: Actor, campaign_ids: list[int]) -> int:
        owned = require_owned_ids(self.s, Campaign, campaign_ids, actor,
                                  lambda why: InvalidValue("Campaigns", why), "campaign")
        # Children first: not every backend cascades inside one statement the same way. The ledgers have
        # no foreign key to cascade along (engine/campaigns/ledgers.py).
        self.uow.ledgers.delete_for_campaigns(owned)
        self.s.execute(delete(CampaignTag).where(CampaignTag.campaign_id.in_(owned)))
        self.s.execute(delete(CampaignRecipient).where(CampaignRecipient.campaign_id.in_(owned)))
        self.s.execute(delete(Campaign).where(Campaign.id.in_(owned)))
        for campaign_id in sorted(owned):
            campaign_events.deleted(self.uow, actor.id, campaign_id)
        return len(owned)
