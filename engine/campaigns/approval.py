"""Approval of an Untrusted account's campaigns: what an administrator approved, and holding back the rest.

An administrator's `Campaign.Approve` records two fingerprints of the campaign as it stands (README
"Campaign approval"):

* content: the email it sends, i.e. RelEmailID and every field of that email that shapes the message;
* setup: to whom and when, i.e. the recipient lists and segments, the rules of every segment they use
  (nested ones included), the RulesJsonBundle and the schedule.

An Untrusted owner's campaign is started only while both still match: the tick checks right before it
writes an instance's ledger (`awaits_approval`). Its public pages (landing page, web view) are served
only while the content matches (`content_approved`). An owner's edit that changes a fingerprint puts
an approved Ready campaign (or one Paused by the tick for its account) back to Pending Approval at
once, so the status says so too. A campaign that is sending right now has its recipients fixed in
the ledger but renders its email as it stands, so an edit of that email is refused until the send
finishes (`email_edited`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from engine.audience.catalog import op_key
from engine.campaigns.service import SCHEDULE_FIELDS
from engine.campaigns.emails import EDITABLE_COLUMNS
from engine.errors import EmailBeingSent
from engine.models import Campaign, CampaignRecipient, CampaignVariation, Email, Segment, SendInstance, User
from engine.models.sending import OPEN_INSTANCE_STATES

UNTRUSTED = "Untrusted"
PENDING = "Pending Approval"
# Email fields that do not change the message: its name, the template-library flag, the builders' state.
UNSENT_EMAIL_FIELDS = ("email_name", "is_email_template", "extra_content1", "extra_content2")
SENT_EMAIL_FIELDS = tuple(c for c in EDITABLE_COLUMNS if c not in UNSENT_EMAIL_FIELDS)
# Statuses in which an approved campaign waits for its next send (Paused: only when held for its account).
WAITING = ("Ready", "Paused")
# Segments may use segments (engine/audience/rules.py limits the depth); a bound keeps the walk finite.
MAX_SEGMENTS = 500


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _document(text: str | None) -> Any:
    if not (text or "").strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def segment_refs(document: Any) -> list[int]:
    """The segment ids named by `segments` rules anywhere in a RulesJson document."""
    found, stack = [], [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            rule = {str(k).lower(): v for k, v in item.items()}
            value = str(rule.get("value")).strip()
            if op_key(rule.get("type")) == "segments" and value.isascii() and value.isdecimal():
                found.append(int(value))
            stack.extend(v for v in item.values() if isinstance(v, (list, dict)))
    return found


class ApprovalService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- fingerprints --------------------------------------------------------------------------------
    @staticmethod
    def email_fingerprint(email: Email | None) -> str:
        if email is None:
            return _digest(None)
        return _digest([email.id, {name: getattr(email, name) for name in SENT_EMAIL_FIELDS}])

    def content_fingerprint(self, campaign: Campaign) -> str:
        """What the campaign mails: its email, or every A/B variation's email and weight (an approval covers
        all of them: editing the second variation must not slip past it)."""
        variations = self.s.execute(select(CampaignVariation.email_id, CampaignVariation.weight)
                                    .where(CampaignVariation.campaign_id == campaign.id)
                                    .order_by(CampaignVariation.position)).all()
        if not variations:   # the fingerprint approvals recorded before A/B tests existed
            return self.email_fingerprint(self.s.get(Email, campaign.email_id) if campaign.email_id else None)
        return _digest([[self.email_fingerprint(self.s.get(Email, email_id)), weight]
                        for email_id, weight in variations])

    def setup_fingerprint(self, campaign: Campaign) -> str:
        # Read from the table, not the relationship: list and segment deletion remove rows in bulk.
        rows = sorted([r.list_id, r.segment_id, bool(r.excluded)] for r in self.s.execute(
            select(CampaignRecipient.list_id, CampaignRecipient.segment_id, CampaignRecipient.excluded)
            .where(CampaignRecipient.campaign_id == campaign.id)))
        schedule = {name: getattr(campaign, name) for name in SCHEDULE_FIELDS}
        return _digest([rows, campaign.rules_json_bundle or "", self._segments(campaign, rows), schedule])

    def _segments(self, campaign: Campaign, rows: list) -> list:
        """[id, list, operator, rules] of every segment the targeting uses, and of the segments those use."""
        wanted = [segment_id for _list, segment_id, _excluded in rows if segment_id]
        wanted += segment_refs(_document(campaign.rules_json_bundle))
        seen: dict[int, list] = {}
        while wanted and len(seen) < MAX_SEGMENTS:
            segment_id = wanted.pop()
            if segment_id in seen:
                continue
            segment = self.s.scalar(select(Segment).where(Segment.id == segment_id,
                                                          Segment.owner_user_id == campaign.owner_user_id))
            if segment is None:
                seen[segment_id] = [segment_id]
                continue
            seen[segment_id] = [segment_id, segment.list_id, segment.rules_operator, segment.rules_json]
            wanted += segment_refs(_document(segment.rules_json))
        return [seen[k] for k in sorted(seen)]

    # --- reading ---------------------------------------------------------------------------------------
    def queue(self, limit: int = 200) -> list[tuple[Campaign, str]]:
        """Campaigns waiting for an administrator's approval, oldest first, with their owner's username."""
        return [(c, owner) for c, owner in self.s.execute(
            select(Campaign, User.username).join(User, User.id == Campaign.owner_user_id)
            .where(Campaign.status == PENDING).order_by(Campaign.last_activity_at, Campaign.id).limit(limit))]

    def _untrusted(self, owner_id: int) -> bool:
        return self.s.scalar(select(User.reputation_level).where(User.id == owner_id)) == UNTRUSTED

    def awaits_approval(self, campaign: Campaign) -> bool:
        """True when the owner is Untrusted and the campaign would not send what an administrator approved."""
        return self._untrusted(campaign.owner_user_id) and not self._matches(campaign)

    def content_approved(self, campaign: Campaign) -> bool:
        """May the campaign's content be served on our public pages (landing page, web view)?"""
        return not self._untrusted(campaign.owner_user_id) or \
            campaign.approved_content == self.content_fingerprint(campaign)

    def _matches(self, campaign: Campaign) -> bool:
        return campaign.approved_content == self.content_fingerprint(campaign) and \
            campaign.approved_setup == self.setup_fingerprint(campaign)

    def _sending(self, campaign: Campaign) -> bool:
        """Sending, or Paused in the middle of a send (an open instance): the ledger is written."""
        if campaign.status == "Sending":
            return True
        return campaign.status == "Paused" and self.s.scalar(
            select(SendInstance.id).where(SendInstance.campaign_id == campaign.id,
                                          SendInstance.state.in_(OPEN_INSTANCE_STATES)).limit(1)) is not None

    # --- writing -----------------------------------------------------------------------------------------
    def record(self, campaign: Campaign) -> None:
        """The campaign as it stands is approved: what it sends, to whom and when, and its public pages."""
        campaign.approved_content = self.content_fingerprint(campaign)
        campaign.approved_setup = self.setup_fingerprint(campaign)

    def campaign_edited(self, campaign: Campaign) -> None:
        """After Campaign.Update: an edit that changes what an approved campaign sends puts it back to
        Pending Approval."""
        self._hold_if_changed(campaign)

    def email_snapshot(self, email: Email) -> str | None:
        """What `email_edited` compares with: its fingerprint before an edit (None: the owner is Trusted)."""
        return self.email_fingerprint(email) if self._untrusted(email.owner_user_id) else None

    def email_edited(self, email: Email, before: str | None) -> None:
        """After an email changed (`before`: its email_snapshot from before the change)."""
        if before is None or self.email_fingerprint(email) == before:
            return
        as_variation = select(CampaignVariation.campaign_id).where(CampaignVariation.email_id == email.id)
        users = list(self.s.scalars(select(Campaign).where(or_(Campaign.email_id == email.id,
                                                               Campaign.id.in_(as_variation)))
                                    .order_by(Campaign.id).with_for_update()
                                    .execution_options(populate_existing=True)))
        sending = next((c for c in users if self._sending(c)), None)
        if sending is not None:
            raise EmailBeingSent(f"campaign {sending.id} ({sending.status}) is sending this email; change it "
                                 "after the send finished, or cancel the campaign first")
        for campaign in users:
            self._hold_if_changed(campaign)

    def targeting_edited(self, owner_id: int) -> None:
        """After a segment or list of the owner changed or went: every approved campaign of an Untrusted
        owner that would now mail other people goes back to Pending Approval."""
        if not self._untrusted(owner_id):
            return
        waiting = list(self.s.scalars(select(Campaign).where(Campaign.owner_user_id == owner_id,
                                                             Campaign.status.in_(WAITING))
                                      .order_by(Campaign.id).with_for_update()
                                      .execution_options(populate_existing=True)))
        for campaign in waiting:
            self._hold_if_changed(campaign)

    def _hold_if_changed(self, campaign: Campaign) -> bool:
        if campaign.status not in WAITING or self._sending(campaign) or not self._untrusted(campaign.owner_user_id):
            return False
        if self._matches(campaign):
            return False
        campaign.status, campaign.status_reason, campaign.next_send_at = PENDING, "", None
        campaign.last_activity_at = self.uow.clock()
        self.s.flush()
        return True

    def hold_due(self, campaign_id: int, now: datetime, expected_next_send_at: datetime) -> bool:
        """The tick found a due campaign changed since its approval: Pending Approval instead of a send."""
        result = self.s.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "Ready",
                                   Campaign.next_send_at == expected_next_send_at)
            .values(status=PENDING, status_reason="", next_send_at=None, last_activity_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1
